//! Route `headers`: every named header must carry one of its values, compared case-insensitively.

use http::{HeaderMap, HeaderName};
use regex::Regex;
use std::borrow::Cow;

#[derive(Debug, Clone)]
enum ValuePattern {
    /// Kong lower-cases route values with Lua's ASCII-only `lower()`.
    Exact(String),
    /// A `~*` value: Kong lower-cases the pattern text too, then searches unanchored.
    Regex(Regex),
}

/// One entry of a route's `headers`.
#[derive(Debug, Clone)]
pub(crate) struct HeaderMatcher {
    name: HeaderName,
    values: Vec<ValuePattern>,
}

impl HeaderMatcher {
    pub(crate) fn compile(name: &str, values: &[String]) -> Result<Self, String> {
        let name = header_name(name)?;
        if name == http::header::HOST {
            return Err(
                "cannot contain 'host' header, which must be specified in the 'hosts' attribute"
                    .to_string(),
            );
        }
        if values.is_empty() {
            return Err(format!("header '{name}' must have at least one value"));
        }
        let values = values
            .iter()
            .map(|value| match value.strip_prefix("~*") {
                Some(pattern) => {
                    let pattern = pattern.to_ascii_lowercase();
                    Regex::new(&pattern)
                        .map(ValuePattern::Regex)
                        .map_err(|err| {
                            format!("invalid regex for header '{name}': '{pattern}' ({err})")
                        })
                }
                None => Ok(ValuePattern::Exact(value.to_ascii_lowercase())),
            })
            .collect::<Result<_, _>>()?;
        Ok(HeaderMatcher { name, values })
    }

    pub(crate) fn name(&self) -> &HeaderName {
        &self.name
    }

    /// Whether any value the request sent under this name (each header line counts on its own)
    /// matches any of the route's values. Values that are not UTF-8 never match; the router
    /// refuses such requests before getting here, as Kong does.
    pub(crate) fn matches(&self, headers: &HeaderMap) -> bool {
        headers.get_all(&self.name).iter().any(|value| {
            let Ok(value) = std::str::from_utf8(value.as_bytes()) else {
                return false;
            };
            let value = lowercase(value);
            self.values.iter().any(|pattern| match pattern {
                ValuePattern::Exact(exact) => *value == **exact,
                ValuePattern::Regex(regex) => regex.is_match(&value),
            })
        })
    }
}

/// Kong looks headers up through ngx's table, which lower-cases and reads `_` as `-`.
fn header_name(name: &str) -> Result<HeaderName, String> {
    let normalized = name.to_ascii_lowercase().replace('_', "-");
    HeaderName::from_bytes(normalized.as_bytes())
        .map_err(|_| format!("invalid header name: '{name}'"))
}

/// atc-router's `lower()` on the request side is Unicode lower-casing.
fn lowercase(value: &str) -> Cow<'_, str> {
    if value.is_ascii() {
        if value.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(value.to_ascii_lowercase())
        } else {
            Cow::Borrowed(value)
        }
    } else {
        Cow::Owned(value.to_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn matcher(name: &str, values: &[&str]) -> HeaderMatcher {
        HeaderMatcher::compile(
            name,
            &values.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
        )
        .unwrap()
    }

    #[test]
    fn names_and_values_ignore_case() {
        let m = matcher("USER_AGENT", &["Foo", "bar"]);
        assert!(m.matches(&headers(&[("user-agent", "FOO")])));
        assert!(m.matches(&headers(&[("User-Agent", "bar")])));
        assert!(!m.matches(&headers(&[("user-agent", "baz")])));
        assert!(!m.matches(&headers(&[])));
    }

    #[test]
    fn any_header_line_may_match_but_a_list_in_one_line_is_one_value() {
        let m = matcher("location", &["my-location-2"]);
        assert!(m.matches(&headers(&[
            ("location", "my-location-3"),
            ("location", "my-location-2")
        ])));
        assert!(!m.matches(&headers(&[("location", "my-location-3, my-location-2")])));
    }

    #[test]
    fn regex_values_are_lower_cased_and_unanchored() {
        let m = matcher("user-agent", &[r"~*Windows|linux|os\s+x\s*[\d\._]+"]);
        assert!(m.matches(&headers(&[(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64)"
        )])));
        assert!(m.matches(&headers(&[("user-agent", "Mozilla/5.0 (Windows NT 10.0)")])));
        assert!(!m.matches(&headers(&[("user-agent", "curl/8.0")])));
    }

    #[test]
    fn rejects_host_and_bad_values() {
        assert!(HeaderMatcher::compile("Host", &["a".to_string()]).is_err());
        assert!(HeaderMatcher::compile("x", &[]).is_err());
        assert!(HeaderMatcher::compile("bad name", &["a".to_string()]).is_err());
        assert!(HeaderMatcher::compile("x", &["~*(".to_string()]).is_err());
    }
}
