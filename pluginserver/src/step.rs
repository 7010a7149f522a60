//! How a PDK result travels back to the plugin: which `plugin.Step*` carries it and how
//! its value is shaped, as Kong's `mp_rpc.lua` does (`get_step_method`, `must_fix`).
//!
//! Go servers decode `Data` into a typed struct chosen by the Step method, so a header map
//! sent with plain `plugin.Step` fails there; Python and JS treat every `Step*` alike.

use rmpv::Value;

/// The PDK functions that never return: Kong sends nothing back and the event ends.
const TERMINAL_METHODS: [&str; 2] = ["kong.response.exit", "kong.response.error"];

/// True for `kong.response.exit` and `kong.response.error`.
pub fn is_terminal(pdk_method: &str) -> bool {
    TERMINAL_METHODS.contains(&pdk_method)
}

/// The `plugin.Step*` method that carries a successful result of `pdk_method`.
pub fn step_method(pdk_method: &str) -> &'static str {
    match pdk_method {
        "kong.client.get_credential" | "kong.client.authenticate" => "plugin.StepCredential",
        "kong.client.load_consumer" | "kong.client.get_consumer" => "plugin.StepConsumer",
        "kong.node.get_memory_stats" => "plugin.StepMemoryStats",
        "kong.router.get_route" => "plugin.StepRoute",
        "kong.router.get_service" => "plugin.StepService",
        m if is_multimap(m) => "plugin.StepMultiMap",
        _ => "plugin.Step",
    }
}

/// Shapes a result the way Kong's encoder would send it for `pdk_method`.
pub fn shape(pdk_method: &str, value: Value) -> Value {
    if is_multimap(pdk_method) {
        fix_multimap(value)
    } else if is_raw_body(pdk_method) {
        fix_raw(value)
    } else {
        value
    }
}

fn is_multimap(pdk_method: &str) -> bool {
    matches!(
        pdk_method,
        "kong.request.get_query"
            | "kong.request.get_headers"
            | "kong.response.get_headers"
            | "kong.service.response.get_headers"
    )
}

fn is_raw_body(pdk_method: &str) -> bool {
    matches!(
        pdk_method,
        "kong.request.get_raw_body"
            | "kong.response.get_raw_body"
            | "kong.service.response.get_raw_body"
    )
}

/// Every value becomes a list of strings (`map[string][]string` in Go): a single string
/// becomes `[s]` and `true` (a query flag without value) becomes `[]`.
fn fix_multimap(value: Value) -> Value {
    match value {
        // An empty Lua table encodes as an array; a multimap is a map even when empty.
        Value::Array(items) if items.is_empty() => Value::Map(Vec::new()),
        Value::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::Boolean(true) => Value::Array(Vec::new()),
                        s @ (Value::String(_) | Value::Binary(_)) => Value::Array(vec![s]),
                        other => other,
                    };
                    (k, v)
                })
                .collect(),
        ),
        other => other,
    }
}

/// Raw bodies go out as msgpack `bin`, whatever their bytes.
fn fix_raw(value: Value) -> Value {
    match value {
        Value::String(s) => Value::Binary(s.into_bytes()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_steps_follow_kong_table() {
        let cases = [
            ("kong.client.get_credential", "plugin.StepCredential"),
            ("kong.client.authenticate", "plugin.StepCredential"),
            ("kong.client.load_consumer", "plugin.StepConsumer"),
            ("kong.client.get_consumer", "plugin.StepConsumer"),
            ("kong.node.get_memory_stats", "plugin.StepMemoryStats"),
            ("kong.router.get_route", "plugin.StepRoute"),
            ("kong.router.get_service", "plugin.StepService"),
            ("kong.request.get_query", "plugin.StepMultiMap"),
            ("kong.request.get_headers", "plugin.StepMultiMap"),
            ("kong.response.get_headers", "plugin.StepMultiMap"),
            ("kong.service.response.get_headers", "plugin.StepMultiMap"),
            ("kong.request.get_header", "plugin.Step"),
            ("kong.log.serialize", "plugin.Step"),
        ];
        for (pdk, step) in cases {
            assert_eq!(step_method(pdk), step, "{pdk}");
        }
    }

    #[test]
    fn multimaps_are_lists_of_strings() {
        let headers = Value::Map(vec![
            ("host".into(), "example.com".into()),
            (
                "accept".into(),
                Value::Array(vec!["a/b".into(), "c/d".into()]),
            ),
            ("flag".into(), true.into()),
        ]);
        let expected = Value::Map(vec![
            ("host".into(), Value::Array(vec!["example.com".into()])),
            (
                "accept".into(),
                Value::Array(vec!["a/b".into(), "c/d".into()]),
            ),
            ("flag".into(), Value::Array(vec![])),
        ]);
        assert_eq!(shape("kong.request.get_query", headers), expected);
        let empty = shape("kong.request.get_headers", Value::Array(vec![]));
        assert_eq!(empty, Value::Map(vec![]));
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, &empty).unwrap();
        assert_eq!(bytes, [0x80], "an empty multimap is a map, not an array");
    }

    #[test]
    fn raw_bodies_are_binary() {
        assert_eq!(
            shape("kong.request.get_raw_body", "abc".into()),
            Value::Binary(b"abc".to_vec())
        );
        assert_eq!(shape("kong.request.get_raw_body", Value::Nil), Value::Nil);
        assert_eq!(
            shape("kong.request.get_header", "abc".into()),
            Value::from("abc")
        );
    }

    #[test]
    fn terminal_methods() {
        assert!(is_terminal("kong.response.exit"));
        assert!(is_terminal("kong.response.error"));
        assert!(!is_terminal("kong.response.set_header"));
    }
}
