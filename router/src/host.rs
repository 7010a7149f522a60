//! Route hosts: exact, `*.suffix` and `prefix.*` patterns with an optional port.

/// Splits `host:port` at the first colon when what follows is a number, as Kong's
/// `split_host_port`; otherwise the whole string is the host (so `[::1]:80` stays whole).
pub(crate) fn split_host_port(value: &str) -> (&str, Option<u64>) {
    match value.split_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            match port.parse() {
                Ok(port) => (host, Some(port)),
                Err(_) => (value, None),
            }
        }
        _ => (value, None),
    }
}

#[derive(Debug, Clone)]
enum Pattern {
    Exact(String),
    /// `*.a.com`: the host must end with `.a.com`.
    Suffix(String),
    /// `a.*`: the host must start with `a.`.
    Prefix(String),
}

/// One entry of a route's `hosts`.
#[derive(Debug, Clone)]
pub(crate) struct HostMatcher {
    pattern: Pattern,
    /// Compared with the port of the `Host` header, or the local port when it has none.
    port: Option<u64>,
}

impl HostMatcher {
    /// Validates like Kong's `typedefs.hosts` (which checks the wildcard on the whole value, so
    /// `*.a.com:8080` is accepted and `a.*:8080` is not) and compiles like its `get_expression`.
    pub(crate) fn compile(value: &str) -> Result<Self, String> {
        match value.matches('*').count() {
            0 => {}
            1 if value.starts_with("*.") || value.ends_with(".*") => {}
            1 => {
                return Err(format!(
                    "invalid wildcard: must be placed at leftmost or rightmost label: '{value}'"
                ))
            }
            _ => {
                return Err(format!(
                    "invalid wildcard: must have at most one wildcard: '{value}'"
                ))
            }
        }
        let (host, port) = split_host_port(value);
        if port.is_some_and(|port| port > u64::from(u16::MAX)) {
            return Err(format!("invalid port number: '{value}'"));
        }
        if !is_valid_host(&host.replace('*', "abc")) {
            return Err(format!("invalid value: '{value}'"));
        }
        let pattern = if let Some(suffix) = host.strip_prefix('*') {
            Pattern::Suffix(suffix.to_string())
        } else if let Some(prefix) = host.strip_suffix('*') {
            Pattern::Prefix(prefix.to_string())
        } else {
            Pattern::Exact(host.to_string())
        };
        Ok(HostMatcher { pattern, port })
    }

    /// Case-sensitive, as Kong's router is (route hosts and `Host` are compared as given).
    pub(crate) fn matches(&self, host: &str, port: u64) -> bool {
        let host_ok = match &self.pattern {
            Pattern::Exact(exact) => host == exact,
            Pattern::Suffix(suffix) => host.ends_with(suffix.as_str()),
            Pattern::Prefix(prefix) => host.starts_with(prefix.as_str()),
        };
        host_ok && self.port.is_none_or(|wanted| wanted == port)
    }

    /// The host an exact pattern needs, for the router's index by host.
    pub(crate) fn exact_host(&self) -> Option<&str> {
        match &self.pattern {
            Pattern::Exact(exact) => Some(exact),
            Pattern::Suffix(_) | Pattern::Prefix(_) => None,
        }
    }

    pub(crate) fn is_wildcard(&self) -> bool {
        self.exact_host().is_none()
    }
}

/// A host name (letters, digits, `-`, `_`, `.`), an IPv4 address or an IPv6 address.
fn is_valid_host(host: &str) -> bool {
    let bare = host
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'));
    if bare.unwrap_or(host).parse::<std::net::Ipv6Addr>().is_ok() {
        return true;
    }
    !host.is_empty()
        && host.split('.').all(|label| !label.is_empty())
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_port_only_when_numeric() {
        assert_eq!(split_host_port("a.com:8080"), ("a.com", Some(8080)));
        assert_eq!(split_host_port("a.com"), ("a.com", None));
        assert_eq!(split_host_port("a.com:"), ("a.com:", None));
        assert_eq!(split_host_port("a.com:8x"), ("a.com:8x", None));
        assert_eq!(split_host_port("[::1]:80"), ("[::1]:80", None));
        assert_eq!(split_host_port("route.*:123"), ("route.*", Some(123)));
    }

    #[test]
    fn wildcards_on_either_side() {
        let left = HostMatcher::compile("*.route.com").unwrap();
        assert!(left.matches("foo.route.com", 80));
        assert!(left.matches("a.b.route.com", 80));
        assert!(!left.matches("route.com", 80));
        let right = HostMatcher::compile("route.*").unwrap();
        assert!(right.matches("route.org", 1));
        assert!(!right.matches("sub.route.org", 1));
        assert!(left.is_wildcard() && right.is_wildcard());
    }

    #[test]
    fn port_restricts_the_match() {
        let host = HostMatcher::compile("a.com:8080").unwrap();
        assert!(host.matches("a.com", 8080));
        assert!(!host.matches("a.com", 80));
        assert_eq!(host.exact_host(), Some("a.com"));
        let port_wildcard = HostMatcher::compile("*.route.net:123").unwrap();
        assert!(port_wildcard.matches("foo.route.net", 123));
        assert!(!port_wildcard.matches("foo.route.net", 456));
    }

    #[test]
    fn exact_hosts_are_case_sensitive() {
        assert!(!HostMatcher::compile("a.com").unwrap().matches("A.com", 80));
    }

    #[test]
    fn rejects_bad_hosts() {
        for bad in [
            "*.a.*",
            "a.*.com",
            "*a.com",
            "a.com*",
            "a.*:80",
            "",
            "a..com",
            "a.com:99999",
            "a com",
        ] {
            assert!(
                HostMatcher::compile(bad).is_err(),
                "{bad} should be rejected"
            );
        }
        assert!(HostMatcher::compile("[::1]").is_ok());
        assert!(HostMatcher::compile("::1").is_ok());
    }
}
