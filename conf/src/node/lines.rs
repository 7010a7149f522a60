//! The `kong.conf` line format: `key = value`, `#` starts a comment (`\#` is a literal `#`),
//! blank lines are ignored. The shipped default file documents each property as a commented-out
//! `#key = value` line; those lines are the built-in defaults.

use crate::error::{ConfError, Errors};

/// One `key = value` setting and the line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// Parses a config file; malformed lines are reported and skipped.
pub(crate) fn parse(text: &str, source: &str, errors: &mut Errors) -> Vec<Line> {
    let mut lines = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let content = strip_comment(raw);
        if content.trim().is_empty() {
            continue;
        }
        match split(&content, index + 1) {
            Ok(line) => lines.push(line),
            Err(message) => errors.push(ConfError {
                source: source.to_string(),
                line: Some(index + 1),
                at: String::new(),
                message,
            }),
        }
    }
    lines
}

/// The `#key = value` lines of a documented default file (prose comments start with `# `).
pub(crate) fn commented_settings(text: &str) -> Vec<Line> {
    text.lines()
        .enumerate()
        .filter_map(|(index, raw)| {
            let rest = raw.strip_prefix('#')?;
            if !rest.starts_with(|c: char| c.is_ascii_lowercase()) || !rest.contains('=') {
                return None;
            }
            split(&strip_comment(rest), index + 1).ok()
        })
        .collect()
}

/// Drops everything from the first unescaped `#`, turning `\#` into `#`.
fn strip_comment(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'#') => {
                out.push('#');
                chars.next();
            }
            '#' => break,
            c => out.push(c),
        }
    }
    out
}

fn split(content: &str, line: usize) -> Result<Line, String> {
    let (key, value) = content
        .split_once('=')
        .ok_or_else(|| format!("expected 'key = value', got '{}'", content.trim()))?;
    let key = key.trim();
    if key.is_empty()
        || !key.starts_with(|c: char| c.is_ascii_lowercase())
        || !key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(format!(
            "invalid property name '{key}' (lower-case letters, digits and '_' only)"
        ));
    }
    Ok(Line {
        key: key.to_string(),
        value: value.trim().to_string(),
        line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(key: &str, value: &str, line: usize) -> Line {
        Line {
            key: key.into(),
            value: value.into(),
            line,
        }
    }

    #[test]
    fn parses_keys_values_comments_and_blank_lines() {
        let text = "# a comment\n\nlog_level = debug   # trailing\n  prefix=/tmp/x \nplugins = a, b\nempty =\n";
        let mut errors = Errors::default();
        let lines = parse(text, "f.conf", &mut errors);
        assert!(errors.is_empty(), "{errors}");
        assert_eq!(
            lines,
            vec![
                line("log_level", "debug", 3),
                line("prefix", "/tmp/x", 4),
                line("plugins", "a, b", 5),
                line("empty", "", 6),
            ]
        );
    }

    #[test]
    fn escaped_hash_is_literal() {
        let mut errors = Errors::default();
        let lines = parse("real_ip_header = X-\\#-Ip # comment", "f", &mut errors);
        assert_eq!(lines, vec![line("real_ip_header", "X-#-Ip", 1)]);
    }

    #[test]
    fn value_may_contain_equals() {
        let mut errors = Errors::default();
        let lines = parse(
            "proxy_listen = 0.0.0.0:8000 backlog=16384",
            "f",
            &mut errors,
        );
        assert_eq!(
            lines,
            vec![line("proxy_listen", "0.0.0.0:8000 backlog=16384", 1)]
        );
    }

    #[test]
    fn malformed_lines_are_reported_with_line_numbers_and_skipped() {
        let mut errors = Errors::default();
        let lines = parse(
            "ok = 1\njust words\nBad_Key = 2\n= 3\n",
            "my.conf",
            &mut errors,
        );
        assert_eq!(lines, vec![line("ok", "1", 1)]);
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            vec![
                "my.conf:2: expected 'key = value', got 'just words'",
                "my.conf:3: invalid property name 'Bad_Key' (lower-case letters, digits and '_' only)",
                "my.conf:4: invalid property name '' (lower-case letters, digits and '_' only)",
            ]
        );
    }

    #[test]
    fn commented_settings_reads_only_property_lines() {
        let text = "# Prose = not a setting\n#log_level = notice  # doc\n#   indented = no\n#prefix =\nlive = 1\n#no_equals\n";
        assert_eq!(
            commented_settings(text),
            vec![line("log_level", "notice", 2), line("prefix", "", 4)]
        );
    }
}
