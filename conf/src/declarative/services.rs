//! `services` fields, including Kong's `url` shorthand.

use super::fields::{self, Fields, Sink};
use super::model::{Protocol, Service};
use super::validate;
use uuid::Uuid;

/// Kong's timeouts: milliseconds, at least 1.
const MAX_TIMEOUT: i64 = (1 << 31) - 2;

/// The parts of a service `url`.
#[derive(Debug, PartialEq, Eq)]
struct Url {
    scheme: String,
    host: String,
    port: Option<u16>,
    path: Option<String>,
}

/// `scheme://[userinfo@]host[:port][/path][?query][#fragment]`; the query and fragment are
/// dropped, as Kong's shorthand does.
fn parse_url(url: &str) -> Result<Url, String> {
    let invalid = || format!("invalid url '{url}': expected scheme://host[:port][/path]");
    let (scheme, rest) = url.split_once("://").ok_or_else(invalid)?;
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], Some(rest[i..].to_string())),
        None => (rest, None),
    };
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if scheme.is_empty() || authority.is_empty() {
        return Err(invalid());
    }
    let hp = validate::host_port(authority).map_err(|e| format!("invalid url '{url}': {e}"))?;
    Ok(Url {
        scheme: scheme.to_ascii_lowercase(),
        host: hp.host,
        port: hp.port,
        path,
    })
}

pub(crate) fn read(f: &mut Fields, sink: &mut Sink) -> Service {
    let name = fields::checked_string(f, "name", validate::utf8_name, sink);
    let explicit_protocol = f.string("protocol", sink);
    let explicit_host = f.string("host", sink);
    let explicit_port = f.optional_integer("port", 0, 65535, sink);
    let explicit_path = f.string("path", sink);
    // The shorthand sets all four fields, overriding explicit ones, as in Kong.
    let mut bad_url = false;
    let (protocol, host, port, path) = match f.string("url", sink) {
        Some(url) => match parse_url(&url) {
            Ok(u) => {
                let port =
                    u.port
                        .map(i64::from)
                        .unwrap_or(if u.scheme == "https" { 443 } else { 80 });
                (Some(u.scheme), Some(u.host), Some(port), u.path)
            }
            Err(message) => {
                sink.error(f.at("url"), message);
                bad_url = true;
                (None, None, None, None)
            }
        },
        None => (
            explicit_protocol,
            explicit_host,
            explicit_port,
            explicit_path,
        ),
    };
    let protocol = match protocol {
        None => Protocol::Http,
        Some(p) => Protocol::parse_supported(&p).unwrap_or_else(|message| {
            sink.error(f.at("protocol"), message);
            Protocol::Http
        }),
    };
    let host = match host {
        None => {
            if !bad_url {
                sink.error(f.at("host"), "required field missing");
            }
            String::new()
        }
        Some(h) => validate::service_host(&h).unwrap_or_else(|message| {
            sink.error(f.at("host"), message);
            h
        }),
    };
    if let Some(path) = &path {
        let check = if matches!(protocol, Protocol::Grpc | Protocol::Grpcs) {
            Err(format!("must be null when protocol is '{protocol}'"))
        } else {
            validate::service_path(path)
        };
        if let Err(message) = check {
            sink.error(f.at("path"), message);
        }
    }
    let timeout =
        |f: &mut Fields, key, sink: &mut Sink| f.integer(key, 1, MAX_TIMEOUT, 60000, sink) as u32;
    Service {
        id: Uuid::nil(),
        name,
        protocol,
        host,
        port: port.unwrap_or(80) as u16,
        path,
        retries: f.integer("retries", 0, 32767, 5, sink) as u16,
        connect_timeout: timeout(f, "connect_timeout", sink),
        write_timeout: timeout(f, "write_timeout", sink),
        read_timeout: timeout(f, "read_timeout", sink),
        enabled: f.boolean("enabled", true, sink),
        tags: fields::tags(f, sink),
        tls_verify: f
            .has("tls_verify")
            .then(|| f.boolean("tls_verify", false, sink)),
        tls_verify_depth: f
            .optional_integer("tls_verify_depth", 0, 64, sink)
            .map(|d| d as u8),
        // References, resolved by the collector.
        client_certificate_id: None,
        ca_certificate_ids: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service(v: serde_json::Value) -> (Service, Vec<String>) {
        fields::read_record(&v, "services[0]", read)
    }

    #[test]
    fn urls() {
        let u = |s| parse_url(s).unwrap();
        assert_eq!(
            u("http://upstream-a:8080/base"),
            Url {
                scheme: "http".into(),
                host: "upstream-a".into(),
                port: Some(8080),
                path: Some("/base".into())
            }
        );
        assert_eq!(u("https://user:pw@example.com?x=1#f").path, None);
        assert_eq!(u("https://example.com/a?x=1").path.as_deref(), Some("/a"));
        assert_eq!(u("http://[::1]:81/").host, "::1");
        assert!(parse_url("example.com").is_err());
        assert!(parse_url("http:///x").is_err());
        assert!(parse_url("http://a b/").is_err());
    }

    #[test]
    fn url_shorthand_with_kong_defaults() {
        let (s, errors) = service(json!({"name": "echo", "url": "http://upstream-a:8080/base"}));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            (s.protocol, s.host.as_str(), s.port, s.path.as_deref()),
            (Protocol::Http, "upstream-a", 8080, Some("/base"))
        );
        assert_eq!(
            (
                s.retries,
                s.connect_timeout,
                s.write_timeout,
                s.read_timeout
            ),
            (5, 60000, 60000, 60000)
        );
        assert!(s.enabled);
        assert_eq!(s.tls_verify, None);
        let (s, _) = service(json!({"url": "https://example.com"}));
        assert_eq!((s.protocol, s.port, s.path), (Protocol::Https, 443, None));
        let (s, _) = service(json!({"url": "grpcs://example.com"}));
        assert_eq!((s.protocol, s.port), (Protocol::Grpcs, 80));
        // The shorthand wins over explicit fields, as in Kong.
        let (s, errors) =
            service(json!({"url": "http://a:1", "host": "b", "port": 2, "path": "/p"}));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!((s.host.as_str(), s.port, s.path), ("a", 1, None));
    }

    #[test]
    fn explicit_fields() {
        let (s, errors) = service(json!({
            "protocol": "https", "host": "10.0.0.1", "path": "/x", "retries": 0,
            "connect_timeout": 1, "read_timeout": 2, "write_timeout": 3, "enabled": false,
            "tags": ["a"], "tls_verify": true, "tls_verify_depth": 3
        }));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            (s.protocol, s.host.as_str(), s.port),
            (Protocol::Https, "10.0.0.1", 80)
        );
        assert_eq!(
            (
                s.retries,
                s.connect_timeout,
                s.read_timeout,
                s.write_timeout
            ),
            (0, 1, 2, 3)
        );
        assert!(!s.enabled);
        assert_eq!((s.tls_verify, s.tls_verify_depth), (Some(true), Some(3)));
        assert_eq!(s.tags, vec!["a"]);
    }

    #[test]
    fn errors() {
        let (_, errors) = service(json!({
            "name": "bad name", "protocol": "tcp", "port": 70000, "path": "nope",
            "connect_timeout": 0, "retries": 40000, "tags": ["a,b"]
        }));
        assert_eq!(
            errors,
            vec![
                "k: services[0].name: invalid value 'bad name': the only accepted ascii characters are alphanumerics or ., -, _, and ~",
                "k: services[0].port: value should be between 0 and 65535",
                "k: services[0].protocol: protocol 'tcp' is not supported by Sluice",
                "k: services[0].host: required field missing",
                "k: services[0].path: should start with: /",
                "k: services[0].retries: value should be between 0 and 32767",
                "k: services[0].connect_timeout: value should be between 1 and 2147483646",
                "k: services[0].tags[0]: invalid tag 'a,b': expected printable ascii (except `,` and `/`) or valid utf-8 sequences",
            ]
        );
        let (_, errors) = service(json!({"url": "nope"}));
        assert_eq!(
            errors,
            vec!["k: services[0].url: invalid url 'nope': expected scheme://host[:port][/path]"]
        );
        let (_, errors) = service(json!({"url": "grpc://a/x"}));
        assert_eq!(
            errors,
            vec!["k: services[0].path: must be null when protocol is 'grpc'"]
        );
        let (_, errors) = service(json!({"host": "a:80", "color": 1}));
        assert_eq!(
            errors,
            vec![
                "k: services[0].host: must not have a port",
                "k: services[0].color: unknown field"
            ]
        );
    }
}
