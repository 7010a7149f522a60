//! Value checks for declarative fields, with Kong's rules and messages (from its schema
//! typedefs and entity schemas).

use super::uri;
use std::net::{Ipv4Addr, Ipv6Addr};

/// An address as Kong's `utils.normalize_ip` splits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostPort {
    /// IPv6 without brackets.
    pub host: String,
    pub port: Option<u16>,
    pub kind: HostKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostKind {
    Name,
    Ipv4,
    Ipv6,
}

/// Splits `host`, `host:port`, `1.2.3.4:80`, `[::1]:80` or a bare IPv6 address.
pub(crate) fn host_port(s: &str) -> Result<HostPort, String> {
    if let Some(rest) = s.strip_prefix('[') {
        let (ip, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("invalid ipv6 address: {s}"))?;
        ip.parse::<Ipv6Addr>()
            .map_err(|_| format!("invalid ipv6 address: {s}"))?;
        let port = match after {
            "" => None,
            p => Some(port(
                p.strip_prefix(':')
                    .ok_or_else(|| format!("invalid ipv6 address: {s}"))?,
            )?),
        };
        return Ok(HostPort {
            host: ip.to_string(),
            port,
            kind: HostKind::Ipv6,
        });
    }
    if s.matches(':').count() > 1 {
        s.parse::<Ipv6Addr>()
            .map_err(|_| format!("invalid ipv6 address: {s}"))?;
        return Ok(HostPort {
            host: s.to_string(),
            port: None,
            kind: HostKind::Ipv6,
        });
    }
    let (host, port) = match s.split_once(':') {
        Some((host, p)) => (host, Some(port(p)?)),
        None => (s, None),
    };
    if !host.is_empty() && host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        host.parse::<Ipv4Addr>()
            .map_err(|_| format!("invalid ipv4 address: {s}"))?;
        return Ok(HostPort {
            host: host.to_string(),
            port,
            kind: HostKind::Ipv4,
        });
    }
    if !hostname(host) {
        return Err(format!("invalid hostname: {s}"));
    }
    Ok(HostPort {
        host: host.to_string(),
        port,
        kind: HostKind::Name,
    })
}

fn port(p: &str) -> Result<u16, String> {
    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err("invalid port number".into());
    }
    p.parse().map_err(|_| "invalid port number".to_string())
}

/// Kong's hostname rule: letters, digits, `-`, `.`, `_`; no label ending in `-`; no empty label
/// except a trailing dot.
fn hostname(name: &str) -> bool {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
    {
        return false;
    }
    let labels: Vec<&str> = name.split('.').collect();
    labels.iter().enumerate().all(|(i, label)| {
        !label.ends_with('-') && (!label.is_empty() || (i == labels.len() - 1 && i > 0))
    })
}

/// A service `host`: a name or IP without a port. Returns it normalized (IPv6 unbracketed).
pub(crate) fn service_host(s: &str) -> Result<String, String> {
    let hp = host_port(s).map_err(|_| format!("invalid value: {s}"))?;
    if hp.port.is_some() {
        return Err("must not have a port".into());
    }
    Ok(hp.host)
}

/// An upstream `name`: a hostname, not an IP, without a port.
pub(crate) fn upstream_name(s: &str) -> Result<(), String> {
    let hp = host_port(s).map_err(|_| format!("Invalid name ('{s}'); must be a valid hostname"))?;
    if hp.kind != HostKind::Name {
        return Err(format!("Invalid name ('{s}'); no ip addresses allowed"));
    }
    if hp.port.is_some() {
        return Err(format!("Invalid name ('{s}'); no port allowed"));
    }
    Ok(())
}

/// A route `hosts` entry: a host with an optional port and at most one `*` label, leftmost or
/// rightmost.
pub(crate) fn route_host(s: &str) -> Result<(), String> {
    match s.matches('*').count() {
        0 => {}
        1 if s.starts_with("*.") || s.ends_with(".*") => {}
        1 => return Err("invalid wildcard: must be placed at leftmost or rightmost label".into()),
        _ => return Err("invalid wildcard: must have at most one wildcard".into()),
    }
    host_port(&s.replace('*', "abc")).map(|_| ())
}

/// A route `snis` entry: a hostname (wildcards as in `hosts`), no IP, no port.
pub(crate) fn sni(s: &str) -> Result<(), String> {
    route_host(s)?;
    let hp = host_port(&s.replace('*', "abc")).map_err(|_| format!("invalid value: {s}"))?;
    match (hp.kind, hp.port) {
        (HostKind::Name, None) => Ok(()),
        (HostKind::Name, Some(_)) => Err("must not have a port".into()),
        _ => Err("must not be an IP".into()),
    }
}

/// A route `paths` entry (after format migration): `/prefix` in normalized form, or `~/regex`.
pub(crate) fn router_path(s: &str) -> Result<(), String> {
    if !s.starts_with('/') && !s.starts_with("~/") {
        return Err("should start with: / (fixed path) or ~/ (regex path)".into());
    }
    if s.contains("//") {
        return Err("must not have empty segments".into());
    }
    uri::check_percent_encoding(s)?;
    if !s.starts_with('~') {
        let normalized = uri::normalize(s);
        if normalized != s {
            return Err(format!(
                "non-normalized path, consider use '{normalized}' instead"
            ));
        }
    }
    Ok(())
}

/// A service `path`: starts with `/`, RFC 3986 characters, valid percent-encoding.
pub(crate) fn service_path(s: &str) -> Result<(), String> {
    if !s.starts_with('/') {
        return Err("should start with: /".into());
    }
    if s.contains("//") {
        return Err("must not have empty segments".into());
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || ".-_~/%:@!$&'()*+,;=".contains(c);
    if !s.chars().all(allowed) {
        return Err(format!(
            "invalid path: '{s}' (characters outside of the reserved list of RFC 3986 found)"
        ));
    }
    uri::check_percent_encoding(s)
}

/// Kong's `utf8_name` (service, route and plugin instance names).
pub(crate) fn utf8_name(s: &str) -> Result<(), String> {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_~".contains(c) || !c.is_ascii())
    {
        Ok(())
    } else {
        Err(format!(
            "invalid value '{s}': the only accepted ascii characters are alphanumerics or ., -, _, and ~"
        ))
    }
}

/// A tag: printable ASCII except `,` and `/`, spaces, or any non-ASCII character.
pub(crate) fn tag(s: &str) -> Result<(), String> {
    if !s.is_empty()
        && s.chars()
            .all(|c| (c == ' ' || c.is_ascii_graphic() || !c.is_ascii()) && c != ',' && c != '/')
    {
        Ok(())
    } else {
        Err(format!(
            "invalid tag '{s}': expected printable ascii (except `,` and `/`) or valid utf-8 sequences"
        ))
    }
}

/// A header name in route `headers` and upstream hashing fields.
pub(crate) fn header_name(s: &str) -> Result<(), String> {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(())
    } else {
        Err(format!(
            "bad header name '{s}', allowed characters are A-Z, a-z, 0-9, '_', and '-'"
        ))
    }
}

/// An HTTP method in route `methods`: upper-case letters.
pub(crate) fn method(s: &str) -> Result<(), String> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(format!("invalid value: {s}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_splits_like_kong() {
        let hp = |s| host_port(s).unwrap();
        assert_eq!(
            hp("example.com"),
            HostPort {
                host: "example.com".into(),
                port: None,
                kind: HostKind::Name
            }
        );
        assert_eq!(hp("example.com:8080").port, Some(8080));
        assert_eq!(
            hp("10.0.0.1:80"),
            HostPort {
                host: "10.0.0.1".into(),
                port: Some(80),
                kind: HostKind::Ipv4
            }
        );
        assert_eq!(
            hp("[::1]:80"),
            HostPort {
                host: "::1".into(),
                port: Some(80),
                kind: HostKind::Ipv6
            }
        );
        assert_eq!(
            hp("::1"),
            HostPort {
                host: "::1".into(),
                port: None,
                kind: HostKind::Ipv6
            }
        );
        assert_eq!(hp("[::1]").port, None);
        assert_eq!(hp("under_score.local.").kind, HostKind::Name);
        assert_eq!(host_port("a:99999"), Err("invalid port number".into()));
        assert_eq!(host_port("a:"), Err("invalid port number".into()));
        assert_eq!(
            host_port("300.1.1.1"),
            Err("invalid ipv4 address: 300.1.1.1".into())
        );
        assert_eq!(
            host_port("[::g]:1"),
            Err("invalid ipv6 address: [::g]:1".into())
        );
        for bad in ["", "a b", "-a.b-", "a..b", ".a", "a/b", "é.com"] {
            assert_eq!(
                host_port(bad),
                Err(format!("invalid hostname: {bad}")),
                "{bad}"
            );
        }
    }

    #[test]
    fn service_hosts_and_upstream_names() {
        assert_eq!(service_host("[::1]"), Ok("::1".into()));
        assert_eq!(service_host("my-upstream"), Ok("my-upstream".into()));
        assert_eq!(service_host("a:80"), Err("must not have a port".into()));
        assert_eq!(service_host("a b"), Err("invalid value: a b".into()));
        assert_eq!(upstream_name("backend.internal"), Ok(()));
        assert!(upstream_name("1.2.3.4")
            .unwrap_err()
            .contains("no ip addresses allowed"));
        assert!(upstream_name("a:1")
            .unwrap_err()
            .contains("no port allowed"));
        assert!(upstream_name("a b")
            .unwrap_err()
            .contains("must be a valid hostname"));
    }

    #[test]
    fn route_hosts_and_snis() {
        for ok in [
            "example.com",
            "*.example.com",
            "example.*",
            "example.com:8080",
            "*.a.com:81",
            "10.0.0.1",
        ] {
            assert_eq!(route_host(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            route_host("a.*.com"),
            Err("invalid wildcard: must be placed at leftmost or rightmost label".into())
        );
        assert_eq!(
            route_host("*.a.*"),
            Err("invalid wildcard: must have at most one wildcard".into())
        );
        assert_eq!(
            route_host("*a.com"),
            Err("invalid wildcard: must be placed at leftmost or rightmost label".into())
        );
        assert!(route_host("bad host").is_err());
        assert_eq!(sni("*.example.com"), Ok(()));
        assert_eq!(sni("1.2.3.4"), Err("must not be an IP".into()));
        assert_eq!(sni("a.com:1"), Err("must not have a port".into()));
    }

    #[test]
    fn router_paths() {
        for ok in [
            "/",
            "/api",
            "/api/",
            "~/v(?<ver>\\d+)/items$",
            "/%2F",
            "/a%20b",
        ] {
            assert_eq!(router_path(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            router_path("api"),
            Err("should start with: / (fixed path) or ~/ (regex path)".into())
        );
        assert_eq!(
            router_path("~api"),
            Err("should start with: / (fixed path) or ~/ (regex path)".into())
        );
        assert_eq!(
            router_path("/a//b"),
            Err("must not have empty segments".into())
        );
        assert_eq!(
            router_path("/a%zz"),
            Err("invalid url-encoded value: '%zz'".into())
        );
        assert_eq!(
            router_path("~/x%"),
            Err("invalid url-encoded value: '%'".into())
        );
        assert_eq!(
            router_path("/a/../b"),
            Err("non-normalized path, consider use '/b' instead".into())
        );
        assert_eq!(
            router_path("/%41"),
            Err("non-normalized path, consider use '/A' instead".into())
        );
        assert_eq!(
            router_path("/%2f"),
            Err("non-normalized path, consider use '/%2F' instead".into())
        );
    }

    #[test]
    fn service_paths() {
        assert_eq!(service_path("/base/v1"), Ok(()));
        assert_eq!(service_path("base"), Err("should start with: /".into()));
        assert_eq!(
            service_path("/a//b"),
            Err("must not have empty segments".into())
        );
        assert!(service_path("/a b").unwrap_err().contains("RFC 3986"));
        assert_eq!(
            service_path("/a%2"),
            Err("invalid url-encoded value: '%2'".into())
        );
    }

    #[test]
    fn names_tags_headers_methods() {
        assert_eq!(utf8_name("my-svc_1.v~2"), Ok(()));
        assert_eq!(utf8_name("café"), Ok(()));
        assert!(utf8_name("a b").is_err());
        assert!(utf8_name("").is_err());
        assert_eq!(tag("team a:b"), Ok(()));
        assert!(tag("a,b").is_err());
        assert!(tag("a/b").is_err());
        assert!(tag("tab\t").is_err());
        assert_eq!(header_name("X-Version_2"), Ok(()));
        assert!(header_name("X Version")
            .unwrap_err()
            .starts_with("bad header name 'X Version'"));
        assert_eq!(method("GET"), Ok(()));
        assert_eq!(method("get"), Err("invalid value: get".into()));
    }
}
