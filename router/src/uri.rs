//! Kong's request-path normalisation and escaping (`kong.tools.uri`).
//!
//! The router matches on the normalised path, so that `/a/../b`, `/%62` and `//b` cannot slip
//! past a route for `/b`; the path sent upstream is built from the same normalised path and then
//! escaped, as Kong's runloop does.

use std::borrow::Cow;

/// RFC 3986 reserved characters plus `%`: normalisation leaves their percent-encoding in place
/// (upper-cased), because decoding them would change what the path means.
fn is_reserved(byte: u8) -> bool {
    matches!(
        byte,
        b'!' | b'*'
            | b'\''
            | b'('
            | b')'
            | b';'
            | b':'
            | b'@'
            | b'&'
            | b'='
            | b'+'
            | b'$'
            | b','
            | b'/'
            | b'?'
            | b'%'
            | b'#'
            | b'['
            | b']'
    )
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Normalises a request path as Kong's `normalize(uri, merge_slashes)`: decodes every
/// percent-encoded triplet except those of reserved characters (which are upper-cased instead),
/// removes dot segments (decoding comes first, so `/%2e./` counts as `/../`) and, when asked,
/// merges `//` into `/`.
///
/// Returns `None` when decoding produced bytes that are not UTF-8: Kong's router rejects such a
/// path, and the request matches no route.
pub fn normalize(uri: &str, merge_slashes: bool) -> Option<Cow<'_, str>> {
    if uri.is_empty() || uri == "/" {
        return Some(Cow::Borrowed(uri));
    }
    let decoded = uri.contains('%').then(|| percent_decode(uri.as_bytes()));
    let bytes = decoded.as_deref().unwrap_or(uri.as_bytes());
    // Without these, no rule of `remove_dot_segments` can fire and it would return its input.
    let rewrite = bytes.starts_with(b".")
        || contains(bytes, b"/.")
        || (merge_slashes && contains(bytes, b"//"));
    let rewritten = rewrite.then(|| remove_dot_segments(bytes, merge_slashes));
    match rewritten.or(decoded) {
        None => Some(Cow::Borrowed(uri)),
        Some(bytes) => String::from_utf8(bytes).ok().map(Cow::Owned),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let triplet = (input[i] == b'%')
            .then(|| {
                Some((
                    hex_value(*input.get(i + 1)?)?,
                    hex_value(*input.get(i + 2)?)?,
                ))
            })
            .flatten();
        match triplet {
            Some((high, low)) if is_reserved(high << 4 | low) => {
                out.push(b'%');
                out.push(input[i + 1].to_ascii_uppercase());
                out.push(input[i + 2].to_ascii_uppercase());
                i += 3;
            }
            Some((high, low)) => {
                out.push(high << 4 | low);
                i += 3;
            }
            None => {
                out.push(input[i]);
                i += 1;
            }
        }
    }
    out
}

/// RFC 3986 §5.2.4 the way Kong writes it: segments keep their leading `/`, `..` drops the last
/// kept segment, and (optionally) an empty segment is dropped.
fn remove_dot_segments(input: &[u8], merge_slashes: bool) -> Vec<u8> {
    let mut kept: Vec<&[u8]> = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        if rest == b"/." {
            rest = b"/";
        } else if rest == b"/.." {
            rest = b"/";
            kept.pop();
        } else if rest == b"." || rest == b".." {
            rest = b"";
        } else if rest.starts_with(b"../") {
            rest = &rest[3..];
        } else if rest.starts_with(b"./") || rest.starts_with(b"/./") {
            rest = &rest[2..];
        } else if rest.starts_with(b"/../") {
            rest = &rest[3..];
            kept.pop();
        } else if merge_slashes && rest.starts_with(b"//") {
            rest = &rest[1..];
        } else {
            let end = rest[1..]
                .iter()
                .position(|&b| b == b'/')
                .map_or(rest.len(), |i| i + 1);
            kept.push(&rest[..end]);
            rest = &rest[end..];
        }
    }
    kept.concat()
}

const HEX_DIGITS: &[u8; 16] = b"0123456789ABCDEF";

/// Characters `escape` leaves alone: reserved ones, unreserved ones and `%`.
fn is_safe(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$&'()*+,/:;=?@[]-_.~%".contains(&byte)
}

/// Percent-encodes every byte outside Kong's safe set (`kong.tools.uri.escape`), so a path that
/// normalisation decoded (spaces, non-ASCII) can be sent upstream; existing `%XX` stay as they are.
pub fn escape(uri: &str) -> Cow<'_, str> {
    if uri.bytes().all(is_safe) {
        return Cow::Borrowed(uri);
    }
    let mut out = String::with_capacity(uri.len() + 8);
    for byte in uri.bytes() {
        if is_safe(byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
            out.push(char::from(HEX_DIGITS[usize::from(byte & 0xf)]));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(uri: &str) -> String {
        normalize(uri, true).expect("utf-8").into_owned()
    }

    #[test]
    fn decodes_unreserved_and_upper_cases_reserved() {
        assert_eq!(norm("/fo%6F"), "/foo");
        assert_eq!(norm("/foo%3a"), "/foo%3A");
        assert_eq!(norm("/a%2fb"), "/a%2Fb");
        assert_eq!(norm("/%7Euser"), "/~user");
        assert_eq!(norm("/john%20doe"), "/john doe");
        assert_eq!(norm("/%C3%B6"), "/ö");
        assert_eq!(norm("/bad%zz%4"), "/bad%zz%4");
    }

    #[test]
    fn removes_dot_segments() {
        assert_eq!(norm("/foo/./bar/../baz"), "/foo/baz");
        assert_eq!(norm("/a/b/.."), "/a/");
        assert_eq!(norm("/a/."), "/a/");
        assert_eq!(norm("/.."), "/");
        assert_eq!(norm("/../../a"), "/a");
        assert_eq!(norm("/a/%2e%2E/b"), "/b");
        assert_eq!(norm("/a/%2e./b"), "/b");
        assert_eq!(norm("/a.b/c.json"), "/a.b/c.json");
        assert_eq!(norm("/a/.hidden"), "/a/.hidden");
    }

    #[test]
    fn merges_slashes_only_when_asked() {
        assert_eq!(norm("//a///b/"), "/a/b/");
        assert_eq!(normalize("//a//b", false).unwrap(), "//a//b");
        assert_eq!(normalize("/a/../b", false).unwrap(), "/b");
    }

    #[test]
    fn borrows_when_nothing_changes() {
        assert!(matches!(
            normalize("/plain/path", true),
            Some(Cow::Borrowed(_))
        ));
        assert!(matches!(
            normalize("/file.json", true),
            Some(Cow::Borrowed(_))
        ));
    }

    #[test]
    fn rejects_decoded_bytes_that_are_not_utf8() {
        assert_eq!(normalize("/%FF", true), None);
    }

    #[test]
    fn escape_encodes_unsafe_bytes_only() {
        assert_eq!(escape("/a b"), "/a%20b");
        assert_eq!(escape("/ö"), "/%C3%B6");
        assert_eq!(escape(r"/\d"), "/%5Cd");
        assert_eq!(escape("/a%2Fb?x=[1]&y=~"), "/a%2Fb?x=[1]&y=~");
        assert!(matches!(escape("/plain"), Cow::Borrowed(_)));
    }
}
