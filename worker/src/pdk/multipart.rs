//! `multipart/form-data` bodies for `kong.request.get_body`, read as Kong's `lua-multipart`
//! `get_all()` does: each part's `name` (from `Content-Disposition`) and its raw value, files
//! included; with several parts of one name the last wins.

/// The boundary parameter of a `Content-Type`, unquoted.
fn boundary(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"'))
            .filter(|b| !b.is_empty())
    })
}

/// The `(name, value)` parts of `body`, in order; nothing when the boundary is missing.
pub fn parts<'a>(content_type: &str, body: &'a [u8]) -> Vec<(String, &'a [u8])> {
    let Some(boundary) = boundary(content_type) else {
        return Vec::new();
    };
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut sections = split(body, delimiter.as_bytes()).into_iter().skip(1);
    for section in sections.by_ref() {
        if section.starts_with(b"--") {
            break; // the closing delimiter
        }
        let section = section.strip_prefix(b"\r\n").unwrap_or(section);
        let section = section.strip_suffix(b"\r\n").unwrap_or(section);
        let Some(head_end) = find(section, b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&section[..head_end]);
        if let Some(name) = head.lines().find_map(disposition_name) {
            parts.push((name, &section[head_end + 4..]));
        }
    }
    parts
}

/// `name` of a `Content-Disposition: form-data; name="x"` header line.
fn disposition_name(line: &str) -> Option<String> {
    let (header, value) = line.split_once(':')?;
    if !header.trim().eq_ignore_ascii_case("content-disposition") {
        return None;
    }
    value.split(';').skip(1).find_map(|param| {
        let (key, v) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("name")
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split<'a>(mut body: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    while let Some(at) = find(body, delimiter) {
        out.push(&body[..at]);
        body = &body[at + delimiter.len()..];
    }
    out.push(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = b"preamble\r\n--XyZ\r\n\
        Content-Disposition: form-data; name=\"title\"\r\n\r\n\
        hello\r\n--XyZ\r\n\
        Content-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\
        Content-Type: text/plain\r\n\r\n\
        line1\r\nline2\r\n--XyZ\r\n\
        Content-Disposition: form-data; name=\"title\"\r\n\r\n\
        again\r\n--XyZ--\r\nepilogue";

    #[test]
    fn parts_in_order_with_files_and_binary_values() {
        let parts = parts("multipart/form-data; boundary=XyZ", BODY);
        let got: Vec<(&str, &[u8])> = parts.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        assert_eq!(
            got,
            [
                ("title", &b"hello"[..]),
                ("file", &b"line1\r\nline2"[..]),
                ("title", &b"again"[..]),
            ]
        );
    }

    #[test]
    fn boundary_forms_and_absence() {
        assert_eq!(
            boundary("multipart/form-data; charset=utf-8; BOUNDARY=\"a b\""),
            Some("a b")
        );
        assert_eq!(boundary("multipart/form-data"), None);
        assert!(parts("multipart/form-data", BODY).is_empty());
        assert!(parts("multipart/form-data; boundary=other", BODY).is_empty());
    }
}
