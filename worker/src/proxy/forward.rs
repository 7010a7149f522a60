//! Header rewriting between client and upstream: hop-by-hop removal (RFC 9110 §7.6.1) and
//! Kong's forwarding headers (`X-Forwarded-*`, `X-Real-IP`, `Via`).

use http::header::{HeaderName, CONNECTION, HOST, TE, TRAILER, TRANSFER_ENCODING, UPGRADE, VIA};
use http::{HeaderMap, HeaderValue, Version};

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
static X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
static X_FORWARDED_PATH: HeaderName = HeaderName::from_static("x-forwarded-path");
static X_FORWARDED_PREFIX: HeaderName = HeaderName::from_static("x-forwarded-prefix");
static X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
static KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
static PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// The hop-by-hop headers removed from every message, whether `Connection` names them or not.
static HOP_BY_HOP: [&HeaderName; 7] = [
    &CONNECTION,
    &TE,
    &TRAILER,
    &TRANSFER_ENCODING,
    &UPGRADE,
    &KEEP_ALIVE,
    &PROXY_CONNECTION,
];

/// Removes the headers that describe one connection and must not be forwarded, including any
/// header the `Connection` header names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // One pass over the names finds the few present, instead of a hash lookup per candidate.
    let mut present = 0u8;
    for name in headers.keys() {
        if let Some(i) = HOP_BY_HOP.iter().position(|h| *h == name) {
            present |= 1 << i;
        }
    }
    if present == 0 {
        return;
    }
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        // `keep-alive` and `close` are the usual tokens; known names go below anyway.
        .filter(|t| !t.eq_ignore_ascii_case("close"))
        .filter(|t| {
            !HOP_BY_HOP
                .iter()
                .any(|h| t.eq_ignore_ascii_case(h.as_str()))
        })
        .filter_map(|t| HeaderName::from_bytes(t.as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for (i, name) in HOP_BY_HOP.iter().enumerate() {
        if present & (1 << i) != 0 {
            headers.remove(*name);
        }
    }
}

/// What the forwarding headers describe: the client's connection and its request.
pub struct Forwarded<'a> {
    /// The client's address, as header text.
    pub client_ip: &'a HeaderValue,
    pub scheme: &'static str,
    /// The Host header's host part, as the client sent it.
    pub host: &'a str,
    /// The port the client connected to, as header text.
    pub local_port: &'a HeaderValue,
    /// The request path without the query string.
    pub path: &'a str,
    /// The path prefix `strip_path` removed, if any.
    pub stripped_prefix: Option<&'a str>,
    /// Whether the client is a trusted proxy (Kong's `trusted_ips`): its `X-Forwarded-*` are kept.
    pub trusted: bool,
}

/// Sets Kong's forwarding headers on a request about to go upstream.
pub fn add_forwarded(headers: &mut HeaderMap, fwd: &Forwarded, via: Option<HeaderValue>) {
    // Up to seven more headers: grow the map once.
    headers.reserve(7);
    // nginx's $proxy_add_x_forwarded_for: the incoming list, then the client address.
    let xff = match headers.get(&X_FORWARDED_FOR) {
        None => fwd.client_ip.clone(),
        Some(_) => {
            let mut xff = String::new();
            for v in headers
                .get_all(&X_FORWARDED_FOR)
                .iter()
                .filter_map(|v| v.to_str().ok())
            {
                xff.push_str(v);
                xff.push_str(", ");
            }
            xff.push_str(fwd.client_ip.to_str().unwrap_or_default());
            match HeaderValue::from_str(&xff) {
                Ok(v) => v,
                Err(_) => fwd.client_ip.clone(),
            }
        }
    };
    headers.insert(X_FORWARDED_FOR.clone(), xff);
    headers.insert(X_REAL_IP.clone(), fwd.client_ip.clone());

    let mut overwrite = |name: &HeaderName, value: Option<HeaderValue>| {
        if fwd.trusted && headers.contains_key(name) {
            return;
        }
        match value {
            Some(v) => {
                headers.insert(name.clone(), v);
            }
            None => {
                headers.remove(name);
            }
        }
    };
    overwrite(
        &X_FORWARDED_PROTO,
        Some(HeaderValue::from_static(fwd.scheme)),
    );
    overwrite(&X_FORWARDED_HOST, HeaderValue::from_str(fwd.host).ok());
    overwrite(&X_FORWARDED_PORT, Some(fwd.local_port.clone()));
    overwrite(&X_FORWARDED_PATH, HeaderValue::from_str(fwd.path).ok());
    overwrite(
        &X_FORWARDED_PREFIX,
        fwd.stripped_prefix
            .and_then(|p| HeaderValue::from_str(p).ok()),
    );
    if let Some(via) = via {
        headers.append(VIA, via);
    }
}

/// The gateway's `Via` entry for a hop spoken in `version` (Kong's `server_tokens`): requests
/// going upstream name the client's protocol (`2 sluice/x` for HTTP/2), responses the upstream's.
pub fn via(version: Version) -> HeaderValue {
    macro_rules! token {
        ($v:literal) => {
            HeaderValue::from_static(concat!($v, " sluice/", env!("CARGO_PKG_VERSION")))
        };
    }
    match version {
        Version::HTTP_2 => token!("2"),
        Version::HTTP_10 => token!("1.0"),
        _ => token!("1.1"),
    }
}

/// Sets the Host header sent upstream.
pub fn set_host(headers: &mut HeaderMap, host: HeaderValue) {
    headers.insert(HOST, host);
}

#[cfg(test)]
mod tests {
    use super::*;

    static CLIENT_IP: HeaderValue = HeaderValue::from_static("10.0.0.9");
    static PORT: HeaderValue = HeaderValue::from_static("8000");

    fn fwd(trusted: bool) -> Forwarded<'static> {
        Forwarded {
            client_ip: &CLIENT_IP,
            scheme: "http",
            host: "api.example.com",
            local_port: &PORT,
            path: "/a/b",
            stripped_prefix: Some("/a"),
            trusted,
        }
    }

    #[test]
    fn hop_by_hop_headers_and_connection_listed_ones_go() {
        let mut h = HeaderMap::new();
        h.insert(CONNECTION, "keep-alive, X-Secret".parse().unwrap());
        h.insert("x-secret", "1".parse().unwrap());
        h.insert("keep-alive", "timeout=5".parse().unwrap());
        h.insert("x-kept", "1".parse().unwrap());
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-kept"));
    }

    #[test]
    fn untrusted_client_forwarded_headers_are_replaced_but_xff_appends() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "1.1.1.1".parse().unwrap());
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        add_forwarded(
            &mut h,
            &fwd(false),
            Some(HeaderValue::from_static("1.1 sluice")),
        );
        assert_eq!(h["x-forwarded-for"], "1.1.1.1, 10.0.0.9");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-port"], "8000");
        assert_eq!(h["x-forwarded-prefix"], "/a");
        assert_eq!(h["x-real-ip"], "10.0.0.9");
        assert_eq!(h["via"], "1.1 sluice");
    }

    #[test]
    fn via_names_the_protocol_of_the_hop() {
        let version = env!("CARGO_PKG_VERSION");
        assert_eq!(via(Version::HTTP_2), format!("2 sluice/{version}").as_str());
        assert_eq!(
            via(Version::HTTP_11),
            format!("1.1 sluice/{version}").as_str()
        );
        assert_eq!(
            via(Version::HTTP_10),
            format!("1.0 sluice/{version}").as_str()
        );
    }

    #[test]
    fn trusted_client_forwarded_headers_are_kept() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        add_forwarded(&mut h, &fwd(true), None);
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-host"], "api.example.com");
    }
}
