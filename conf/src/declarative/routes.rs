//! `routes` fields, with the checks of Kong's `traditional_compatible` route schema and its
//! `http` / `grpc` subschemas.

use super::fields::{self, Fields, Sink};
use super::model::{PathHandling, Protocol, Route};
use super::{uri, validate};
use serde_json::Value;
use std::collections::BTreeMap;
use uuid::Uuid;

/// `legacy_paths`: the file is `_format_version` 1.1 or 2.1, whose regex paths lack the `~`.
pub(crate) fn read(f: &mut Fields, sink: &mut Sink, legacy_paths: bool) -> Route {
    let name = fields::checked_string(f, "name", validate::utf8_name, sink);
    let protocols = protocols(f, sink);
    let grpc = protocols
        .iter()
        .any(|p| matches!(p, Protocol::Grpc | Protocol::Grpcs));
    let methods = fields::checked_strings(f, "methods", validate::method, sink);
    let hosts = fields::checked_strings(f, "hosts", validate::route_host, sink);
    let paths = paths(f, sink, legacy_paths);
    let headers = headers(f, sink);
    let snis = fields::checked_strings(f, "snis", validate::sni, sink);
    for stream_only in ["sources", "destinations"] {
        if f.value(stream_only).is_some() {
            sink.error(
                f.at(stream_only),
                "only stream routes take this field, and Sluice has none",
            );
        }
    }
    if !snis.is_empty()
        && !protocols
            .iter()
            .any(|p| matches!(p, Protocol::Https | Protocol::Grpcs))
    {
        sink.error(
            f.at("snis"),
            "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'",
        );
    }
    if grpc && !methods.is_empty() {
        sink.error(
            f.at("methods"),
            "cannot set 'methods' when 'protocols' is 'grpc' or 'grpcs'",
        );
    }
    if methods.is_empty()
        && hosts.is_empty()
        && headers.is_empty()
        && paths.is_empty()
        && snis.is_empty()
    {
        let which = if grpc {
            "'grpc' or 'grpcs'"
        } else {
            "'http' or 'https'"
        };
        sink.error(
            f.path(),
            format!("must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is {which}"),
        );
    }
    let strip_path = f.boolean("strip_path", !grpc, sink);
    if grpc && strip_path {
        sink.error(
            f.at("strip_path"),
            "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'",
        );
    }
    let redirect = f.integer("https_redirect_status_code", i64::MIN, i64::MAX, 426, sink);
    if ![426, 301, 302, 307, 308].contains(&redirect) {
        sink.error(
            f.at("https_redirect_status_code"),
            "expected one of: 426, 301, 302, 307, 308",
        );
    }
    let path_handling = match f
        .one_of("path_handling", &["v0", "v1"], "v0", sink)
        .as_str()
    {
        "v1" => PathHandling::V1,
        _ => PathHandling::V0,
    };
    Route {
        id: Uuid::nil(),
        name,
        service_id: None,
        protocols,
        methods,
        hosts,
        paths,
        headers,
        https_redirect_status_code: redirect as u16,
        regex_priority: f.integer("regex_priority", i64::MIN, i64::MAX, 0, sink),
        strip_path,
        path_handling,
        preserve_host: f.boolean("preserve_host", false, sink),
        request_buffering: f.boolean("request_buffering", true, sink),
        response_buffering: f.boolean("response_buffering", true, sink),
        snis,
        tags: fields::tags(f, sink),
    }
}

fn protocols(f: &mut Fields, sink: &mut Sink) -> Vec<Protocol> {
    if !f.has("protocols") {
        f.value("protocols");
        return vec![Protocol::Http, Protocol::Https];
    }
    let path = f.at("protocols");
    let names = f.strings("protocols", sink);
    if names.is_empty() {
        sink.error(&path, "length must be at least 1");
    }
    let mut protocols: Vec<Protocol> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        match Protocol::parse_supported(name) {
            Ok(p) if !protocols.contains(&p) => protocols.push(p),
            Ok(_) => {}
            Err(message) => sink.error(format!("{path}[{i}]"), message),
        }
    }
    let http = protocols
        .iter()
        .any(|p| matches!(p, Protocol::Http | Protocol::Https));
    let grpc = protocols
        .iter()
        .any(|p| matches!(p, Protocol::Grpc | Protocol::Grpcs));
    if http && grpc {
        sink.error(
            &path,
            "these sets are mutually exclusive: ('http', 'https'), ('grpc', 'grpcs')",
        );
    }
    protocols
}

fn paths(f: &mut Fields, sink: &mut Sink, legacy: bool) -> Vec<String> {
    let path = f.at("paths");
    let paths: Vec<String> = f
        .strings("paths", sink)
        .into_iter()
        .map(|p| {
            if legacy {
                uri::migrate_legacy_path(&p)
            } else {
                p
            }
        })
        .collect();
    for (i, p) in paths.iter().enumerate() {
        if let Err(message) = validate::router_path(p) {
            sink.error(format!("{path}[{i}]"), message);
        }
    }
    paths
}

fn headers(f: &mut Fields, sink: &mut Sink) -> BTreeMap<String, Vec<String>> {
    let path = f.at("headers");
    let mut headers = BTreeMap::new();
    let map = match f.value("headers") {
        None => return headers,
        Some(Value::Object(map)) => map,
        Some(_) => {
            sink.error(path, "expected a map");
            return headers;
        }
    };
    for (name, values) in map {
        let at = format!("{path}.{name}");
        if name.eq_ignore_ascii_case("host") {
            sink.error(
                &at,
                "cannot contain 'host' header, which must be specified in the 'hosts' attribute",
            );
        } else if let Err(message) = validate::header_name(name) {
            sink.error(&at, message);
        }
        match values {
            Value::Array(items) => {
                headers.insert(
                    name.clone(),
                    fields::strings_at(items, &at, |_| Ok(()), sink),
                );
            }
            _ => sink.error(&at, "expected an array"),
        }
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn route(v: serde_json::Value, legacy: bool) -> (Route, Vec<String>) {
        fields::read_record(&v, "routes[0]", |f, sink| read(f, sink, legacy))
    }

    #[test]
    fn kong_defaults() {
        let (r, errors) = route(json!({"paths": ["/"]}), false);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(r.protocols, vec![Protocol::Http, Protocol::Https]);
        assert!(r.strip_path && !r.preserve_host && r.request_buffering && r.response_buffering);
        assert_eq!(
            (
                r.regex_priority,
                r.https_redirect_status_code,
                r.path_handling
            ),
            (0, 426, PathHandling::V0)
        );
    }

    #[test]
    fn every_matching_field() {
        let (r, errors) = route(
            json!({
                "name": "r1", "protocols": ["https"], "methods": ["GET", "POST"],
                "hosts": ["*.example.com", "api.example.com:8443"],
                "paths": ["/api", "~/v(?<ver>\\d+)/items$"],
                "headers": {"X-Version": ["1", "2"]}, "snis": ["api.example.com"],
                "strip_path": false, "preserve_host": true, "regex_priority": 9007199254740992_i64,
                "https_redirect_status_code": 301, "path_handling": "v1",
                "request_buffering": false, "response_buffering": false, "tags": ["t"]
            }),
            false,
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(r.methods, vec!["GET", "POST"]);
        assert_eq!(r.hosts.len(), 2);
        assert_eq!(r.paths, vec!["/api", "~/v(?<ver>\\d+)/items$"]);
        assert_eq!(r.headers["X-Version"], vec!["1", "2"]);
        assert_eq!(r.snis, vec!["api.example.com"]);
        assert!(!r.strip_path && r.preserve_host && !r.request_buffering && !r.response_buffering);
        assert_eq!(
            (
                r.regex_priority,
                r.https_redirect_status_code,
                r.path_handling
            ),
            (9007199254740992, 301, PathHandling::V1)
        );
    }

    #[test]
    fn legacy_paths_are_migrated() {
        let (r, errors) = route(json!({"paths": ["/users/\\d+", "/plain/./x"]}), true);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(r.paths, vec!["~/users/\\d+", "/plain/x"]);
    }

    #[test]
    fn grpc_routes() {
        let (r, errors) = route(
            json!({"protocols": ["grpc"], "paths": ["/svc.Greeter/"]}),
            false,
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert!(!r.strip_path);
        let (_, errors) = route(
            json!({"protocols": ["grpc"], "methods": ["GET"], "strip_path": true}),
            false,
        );
        assert_eq!(
            errors,
            vec![
                "k: routes[0].methods: cannot set 'methods' when 'protocols' is 'grpc' or 'grpcs'",
                "k: routes[0].strip_path: cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'",
            ]
        );
    }

    #[test]
    fn errors() {
        let (_, errors) = route(
            json!({
                "protocols": ["http", "grpc", "tcp", "gopher"], "methods": ["get"],
                "hosts": ["a.*.com"], "paths": ["api", "/a//b", "/x/../y"],
                "headers": {"Host": ["x"], "bad header": ["y"], "X-Ok": "z"},
                "snis": ["a.com"], "sources": [{"ip": "10.0.0.1"}],
                "https_redirect_status_code": 200, "path_handling": "v2", "expression": "x"
            }),
            false,
        );
        assert_eq!(
            errors,
            vec![
                "k: routes[0].protocols[2]: protocol 'tcp' is not supported by Sluice",
                "k: routes[0].protocols[3]: expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp, ws, wss",
                "k: routes[0].protocols: these sets are mutually exclusive: ('http', 'https'), ('grpc', 'grpcs')",
                "k: routes[0].methods[0]: invalid value: get",
                "k: routes[0].hosts[0]: invalid wildcard: must be placed at leftmost or rightmost label",
                "k: routes[0].paths[0]: should start with: / (fixed path) or ~/ (regex path)",
                "k: routes[0].paths[1]: must not have empty segments",
                "k: routes[0].paths[2]: non-normalized path, consider use '/y' instead",
                "k: routes[0].headers.Host: cannot contain 'host' header, which must be specified in the 'hosts' attribute",
                "k: routes[0].headers.X-Ok: expected an array",
                "k: routes[0].headers.bad header: bad header name 'bad header', allowed characters are A-Z, a-z, 0-9, '_', and '-'",
                "k: routes[0].sources: only stream routes take this field, and Sluice has none",
                "k: routes[0].snis: 'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'",
                "k: routes[0].methods: cannot set 'methods' when 'protocols' is 'grpc' or 'grpcs'",
                "k: routes[0].https_redirect_status_code: expected one of: 426, 301, 302, 307, 308",
                "k: routes[0].path_handling: expected one of: v0, v1",
                "k: routes[0].expression: unknown field",
            ]
        );
        let (_, errors) = route(json!({"protocols": []}), false);
        assert_eq!(
            errors,
            vec![
                "k: routes[0].protocols: length must be at least 1",
                "k: routes[0]: must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'http' or 'https'",
            ]
        );
    }
}
