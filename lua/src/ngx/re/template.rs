//! `ngx.re.sub`/`gsub` replacement templates: `$0`..`$9`, `${N}`, `${name}`, `$$`.

/// One piece of a compiled template.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Piece {
    Literal(Vec<u8>),
    Group(usize),
}

/// Compiles a template, resolving `${name}` with `group_of`. `None` when it is malformed
/// (a lone `$`, `$` before anything but a digit, `{` or `$`, an unclosed or unknown `${...}`).
pub(super) fn compile(
    template: &[u8],
    group_of: impl Fn(&[u8]) -> Option<usize>,
) -> Option<Vec<Piece>> {
    let mut pieces = Vec::new();
    let mut literal = Vec::new();
    let mut i = 0;
    while i < template.len() {
        let c = template[i];
        i += 1;
        if c != b'$' {
            literal.push(c);
            continue;
        }
        let group = match *template.get(i)? {
            b'$' => {
                literal.push(b'$');
                i += 1;
                continue;
            }
            d @ b'0'..=b'9' => {
                i += 1;
                usize::from(d - b'0')
            }
            b'{' => {
                let len = template[i + 1..].iter().position(|&c| c == b'}')?;
                let name = &template[i + 1..i + 1 + len];
                i += len + 2;
                if name.is_empty() {
                    return None;
                }
                if name.iter().all(u8::is_ascii_digit) {
                    std::str::from_utf8(name).ok()?.parse().ok()?
                } else {
                    group_of(name)?
                }
            }
            _ => return None,
        };
        if !literal.is_empty() {
            pieces.push(Piece::Literal(std::mem::take(&mut literal)));
        }
        pieces.push(Piece::Group(group));
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    Some(pieces)
}

/// Appends the expansion of `pieces` for one match (`spans[i]` is group `i`'s range, if set).
pub(super) fn expand(
    out: &mut Vec<u8>,
    pieces: &[Piece],
    subject: &[u8],
    spans: &[Option<(usize, usize)>],
) {
    for piece in pieces {
        match piece {
            Piece::Literal(text) => out.extend_from_slice(text),
            Piece::Group(n) => {
                if let Some(Some((s, e))) = spans.get(*n) {
                    out.extend_from_slice(&subject[*s..*e]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{compile, expand, Piece};

    fn named(name: &[u8]) -> Option<usize> {
        (name == b"word").then_some(1)
    }

    #[test]
    fn parses_groups_and_escapes() {
        assert_eq!(
            compile(b"[$0][$1]$$x${12}${word}$10", named).unwrap(),
            vec![
                Piece::Literal(b"[".to_vec()),
                Piece::Group(0),
                Piece::Literal(b"][".to_vec()),
                Piece::Group(1),
                Piece::Literal(b"]$x".to_vec()),
                Piece::Group(12),
                Piece::Group(1),
                Piece::Group(1),
                Piece::Literal(b"0".to_vec()),
            ]
        );
        for bad in [&b"$"[..], b"a$", b"$a", b"${1", b"${}", b"${nope}"] {
            assert!(
                compile(bad, named).is_none(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn expands_unset_and_missing_groups_as_empty() {
        let pieces = compile(b"<$1|$2|$7>", named).unwrap();
        let mut out = Vec::new();
        expand(
            &mut out,
            &pieces,
            b"abc",
            &[Some((0, 3)), Some((1, 2)), None],
        );
        assert_eq!(out, b"<b||>");
    }
}
