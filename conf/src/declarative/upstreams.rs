//! `upstreams` and `targets` fields.

use super::fields::{self, Fields, Sink};
use super::model::{Target, Upstream};
use super::validate::{self, HostKind};
use serde_json::Value;
use uuid::Uuid;

const HASH_ON: [&str; 8] = [
    "none",
    "consumer",
    "ip",
    "header",
    "cookie",
    "path",
    "query_arg",
    "uri_capture",
];

pub(crate) fn read_upstream(f: &mut Fields, sink: &mut Sink) -> Upstream {
    let name = f.required_string("name", sink).unwrap_or_default();
    if !name.is_empty() {
        if let Err(message) = validate::upstream_name(&name) {
            sink.error(f.at("name"), message);
        }
    }
    let algorithm = f.one_of(
        "algorithm",
        &[
            "round-robin",
            "consistent-hashing",
            "least-connections",
            "latency",
        ],
        "round-robin",
        sink,
    );
    let hash_on = f.one_of("hash_on", &HASH_ON, "none", sink);
    let hash_fallback = f.one_of("hash_fallback", &HASH_ON, "none", sink);
    let header = |f: &mut Fields, key, sink: &mut Sink| {
        fields::checked_string(f, key, validate::header_name, sink)
    };
    let u = Upstream {
        id: Uuid::nil(),
        name,
        algorithm,
        hash_on_header: header(f, "hash_on_header", sink),
        hash_fallback_header: header(f, "hash_fallback_header", sink),
        hash_on_cookie: f.string("hash_on_cookie", sink),
        hash_on_cookie_path: fields::checked_string(
            f,
            "hash_on_cookie_path",
            validate::service_path,
            sink,
        )
        .unwrap_or_else(|| "/".into()),
        hash_on_query_arg: f.string("hash_on_query_arg", sink),
        hash_fallback_query_arg: f.string("hash_fallback_query_arg", sink),
        hash_on_uri_capture: f.string("hash_on_uri_capture", sink),
        hash_fallback_uri_capture: f.string("hash_fallback_uri_capture", sink),
        hash_on,
        hash_fallback,
        slots: f.integer("slots", 10, 65536, 10000, sink) as u32,
        healthchecks: match f.value("healthchecks") {
            Some(v @ Value::Object(_)) => Some(v.clone()),
            Some(_) => {
                sink.error(f.at("healthchecks"), "expected a record");
                None
            }
            None => None,
        },
        host_header: fields::checked_string(
            f,
            "host_header",
            |h| validate::service_host(h).map(|_| ()),
            sink,
        ),
        // A reference, resolved by the collector.
        client_certificate_id: None,
        use_srv_name: f.boolean("use_srv_name", false, sink),
        tags: fields::tags(f, sink),
        targets: Vec::new(),
    };
    check_hashing(&u, f, sink);
    u
}

/// Kong's entity checks tying `hash_on` / `hash_fallback` to the fields they need.
fn check_hashing(u: &Upstream, f: &Fields, sink: &mut Sink) {
    let needs = [
        (
            "header",
            ("hash_on_header", &u.hash_on_header),
            ("hash_fallback_header", &u.hash_fallback_header),
        ),
        (
            "cookie",
            ("hash_on_cookie", &u.hash_on_cookie),
            ("hash_on_cookie", &u.hash_on_cookie),
        ),
        (
            "query_arg",
            ("hash_on_query_arg", &u.hash_on_query_arg),
            ("hash_fallback_query_arg", &u.hash_fallback_query_arg),
        ),
        (
            "uri_capture",
            ("hash_on_uri_capture", &u.hash_on_uri_capture),
            ("hash_fallback_uri_capture", &u.hash_fallback_uri_capture),
        ),
    ];
    for (mode, on, fallback) in needs {
        for (value, (field, set)) in [(&u.hash_on, on), (&u.hash_fallback, fallback)] {
            if value == mode && set.is_none() {
                sink.error(f.at(field), "required field missing");
            }
        }
    }
    if (u.hash_on == "none" || u.hash_on == "cookie") && u.hash_fallback != "none" {
        sink.error(f.at("hash_fallback"), "expected one of: none");
    }
    if u.algorithm == "least-connections" && u.hash_on != "none" {
        sink.error(
            f.at("hash_on"),
            "value must be none when algorithm is 'least-connections'",
        );
    }
}

/// A target and its `target` field as written (Kong's id key uses the raw text).
pub(crate) fn read_target(f: &mut Fields, sink: &mut Sink) -> (Target, Option<String>) {
    let raw = f.required_string("target", sink);
    let parsed = raw.as_deref().and_then(|r| match validate::host_port(r) {
        Ok(hp) => Some(hp),
        Err(_) => {
            sink.error(
                f.at("target"),
                format!("Invalid target ('{r}'); not a valid hostname or ip address"),
            );
            None
        }
    });
    let (host, port, target) = match parsed {
        Some(hp) => {
            let port = hp.port.unwrap_or(8000);
            let target = match hp.kind {
                HostKind::Ipv6 => format!("[{}]:{port}", hp.host),
                _ => format!("{}:{port}", hp.host),
            };
            (hp.host, port, target)
        }
        None => (String::new(), 8000, String::new()),
    };
    let t = Target {
        id: Uuid::nil(),
        upstream_id: Uuid::nil(),
        target,
        host,
        port,
        weight: f.integer("weight", 0, 65535, 100, sink) as u16,
        tags: fields::tags(f, sink),
    };
    (t, raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run<T>(
        v: serde_json::Value,
        read: impl Fn(&mut Fields, &mut Sink) -> T,
    ) -> (T, Vec<String>) {
        let mut sink = Sink::new("k");
        let mut f = Fields::new(&v, "x[0]".into(), &mut sink).unwrap();
        let out = read(&mut f, &mut sink);
        f.finish(&mut sink);
        (
            out,
            sink.into_errors().iter().map(ToString::to_string).collect(),
        )
    }

    #[test]
    fn upstream_defaults() {
        let (u, errors) = run(json!({"name": "backend"}), read_upstream);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            (
                u.algorithm.as_str(),
                u.hash_on.as_str(),
                u.hash_fallback.as_str()
            ),
            ("round-robin", "none", "none")
        );
        assert_eq!(
            (u.slots, u.hash_on_cookie_path.as_str(), u.use_srv_name),
            (10000, "/", false)
        );
        assert_eq!(u.healthchecks, None);
    }

    #[test]
    fn upstream_fields_and_raw_healthchecks() {
        let (u, errors) = run(
            json!({
                "name": "backend", "algorithm": "consistent-hashing", "hash_on": "header",
                "hash_on_header": "X-User", "hash_fallback": "ip", "slots": 100,
                "healthchecks": {"active": {"healthy": {"interval": 5}}}, "host_header": "api.internal",
                "tags": ["lb"]
            }),
            read_upstream,
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(u.hash_on_header.as_deref(), Some("X-User"));
        assert_eq!(
            u.healthchecks,
            Some(json!({"active": {"healthy": {"interval": 5}}}))
        );
        assert_eq!(u.host_header.as_deref(), Some("api.internal"));
    }

    #[test]
    fn upstream_errors() {
        let (_, errors) = run(
            json!({"name": "10.0.0.1", "algorithm": "random", "hash_on": "header", "slots": 5}),
            read_upstream,
        );
        assert_eq!(
            errors,
            vec![
                "k: x[0].name: Invalid name ('10.0.0.1'); no ip addresses allowed",
                "k: x[0].algorithm: expected one of: round-robin, consistent-hashing, least-connections, latency",
                "k: x[0].slots: value should be between 10 and 65536",
                "k: x[0].hash_on_header: required field missing",
            ]
        );
        let (_, errors) = run(json!({"hash_fallback": "ip"}), read_upstream);
        assert_eq!(
            errors,
            vec![
                "k: x[0].name: required field missing",
                "k: x[0].hash_fallback: expected one of: none",
            ]
        );
    }

    #[test]
    fn targets() {
        let ((t, raw), errors) = run(json!({"target": "10.0.0.1"}), read_target);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            (t.target.as_str(), t.host.as_str(), t.port, t.weight),
            ("10.0.0.1:8000", "10.0.0.1", 8000, 100)
        );
        assert_eq!(raw.as_deref(), Some("10.0.0.1"));
        let ((t, _), _) = run(json!({"target": "[::1]:81", "weight": 0}), read_target);
        assert_eq!(
            (t.target.as_str(), t.host.as_str(), t.port, t.weight),
            ("[::1]:81", "::1", 81, 0)
        );
        let ((t, _), _) = run(json!({"target": "backend.internal:9000"}), read_target);
        assert_eq!(t.target, "backend.internal:9000");
        let (_, errors) = run(json!({"target": "bad host", "weight": 70000}), read_target);
        assert_eq!(
            errors,
            vec![
                "k: x[0].target: Invalid target ('bad host'); not a valid hostname or ip address",
                "k: x[0].weight: value should be between 0 and 65535",
            ]
        );
    }
}
