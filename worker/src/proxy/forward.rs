//! Header rewriting between client and upstream: hop-by-hop removal (RFC 9110 §7.6.1) and
//! Kong's forwarding headers (`X-Forwarded-*`, `X-Real-IP`, `Via`).

use http::header::{HeaderName, CONNECTION, HOST, TE, TRAILER, TRANSFER_ENCODING, UPGRADE, VIA};
use http::{HeaderMap, HeaderValue};

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
static X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
static X_FORWARDED_PATH: HeaderName = HeaderName::from_static("x-forwarded-path");
static X_FORWARDED_PREFIX: HeaderName = HeaderName::from_static("x-forwarded-prefix");
static X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
static KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
static PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// Removes the headers that describe one connection and must not be forwarded, including any
/// header the `Connection` header names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        &CONNECTION,
        &TE,
        &TRAILER,
        &TRANSFER_ENCODING,
        &UPGRADE,
        &KEEP_ALIVE,
        &PROXY_CONNECTION,
    ] {
        headers.remove(name);
    }
}

/// What the forwarding headers describe: the client's connection and its request.
pub struct Forwarded<'a> {
    pub client_ip: &'a str,
    pub scheme: &'a str,
    /// The Host header's host part, as the client sent it.
    pub host: &'a str,
    pub local_port: u16,
    /// The request path without the query string.
    pub path: &'a str,
    /// The path prefix `strip_path` removed, if any.
    pub stripped_prefix: Option<&'a str>,
    /// Whether the client is a trusted proxy (Kong's `trusted_ips`): its `X-Forwarded-*` are kept.
    pub trusted: bool,
}

/// Sets Kong's forwarding headers on a request about to go upstream.
pub fn add_forwarded(headers: &mut HeaderMap, fwd: &Forwarded, via: Option<HeaderValue>) {
    // nginx's $proxy_add_x_forwarded_for: the incoming list, then the client address.
    let mut xff = String::new();
    for v in headers
        .get_all(&X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
    {
        xff.push_str(v);
        xff.push_str(", ");
    }
    xff.push_str(fwd.client_ip);
    set(headers, &X_FORWARDED_FOR, &xff);
    set(headers, &X_REAL_IP, fwd.client_ip);

    let port = fwd.local_port.to_string();
    let mut overwrite = |name: &HeaderName, value: Option<&str>| {
        if fwd.trusted && headers.contains_key(name) {
            return;
        }
        match value {
            Some(v) => set(headers, name, v),
            None => {
                headers.remove(name);
            }
        }
    };
    overwrite(&X_FORWARDED_PROTO, Some(fwd.scheme));
    overwrite(&X_FORWARDED_HOST, Some(fwd.host));
    overwrite(&X_FORWARDED_PORT, Some(&port));
    overwrite(&X_FORWARDED_PATH, Some(fwd.path));
    overwrite(&X_FORWARDED_PREFIX, fwd.stripped_prefix);
    if let Some(via) = via {
        headers.append(VIA, via);
    }
}

/// Sets the Host header sent upstream.
pub fn set_host(headers: &mut HeaderMap, host: &str) {
    set(headers, &HOST, host);
}

fn set(headers: &mut HeaderMap, name: &HeaderName, value: &str) {
    // Values come from a parsed request or config, so they are valid header text; skip otherwise.
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name.clone(), v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fwd(trusted: bool) -> Forwarded<'static> {
        Forwarded {
            client_ip: "10.0.0.9",
            scheme: "http",
            host: "api.example.com",
            local_port: 8000,
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
    fn trusted_client_forwarded_headers_are_kept() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        add_forwarded(&mut h, &fwd(true), None);
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-host"], "api.example.com");
    }
}
