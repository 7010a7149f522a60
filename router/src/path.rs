//! Route paths: plain prefixes and `~` regexes, matched against the normalised request path.

use crate::route_match::UriCaptures;
use crate::uri::normalize;
use regex::Regex;

/// Kong's `is_regex_magic`: a path starting with `~` is a regex.
pub(crate) fn is_regex(path: &str) -> bool {
    path.starts_with('~')
}

/// What a path matched: the length of the matched start of the request path (the prefix, or the
/// text the regex matched) and the regex captures, if any group took part.
#[derive(Debug)]
pub(crate) struct PathHit {
    pub(crate) len: usize,
    pub(crate) captures: Option<UriCaptures>,
}

#[derive(Debug, Clone)]
pub(crate) enum PathMatcher {
    Prefix(String),
    Regex(Regex),
}

impl PathMatcher {
    /// Validates like Kong's `typedefs.router_path` and compiles like its `get_expression`: the
    /// `~` is dropped, the regex is anchored at the start only, and every `?<` becomes `?P<`.
    pub(crate) fn compile(path: &str) -> Result<Self, String> {
        if !(path.starts_with('/') || path.starts_with("~/")) {
            return Err(format!(
                "should start with: / (fixed path) or ~/ (regex path): '{path}'"
            ));
        }
        if path.contains("//") {
            return Err(format!("must not have empty segments: '{path}'"));
        }
        check_percent_encoding(path)?;
        if !is_regex(path) {
            return match normalize(path, true) {
                Some(normalized) if normalized == path => Ok(PathMatcher::Prefix(path.to_string())),
                Some(normalized) => Err(format!(
                    "non-normalized path, consider use '{normalized}' instead"
                )),
                None => Err(format!(
                    "non-normalized path: '{path}' decodes to bytes that are not UTF-8"
                )),
            };
        }
        let pattern = &path[1..];
        let anchored = format!("^{}", pattern.replace("?<", "?P<"));
        Regex::new(&anchored)
            .map(PathMatcher::Regex)
            .map_err(|err| format!("invalid regex: '{pattern}' ({})", regex_error_summary(&err)))
    }

    pub(crate) fn matches(&self, path: &str) -> Option<PathHit> {
        match self {
            PathMatcher::Prefix(prefix) => path.starts_with(prefix.as_str()).then_some(PathHit {
                len: prefix.len(),
                captures: None,
            }),
            PathMatcher::Regex(regex) if regex.captures_len() > 1 => {
                let found = regex.captures(path)?;
                let len = found.get(0).map_or(0, |whole| whole.end());
                Some(PathHit {
                    len,
                    captures: UriCaptures::from_regex(regex, &found),
                })
            }
            PathMatcher::Regex(regex) => regex.find(path).map(|whole| PathHit {
                len: whole.end(),
                captures: None,
            }),
        }
    }
}

/// Kong rejects a `%` that does not start a `%XX` triplet, in prefix and regex paths alike.
fn check_percent_encoding(path: &str) -> Result<(), String> {
    let bytes = path.as_bytes();
    let mut i = 0;
    while let Some(offset) = bytes[i..].iter().position(|&b| b == b'%') {
        let at = i + offset;
        let triplet = bytes
            .get(at + 1..at + 3)
            .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit));
        if triplet.is_none() {
            let shown: String = path[at..].chars().take(3).collect();
            return Err(format!("invalid url-encoded value: '{shown}'"));
        }
        i = at + 3;
    }
    Ok(())
}

/// The regex crate's syntax errors span several lines with a caret diagram; keep the last line,
/// which says what is wrong, so the error fits a log line.
fn regex_error_summary(err: &regex::Error) -> String {
    let text = err.to_string();
    text.lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or(&text)
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_is_a_plain_string_prefix() {
        let api = PathMatcher::compile("/api").unwrap();
        assert_eq!(api.matches("/apis").map(|hit| hit.len), Some(4));
        assert!(api.matches("/ap").is_none());
        assert!(api.matches("/x/api").is_none());
    }

    #[test]
    fn regex_is_anchored_at_the_start_only() {
        let regex = PathMatcher::compile(r"~/prefix/[0-9]+").unwrap();
        assert_eq!(
            regex.matches("/prefix/123/more").map(|hit| hit.len),
            Some(11)
        );
        assert!(regex.matches("/extra/prefix/123").is_none());
    }

    #[test]
    fn named_groups_in_either_syntax() {
        for path in [r"~/users/(?<id>\d+)", r"~/users/(?P<id>\d+)"] {
            let hit = PathMatcher::compile(path)
                .unwrap()
                .matches("/users/42")
                .unwrap();
            let captures = hit.captures.unwrap();
            assert_eq!(captures.named, vec![("id".to_string(), "42".to_string())]);
        }
    }

    #[test]
    fn validation_messages() {
        let err = |path: &str| PathMatcher::compile(path).unwrap_err();
        assert!(err("api").contains("should start with"));
        assert!(err("~api").contains("should start with"));
        assert!(err("/a//b").contains("empty segments"));
        assert_eq!(err("/a%zz"), "invalid url-encoded value: '%zz'");
        assert_eq!(err("~/a%d"), "invalid url-encoded value: '%d'");
        assert_eq!(
            err("/a/../b"),
            "non-normalized path, consider use '/b' instead"
        );
        assert_eq!(
            err("/fo%6F"),
            "non-normalized path, consider use '/foo' instead"
        );
        assert!(err(r"~/(unclosed").starts_with("invalid regex: '/(unclosed' ("));
        assert!(PathMatcher::compile("/a%2Fb").is_ok());
    }
}
