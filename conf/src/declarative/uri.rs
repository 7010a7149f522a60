//! Route-path normalization as Kong's `kong.tools.uri.normalize(path, true)`, and the migration
//! of `_format_version` 1.1 / 2.1 route paths to the 3.0 form (regexes get a `~` prefix).

/// Decodes percent-encoded unreserved characters, upper-cases the other escapes, removes dot
/// segments and merges repeated slashes.
pub(crate) fn normalize(path: &str) -> String {
    remove_dot_segments(&decode_unreserved(path))
}

/// Errors on a `%` not followed by two hex digits, quoting it as Kong does.
pub(crate) fn check_percent_encoding(path: &str) -> Result<(), String> {
    let bytes = path.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%' && !(hex(bytes.get(i + 1)).is_some() && hex(bytes.get(i + 2)).is_some()) {
            let end = (i + 3).min(path.len());
            let quoted = path.get(i..end).unwrap_or("%");
            return Err(format!("invalid url-encoded value: '{quoted}'"));
        }
    }
    Ok(())
}

/// Rewrites a pre-3.0 route path: plain paths are normalized, anything else is a regex and gets
/// `~` (with escapes of regex metacharacters decoded to escaped literals).
pub(crate) fn migrate_legacy_path(path: &str) -> String {
    let plain = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~' | b'/' | b'%'));
    if plain {
        normalize(path)
    } else {
        format!("~{}", decode_regex(path))
    }
}

fn hex(b: Option<&u8>) -> Option<u8> {
    (*b? as char).to_digit(16).map(|d| d as u8)
}

/// Walks `%XX` escapes, letting `decode` choose each one's replacement bytes.
fn map_escapes(path: &str, decode: impl Fn(u8, &[u8]) -> Vec<u8>) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let (Some(h), Some(l)) = (hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
                out.extend(decode(h * 16 + l, &bytes[i..i + 3]));
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn decode_unreserved(path: &str) -> String {
    map_escapes(path, |byte, escape| {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            vec![byte]
        } else {
            escape.to_ascii_uppercase()
        }
    })
}

/// Kong's `normalize_regex` (migrate_path_280_300): reserved characters stay escaped (upper
/// case), regex metacharacters become `\c`, everything else is decoded.
fn decode_regex(path: &str) -> String {
    map_escapes(path, |byte, escape| {
        if b"!#$%&'()*+,/:;=?@[]".contains(&byte) {
            escape.to_ascii_uppercase()
        } else if b".^-{}\\|".contains(&byte) {
            vec![b'\\', byte]
        } else {
            vec![byte]
        }
    })
}

/// RFC 3986 dot-segment removal, also dropping empty segments (merged slashes).
fn remove_dot_segments(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let mut out: Vec<&str> = Vec::new();
    let mut trailing_slash = false;
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *segment {
            "." | "" => trailing_slash = last,
            ".." => {
                out.pop();
                trailing_slash = last;
            }
            s => {
                out.push(s);
                trailing_slash = false;
            }
        }
    }
    let mut normalized = format!("/{}", out.join("/"));
    if trailing_slash && !out.is_empty() {
        normalized.push('/');
    }
    normalized
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_kong() {
        assert_eq!(normalize("/"), "/");
        assert_eq!(normalize("/a/b/"), "/a/b/");
        assert_eq!(normalize("/a/./b"), "/a/b");
        assert_eq!(normalize("/a/../b"), "/b");
        assert_eq!(normalize("/a/.."), "/");
        assert_eq!(normalize("/a/b/.."), "/a/");
        assert_eq!(normalize("/../a"), "/a");
        assert_eq!(normalize("/a//b"), "/a/b");
        assert_eq!(normalize("/%7euser/%41"), "/~user/A");
        assert_eq!(normalize("/a%2fb%20c"), "/a%2Fb%20c");
        assert_eq!(normalize("/%2E%2E/x"), "/x");
    }

    #[test]
    fn percent_encoding_checks() {
        assert_eq!(check_percent_encoding("/a%20b"), Ok(()));
        assert_eq!(
            check_percent_encoding("/a%2"),
            Err("invalid url-encoded value: '%2'".into())
        );
        assert_eq!(
            check_percent_encoding("/a%g1/x"),
            Err("invalid url-encoded value: '%g1'".into())
        );
        assert_eq!(
            check_percent_encoding("/a%"),
            Err("invalid url-encoded value: '%'".into())
        );
    }

    #[test]
    fn legacy_paths_migrate_to_3_0_form() {
        assert_eq!(migrate_legacy_path("/api/v1"), "/api/v1");
        assert_eq!(migrate_legacy_path("/api/./v1"), "/api/v1");
        assert_eq!(migrate_legacy_path("/users/\\d+"), "~/users/\\d+");
        assert_eq!(migrate_legacy_path("/v(1|2)/x"), "~/v(1|2)/x");
        assert_eq!(migrate_legacy_path("/a%2E(b)"), "~/a\\.(b)");
        assert_eq!(migrate_legacy_path("/a%2f(b)%41"), "~/a%2F(b)A");
    }
}
