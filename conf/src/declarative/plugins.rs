//! `plugins` fields. The plugin's `config` is kept as JSON: it is validated against the plugin's
//! own schema by the plugin runtime.

use super::fields::{self, Fields, Sink};
use super::model::{Plugin, Protocol};
use super::validate;
use serde_json::{Map, Value};
use uuid::Uuid;

pub(crate) fn read(f: &mut Fields, sink: &mut Sink) -> Plugin {
    let record = |f: &mut Fields, key, sink: &mut Sink| match f.value(key) {
        None => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(_) => {
            sink.error(f.at(key), "expected a record");
            None
        }
    };
    Plugin {
        id: Uuid::nil(),
        name: f.required_string("name", sink).unwrap_or_default(),
        instance_name: fields::checked_string(f, "instance_name", validate::utf8_name, sink),
        config: record(f, "config", sink).unwrap_or_else(|| Value::Object(Map::new())),
        enabled: f.boolean("enabled", true, sink),
        protocols: protocols(f, sink),
        route_id: None,
        service_id: None,
        consumer_id: None,
        consumer_group_id: None,
        ordering: record(f, "ordering", sink),
        tags: fields::tags(f, sink),
    }
}

/// Kong's default is every HTTP-subsystem protocol. Protocols Sluice does not serve are dropped:
/// the filter could never match them.
fn protocols(f: &mut Fields, sink: &mut Sink) -> Vec<Protocol> {
    if !f.has("protocols") {
        f.value("protocols");
        return Protocol::ALL.to_vec();
    }
    let path = f.at("protocols");
    let names = f.strings("protocols", sink);
    if names.is_empty() {
        sink.error(&path, "length must be at least 1");
    }
    let mut protocols = Vec::new();
    for (i, name) in names.iter().enumerate() {
        match Protocol::parse(name) {
            Ok(Some(p)) if !protocols.contains(&p) => protocols.push(p),
            Ok(_) => {}
            Err(message) => sink.error(format!("{path}[{i}]"), message),
        }
    }
    protocols
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plugin(v: serde_json::Value) -> (Plugin, Vec<String>) {
        fields::read_record(&v, "plugins[0]", read)
    }

    #[test]
    fn defaults() {
        let (p, errors) = plugin(json!({"name": "cors"}));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(p.config, json!({}));
        assert!(p.enabled);
        assert_eq!(
            p.protocols,
            vec![
                Protocol::Grpc,
                Protocol::Grpcs,
                Protocol::Http,
                Protocol::Https
            ]
        );
    }

    #[test]
    fn fields_and_dropped_protocols() {
        let (p, errors) = plugin(json!({
            "name": "rate-limiting", "instance_name": "rl-1", "config": {"minute": 10},
            "enabled": false, "protocols": ["http", "ws", "tcp"], "ordering": {"before": {"access": ["x"]}},
            "tags": ["a"]
        }));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(p.config, json!({"minute": 10}));
        assert_eq!(p.protocols, vec![Protocol::Http]);
        assert_eq!(p.instance_name.as_deref(), Some("rl-1"));
        assert!(p.ordering.is_some() && !p.enabled);
    }

    #[test]
    fn errors() {
        let (_, errors) =
            plugin(json!({"config": [1], "protocols": ["smtp"], "instance_name": "a b"}));
        assert_eq!(
            errors,
            vec![
                "k: plugins[0].name: required field missing",
                "k: plugins[0].instance_name: invalid value 'a b': the only accepted ascii characters are alphanumerics or ., -, _, and ~",
                "k: plugins[0].config: expected a record",
                "k: plugins[0].protocols[0]: expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp, ws, wss",
            ]
        );
    }
}
