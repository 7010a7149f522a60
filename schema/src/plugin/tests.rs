//! Schemas in the shape of Kong's bundled ones, loaded on a real VM with `install`'d typedefs.

use super::*;
use serde_json::json;

fn vm() -> Lua {
    let lua = Lua::new();
    crate::install(&lua).expect("install");
    lua
}

fn load(lua: &Lua, plugin: &str, source: &str) -> Result<PluginSchema, SchemaError> {
    let table: Table = lua.load(source).eval().expect("schema.lua runs");
    PluginSchema::from_lua(lua, plugin, table)
}

fn with_config(config: Value) -> PluginEntity {
    PluginEntity {
        config: Some(config),
        ..PluginEntity::default()
    }
}

/// The errors as `path: message` lines.
fn errors(schema: &PluginSchema, entity: &PluginEntity) -> Vec<String> {
    match schema.validate(entity) {
        Ok(v) => panic!("expected errors, got {v:?}"),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

const RATE_LIMITING: &str = r#"
local typedefs = require "kong.db.schema.typedefs"

local ORDERED_PERIODS = { "second", "minute", "hour", "day", "month", "year" }

local function validate_periods_order(config)
  for i, lower_period in ipairs(ORDERED_PERIODS) do
    local v1 = config[lower_period]
    if type(v1) == "number" then
      for j = i + 1, #ORDERED_PERIODS do
        local upper_period = ORDERED_PERIODS[j]
        local v2 = config[upper_period]
        if type(v2) == "number" and v2 < v1 then
          return nil, string.format("The limit for %s(%.1f) cannot be lower than the limit for %s(%.1f)",
                                    upper_period, v2, lower_period, v1)
        end
      end
    end
  end
  return true
end

return {
  name = "rate-limiting",
  fields = {
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { second = { type = "number", gt = 0 } },
          { minute = { type = "number", gt = 0 } },
          { hour = { type = "number", gt = 0 } },
          { day = { type = "number", gt = 0 } },
          { month = { type = "number", gt = 0 } },
          { year = { type = "number", gt = 0 } },
          { limit_by = { type = "string", default = "consumer",
              one_of = { "consumer", "credential", "ip", "service", "header", "path" } } },
          { header_name = typedefs.header_name },
          { path = typedefs.path },
          { policy = { type = "string", default = "local", len_min = 0,
              one_of = { "local", "cluster", "redis" } } },
          { fault_tolerant = { type = "boolean", required = true, default = true } },
          { redis = {
              type = "record",
              fields = {
                { host = typedefs.host },
                { port = typedefs.port({ default = 6379 }) },
                { timeout = typedefs.timeout { default = 2000 } },
                { password = { type = "string", len_min = 0, referenceable = true } },
                { database = { type = "integer", default = 0 } },
                { ssl = { type = "boolean", required = true, default = false } },
              },
          } },
          { hide_client_headers = { type = "boolean", required = true, default = false } },
          { error_code = { type = "number", default = 429, gt = 0 } },
          { error_message = { type = "string", default = "API rate limit exceeded" } },
        },
        custom_validator = validate_periods_order,
        shorthand_fields = {
          { redis_host = {
              type = "string",
              deprecation = { message = "rate-limiting: config.redis_host is deprecated, please use config.redis.host instead" },
              func = function(value) return { redis = { host = value } } end,
          } },
          { redis_port = {
              type = "integer",
              func = function(value) return { redis = { port = value } } end,
          } },
        },
      },
    },
  },
  entity_checks = {
    { at_least_one_of = { "config.second", "config.minute", "config.hour", "config.day", "config.month", "config.year" } },
    { conditional = {
      if_field = "config.policy", if_match = { eq = "redis" },
      then_field = "config.redis.host", then_match = { required = true },
    } },
    { conditional = {
      if_field = "config.limit_by", if_match = { eq = "header" },
      then_field = "config.header_name", then_match = { required = true },
    } },
  },
}
"#;

#[test]
fn rate_limiting_defaults_are_filled_down_to_nested_records() {
    let lua = vm();
    let schema = load(&lua, "rate-limiting", RATE_LIMITING).unwrap();
    let valid = schema.validate(&with_config(json!({"minute": 5}))).unwrap();
    assert_eq!(
        valid.config,
        json!({
            "second": null, "minute": 5, "hour": null, "day": null, "month": null, "year": null,
            "limit_by": "consumer", "header_name": null, "path": null, "policy": "local",
            "fault_tolerant": true,
            "redis": {"host": null, "port": 6379, "timeout": 2000, "password": null,
                      "database": 0, "ssl": false},
            "hide_client_headers": false, "error_code": 429,
            "error_message": "API rate limit exceeded",
        })
    );
    assert_eq!(valid.protocols, vec!["grpc", "grpcs", "http", "https"]);
    assert_eq!(
        valid.conf(),
        json!({
            "minute": 5, "limit_by": "consumer", "policy": "local", "fault_tolerant": true,
            "redis": {"port": 6379, "timeout": 2000, "database": 0, "ssl": false},
            "hide_client_headers": false, "error_code": 429,
            "error_message": "API rate limit exceeded",
        })
    );
    assert_eq!(schema.restrictions(), Restrictions::default());
}

#[test]
fn rate_limiting_errors_use_kongs_messages() {
    let lua = vm();
    let schema = load(&lua, "rate-limiting", RATE_LIMITING).unwrap();
    assert_eq!(
        errors(
            &schema,
            &with_config(json!({"minute": "10", "second": 0, "policy": "disk", "bogus": 1}))
        ),
        vec![
            "config.second: value must be greater than 0",
            "config.minute: expected a number",
            "config.policy: expected one of: local, cluster, redis",
            "config.bogus: unknown field",
        ]
    );
    assert_eq!(
        errors(&schema, &with_config(json!({}))),
        vec![
            "@entity: at least one of these fields must be non-empty: 'config.second', \
             'config.minute', 'config.hour', 'config.day', 'config.month', 'config.year'"
        ]
    );
    assert_eq!(
        errors(
            &schema,
            &with_config(json!({"minute": 1, "redis": {"port": 70000, "database": 1.5}}))
        ),
        vec![
            "config.redis.port: value should be between 0 and 65535",
            "config.redis.database: expected an integer",
        ]
    );
}

#[test]
fn custom_validators_and_conditionals_run() {
    let lua = vm();
    let schema = load(&lua, "rate-limiting", RATE_LIMITING).unwrap();
    assert_eq!(
        errors(&schema, &with_config(json!({"second": 10, "minute": 5}))),
        vec!["config: The limit for minute(5.0) cannot be lower than the limit for second(10.0)"]
    );
    assert_eq!(
        errors(
            &schema,
            &with_config(json!({"minute": 5, "policy": "redis"}))
        ),
        vec![
            "config.redis.host: required field missing",
            "@entity: failed conditional validation given value of field 'config.policy'",
        ]
    );
    assert_eq!(
        errors(
            &schema,
            &with_config(json!({"minute": 5, "policy": "redis", "redis": {"host": "a b"}}))
        ),
        vec![
            "config.redis.host: invalid value: a b",
            // `then_match` carries the field's own validators, so the conditional fails too.
            "@entity: failed conditional validation given value of field 'config.policy'",
        ]
    );
    let ok = schema
        .validate(&with_config(
            json!({"minute": 5, "policy": "redis", "redis": {"host": "redis.local"}}),
        ))
        .unwrap();
    assert_eq!(ok.config["redis"]["host"], "redis.local");
}

#[test]
fn shorthand_fields_map_onto_new_fields() {
    let lua = vm();
    let schema = load(&lua, "rate-limiting", RATE_LIMITING).unwrap();
    let valid = schema
        .validate(&with_config(
            json!({"minute": 5, "redis_host": "old.local", "redis_port": 7000}),
        ))
        .unwrap();
    assert_eq!(valid.config["redis"]["host"], "old.local");
    assert_eq!(valid.config["redis"]["port"], 7000);
    assert!(valid.config.get("redis_host").is_none());
    // A deprecated shorthand does not override the new name.
    let valid = schema
        .validate(&with_config(
            json!({"minute": 5, "redis_host": "old.local", "redis": {"host": "new.local"}}),
        ))
        .unwrap();
    assert_eq!(valid.config["redis"]["host"], "new.local");
    assert_eq!(
        errors(
            &schema,
            &with_config(json!({"minute": 5, "redis_port": "x"}))
        ),
        vec!["config.redis_port: expected an integer"]
    );
}

const KEY_AUTH: &str = r#"
local typedefs = require "kong.db.schema.typedefs"

return {
  name = "key-auth",
  fields = {
    { consumer = typedefs.no_consumer },
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { key_names = { type = "array", required = true, elements = typedefs.header_name,
              default = { "apikey" } } },
          { hide_credentials = { type = "boolean", required = true, default = false } },
          { anonymous = { type = "string" } },
          { key_in_header = { type = "boolean", required = true, default = true } },
          { key_in_query = { type = "boolean", required = true, default = true } },
          { key_in_body = { type = "boolean", required = true, default = false } },
          { run_on_preflight = { type = "boolean", required = true, default = true } },
          { realm = { type = "string", required = false } },
        },
    } },
  },
}
"#;

#[test]
fn key_auth_forbids_consumer_scope() {
    let lua = vm();
    let schema = load(&lua, "key-auth", KEY_AUTH).unwrap();
    assert_eq!(
        schema.restrictions(),
        Restrictions {
            no_consumer: true,
            ..Restrictions::default()
        }
    );
    let scoped = PluginEntity {
        consumer: Some("8f5a3c7e-0000-4000-8000-000000000001".into()),
        route: Some("8f5a3c7e-0000-4000-8000-000000000002".into()),
        ..PluginEntity::default()
    };
    assert_eq!(
        errors(&schema, &scoped),
        vec!["consumer: value must be null"]
    );
    let valid = schema.validate(&PluginEntity::default()).unwrap();
    assert_eq!(valid.config["key_names"], json!(["apikey"]));
    assert_eq!(valid.config["anonymous"], Value::Null);
    assert_eq!(
        errors(
            &schema,
            &with_config(json!({"key_names": ["apikey", "bad name", ""]}))
        ),
        vec![
            "config.key_names[1]: bad header name 'bad name', allowed characters are A-Z, \
             a-z, 0-9, '_', and '-'",
            "config.key_names[2]: length must be at least 1",
        ]
    );
    assert_eq!(
        errors(&schema, &with_config(json!({"key_names": null}))),
        vec!["config.key_names: required field missing"]
    );
}

#[test]
fn protocols_and_ordering_are_checked() {
    let lua = vm();
    let schema = load(&lua, "key-auth", KEY_AUTH).unwrap();
    let entity = PluginEntity {
        protocols: Some(json!(["https", "tcp", "https"])),
        ordering: Some(
            json!({"before": {"access": ["rate-limiting"]}, "after": {"rewrite": ["x"]}}),
        ),
        ..PluginEntity::default()
    };
    assert_eq!(
        errors(&schema, &entity),
        vec![
            "protocols[1]: expected one of: grpc, grpcs, http, https",
            "ordering.after: expected one of: access",
        ]
    );
    let entity = PluginEntity {
        protocols: Some(json!(["https", "http", "https"])),
        ordering: Some(json!({"before": {"access": ["rate-limiting"]}})),
        ..PluginEntity::default()
    };
    assert_eq!(
        schema.validate(&entity).unwrap().protocols,
        vec!["https", "http"]
    );
    let entity = PluginEntity {
        protocols: Some(json!([])),
        ordering: Some(json!({"before": {"access": "rate-limiting"}})),
        ..PluginEntity::default()
    };
    assert_eq!(
        errors(&schema, &entity),
        vec!["ordering.before.access: expected an array"]
    );
}

const REQUEST_TRANSFORMER: &str = r#"
local typedefs = require "kong.db.schema.typedefs"

local strings_array = { type = "array", default = {}, required = true, elements = { type = "string" } }
local headers_array = { type = "array", default = {}, required = true, elements = typedefs.header_name }

local function colon_strings(name)
  return { type = "array", default = {}, required = true,
           elements = { type = "string", match = "^[^:]+:.*$" } }
end

return {
  name = "request-transformer",
  fields = {
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { http_method = typedefs.http_method },
          { remove = { type = "record", fields = {
              { body = strings_array }, { headers = headers_array }, { querystring = strings_array },
          } } },
          { add = { type = "record", fields = {
              { body = colon_strings() }, { headers = colon_strings() }, { querystring = colon_strings() },
          } } },
        },
    } },
  },
}
"#;

#[test]
fn request_transformer_nested_defaults_and_patterns() {
    let lua = vm();
    let schema = load(&lua, "request-transformer", REQUEST_TRANSFORMER).unwrap();
    let valid = schema.validate(&PluginEntity::default()).unwrap();
    assert_eq!(
        valid.config,
        json!({
            "http_method": null,
            "remove": {"body": [], "headers": [], "querystring": []},
            "add": {"body": [], "headers": [], "querystring": []},
        })
    );
    assert_eq!(
        errors(
            &schema,
            &with_config(json!({"http_method": "get", "add": {"headers": ["x-a:1", "nocolon"]}}))
        ),
        vec![
            "config.http_method: invalid value: get",
            "config.add.headers[1]: invalid value: nocolon",
        ]
    );
    // `{}` from JSON is an empty array where an array is expected, as with cjson.
    let valid = schema
        .validate(&with_config(json!({"remove": {"body": {}}})))
        .unwrap();
    assert_eq!(valid.config["remove"]["body"], json!([]));
}

const CORS: &str = r#"
local typedefs = require "kong.db.schema.typedefs"
local is_regex = require("kong.db.schema").validators.is_regex

local METHODS = { "GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT" }

local function validate_asterisk_or_regex(value)
  if value == "*" or is_regex(value) then
    return true
  end
  return nil, string.format("'%s' is not a valid regex", tostring(value))
end

return {
  name = "cors",
  fields = {
    { consumer = typedefs.no_consumer },
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { origins = { type = "array", elements = { type = "string",
              custom_validator = validate_asterisk_or_regex } } },
          { headers = { type = "array", elements = { type = "string" } } },
          { exposed_headers = { type = "array", elements = { type = "string" } } },
          { methods = { type = "array", default = METHODS,
              elements = { type = "string", one_of = METHODS } } },
          { max_age = { type = "number" } },
          { credentials = { type = "boolean", required = true, default = false } },
          { private_network = { type = "boolean", required = true, default = false } },
          { preflight_continue = { type = "boolean", required = true, default = false } },
        },
    } },
  },
}
"#;

#[test]
fn cors_defaults_one_of_and_regex_validator() {
    let lua = vm();
    let schema = load(&lua, "cors", CORS).unwrap();
    let valid = schema
        .validate(&with_config(
            json!({"origins": ["*", "https://.*\\.example\\.com"]}),
        ))
        .unwrap();
    assert_eq!(valid.config["methods"].as_array().map(Vec::len), Some(9));
    assert_eq!(
        errors(&schema, &with_config(json!({"methods": ["GET", "FETCH"], "max_age": "1h"}))),
        vec![
            "config.methods[1]: expected one of: GET, HEAD, PUT, PATCH, POST, DELETE, OPTIONS, TRACE, CONNECT",
            "config.max_age: expected a number",
        ]
    );
    // With an `ngx.re` in the VM, `is_regex` asks it.
    lua.load(
        r#"ngx = { re = { match = function(_, re)
             if re:find("(", 1, true) and not re:find(")", 1, true) then return nil, "missing )" end
             return nil
           end } }"#,
    )
    .exec()
    .unwrap();
    assert_eq!(
        errors(&schema, &with_config(json!({"origins": ["(unclosed"]}))),
        vec!["config.origins[0]: '(unclosed' is not a valid regex"]
    );
}

const HTTP_LOG: &str = r#"
local typedefs = require "kong.db.schema.typedefs"

return {
  name = "http-log",
  fields = {
    { protocols = typedefs.protocols },
    { config = {
        type = "record",
        fields = {
          { http_endpoint = typedefs.url({ required = true, encrypted = true, referenceable = true }) },
          { method = { type = "string", default = "POST", one_of = { "POST", "PUT", "PATCH" } } },
          { content_type = { type = "string", default = "application/json",
              one_of = { "application/json", "application/json; charset=utf-8" } } },
          { timeout = { type = "number", default = 10000 } },
          { keepalive = { type = "number", default = 60000 } },
          { headers = { type = "map", keys = typedefs.header_name,
              values = { type = "string", referenceable = true } } },
          { queue = typedefs.queue },
          { custom_fields_by_lua = typedefs.lua_code },
        },
    } },
  },
}
"#;

#[test]
fn http_log_queue_url_maps_and_lua_code() {
    let lua = vm();
    let schema = load(&lua, "http-log", HTTP_LOG).unwrap();
    let valid = schema
        .validate(&with_config(
            json!({"http_endpoint": "http://logs.local:9000/x"}),
        ))
        .unwrap();
    assert_eq!(
        valid.config["queue"],
        json!({"max_batch_size": 1, "max_coalescing_delay": 1, "max_entries": 10000,
               "max_bytes": null, "max_retry_time": 60, "initial_retry_delay": 0.01,
               "max_retry_delay": 60, "concurrency_limit": 1})
    );
    assert_eq!(
        errors(
            &schema,
            &with_config(json!({
                "http_endpoint": "logs.local/x",
                "headers": {"X-Token": "a", "bad header": "b"},
                "queue": {"max_batch_size": 0},
                "custom_fields_by_lua": {"f": "return ("},
            }))
        ),
        vec![
            "config.http_endpoint: missing host in url",
            "config.headers: bad header name 'bad header', allowed characters are A-Z, a-z, 0-9, '_', and '-'",
            "config.queue.max_batch_size: value should be between 1 and 1000000",
            "config.custom_fields_by_lua.f: lua_code:1: unexpected symbol near '<eof>'",
        ]
    );
    assert_eq!(
        errors(&schema, &with_config(json!({}))),
        vec!["config.http_endpoint: required field missing"]
    );
    // A vault reference is accepted as it is.
    assert!(schema
        .validate(&with_config(
            json!({"http_endpoint": "{vault://env/log-url}"})
        ))
        .is_ok());
}

#[test]
fn every_entity_check() {
    let lua = vm();
    let schema = load(
        &lua,
        "checks",
        r#"
        local typedefs = require "kong.db.schema.typedefs"
        return {
          name = "checks",
          fields = {
            { config = { type = "record", fields = {
                { a = { type = "string" } }, { b = { type = "string" } },
                { c = { type = "string" } }, { d = { type = "string" } },
                { mode = { type = "string", default = "x" } },
                { allow = { type = "array", elements = typedefs.ip_or_cidr } },
                { deny = { type = "array", elements = typedefs.ip_or_cidr } },
              },
              entity_checks = {
                { only_one_of = { "a", "b" } },
                { mutually_required = { "c", "d" } },
              },
            } },
          },
          entity_checks = {
            { at_least_one_of = { "config.allow", "config.deny" } },
            { distinct = { "config.a", "config.c" } },
            { mutually_exclusive_sets = { set1 = { "config.allow" }, set2 = { "config.deny" } } },
            { conditional_at_least_one_of = {
                if_field = "config.mode", if_match = { one_of = { "y" } },
                then_at_least_one_of = { "config.d" },
                then_err = "mode y needs %s",
            } },
            { custom_entity_check = {
                field_sources = { "config.a", "config.b" },
                fn = function(entity)
                  if entity.config.a == "forbidden" then
                    return nil, "a must not be 'forbidden'"
                  end
                  return true
                end,
            } },
          },
        }
        "#,
    )
    .unwrap();
    let ok = json!({"a": "x", "allow": ["10.0.0.0/8"]});
    assert!(schema.validate(&with_config(ok)).is_ok());
    assert_eq!(
        errors(
            &schema,
            &with_config(json!({
                "a": "same", "b": "two", "c": "same", "mode": "y",
                "allow": ["10.0.0.0/8"], "deny": ["10.0.0.300"],
            }))
        ),
        vec![
            "config.deny[0]: invalid ip or cidr range: '10.0.0.300'",
            "config.@entity: only one of these fields must be non-empty: 'a', 'b'",
            "config.@entity: all or none of these fields must be set: 'c', 'd'",
            "@entity: values of these fields must be distinct: 'config.a', 'config.c'",
            "@entity: these sets are mutually exclusive: ('config.allow'), ('config.deny')",
            "@entity: mode y needs 'config.d'",
        ]
    );
    assert_eq!(
        errors(
            &schema,
            &with_config(json!({"a": "forbidden", "deny": ["::1"]}))
        ),
        vec!["@entity: a must not be 'forbidden'"]
    );
    assert_eq!(
        errors(&schema, &with_config(json!({"a": "x"}))),
        vec!["@entity: at least one of these fields must be non-empty: 'config.allow', 'config.deny'"]
    );
}

#[test]
fn lua_errors_in_validators_are_reported_not_raised() {
    let lua = vm();
    let schema = load(
        &lua,
        "boom",
        r#"return { name = "boom", fields = { { config = { type = "record", fields = {
             { x = { type = "string", custom_validator = function() error("validator exploded") end } },
           } } } } }"#,
    )
    .unwrap();
    let lines = errors(&schema, &with_config(json!({"x": "v"})));
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("config.x: ") && lines[0].ends_with("validator exploded"));
}

#[test]
fn typedefs_are_callable_and_unknown_ones_fail() {
    let lua = vm();
    let port: Table = lua
        .load(r#"return require("kong.db.schema.typedefs").port { default = 80 }"#)
        .eval()
        .unwrap();
    assert_eq!(port.get::<i64>("default").unwrap(), 80);
    assert_eq!(port.get::<String>("type").unwrap(), "integer");
    let err = lua
        .load(r#"return require("kong.db.schema.typedefs").nope"#)
        .exec()
        .unwrap_err();
    assert!(err
        .to_string()
        .contains("schema typedef error: definition nope does not exist"));
}

#[test]
fn invalid_schemas_are_refused_with_the_plugin_named() {
    let lua = vm();
    let refuse = |source: &str| load(&lua, "demo", source).unwrap_err().to_string();
    assert_eq!(
        refuse(
            r#"return { name = "demo", fields = { { config = { type = "record", fields = {
                     { x = { type = "float" } } } } } } }"#
        ),
        "plugin 'demo': invalid schema: config.x: type: expected one of: array, boolean, \
         foreign, function, integer, json, map, number, record, set, string"
    );
    assert_eq!(
        refuse(
            r#"return { name = "demo", fields = { { config = { type = "record", fields = {
                     { x = { type = "number", default = "ten" } } } } } } }"#
        ),
        "plugin 'demo': invalid schema: config.x: default: expected a number"
    );
    assert_eq!(
        refuse(r#"return { name = "demo", fields = { { config = { type = "record", fields = {
                     { x = { type = "string", between = { 1, 2 } } } } } } } }"#),
        "plugin 'demo': invalid schema: config.x: field of type 'string' cannot have attribute 'between'"
    );
    assert_eq!(
        refuse(
            r#"return { name = "demo", fields = { { config = { type = "record", fields = {
                     { x = { type = "array" } } } } } } }"#
        ),
        "plugin 'demo': invalid schema: config.x: field of type 'array' must declare 'elements'"
    );
    assert_eq!(
        refuse(
            r#"return { name = "demo", fields = { { config = { type = "record", fields = {
                     { x = { type = "string" }, y = { type = "string" } } } } } } }"#
        ),
        "plugin 'demo': invalid schema: config.fields[0]: length must be 1"
    );
    assert_eq!(
        refuse(
            r#"return { name = "demo", fields = { { config = { type = "record", fields = {
                     { x = { type = "string", requird = true } } } } } } }"#
        ),
        "plugin 'demo': invalid schema: config.x: unknown attribute 'requird'"
    );
    assert_eq!(
        refuse(r#"return { name = "demo", fields = { { config = { type = "record", fields = {
                     { x = { type = "string", match = "[a-" } } } } } } }"#),
        "plugin 'demo': invalid schema: config.x: invalid pattern '[a-': malformed pattern (missing ']')"
    );
    assert_eq!(
        refuse(r#"return { name = "demo", fields = { { protocols = { type = "string" } } } }"#),
        "plugin 'demo': invalid schema: protocols: cannot change type in a specialized field"
    );
    assert_eq!(
        refuse(r#"return { name = "demo", fields = { { extra = { type = "string" } } } }"#),
        "plugin 'demo': invalid schema: extra: cannot create a new field"
    );
    assert_eq!(
        refuse(r#"return { name = "demo", fields = {} }"#),
        "plugin 'demo': invalid schema: config: abstract field was not specialized"
    );
    assert_eq!(
        refuse(r#"return { name = "demo", fields = { { config = { type = "record", fields = {} } } },
                     entity_checks = { { at_least_one_of = { "config.nope" } } } }"#),
        "plugin 'demo': invalid schema: entity_checks[0].at_least_one_of: invalid field name: config.nope"
    );
    assert_eq!(
        refuse(r#"return { fields = { { config = { type = "record", fields = {} } } } }"#),
        "plugin 'demo': invalid schema: name: required field missing"
    );
}

#[test]
fn json_schema_from_a_plugin_server_dump() {
    // go-pdk's `-dump` (PLUGIN-PROTOCOL.md §2.3), plus what a Python plugin may declare.
    let dump = json!({
        "Protocol": "ProtoBuf:1",
        "Plugins": [{"Name": "go-hello", "Priority": 1, "Version": "0.2",
            "Schema": {"name": "go-hello", "fields": [{"config": {"type": "record", "fields": [
                {"message": {"type": "string"}},
                {"greeting": {"type": "string", "default": "hello", "match": "^%a+$"}},
                {"count": {"type": "integer", "default": 1, "between": [1, 10]}},
                {"tags": {"type": "array", "elements": {"type": "string"}, "default": []}},
            ]}}]}}]
    });
    let schema = PluginSchema::from_json("go-hello", &dump["Plugins"][0]["Schema"]).unwrap();
    assert_eq!(schema.name(), "go-hello");
    let valid = schema
        .validate(&with_config(json!({"message": "hi"})))
        .unwrap();
    assert_eq!(
        valid.config,
        json!({"message": "hi", "greeting": "hello", "count": 1, "tags": []})
    );
    assert_eq!(
        errors(
            &schema,
            &with_config(json!({"message": 1, "greeting": "hi there", "count": 11}))
        ),
        vec![
            "config.message: expected a string",
            "config.greeting: invalid value: hi there",
            "config.count: value should be between 1 and 10",
        ]
    );
    let bad = json!({"name": "x", "fields": [{"config": {"type": "record", "fields": [
        {"n": {"type": "number", "default": "1"}}]}}]});
    assert_eq!(
        PluginSchema::from_json("x", &bad).unwrap_err().to_string(),
        "plugin 'x': invalid schema: config.n: default: expected a number"
    );
}

#[test]
fn field_validators_and_custom_messages() {
    let schema = PluginSchema::from_json(
        "rules",
        &json!({"name": "rules", "fields": [{"config": {"type": "record", "fields": [
            {"id": {"type": "string", "uuid": true}},
            {"code": {"type": "string", "len_eq": 3, "not_one_of": ["AAA"]}},
            {"short": {"type": "string", "len_max": 2, "err": "keep it short"}},
            {"prefix": {"type": "string", "starts_with": "/api"}},
            {"word": {"type": "string", "match_all": [{"pattern": "^%l", "err": "lower first"}],
                      "match_none": [{"pattern": "%d"}], "not_match": "x"}},
            {"either": {"type": "string", "match_any": {"patterns": ["^a", "^b"], "err": "a or b"}}},
            {"fixed": {"type": "number", "eq": 7}},
            {"list": {"type": "array", "elements": {"type": "string"}, "contains": "must",
                      "mutually_exclusive_subsets": [["a", "must"], ["b"]]}},
            {"ts": {"type": "integer", "timestamp": true}},
            {"kv": {"type": "map", "keys": {"type": "string"}, "values": {"type": "integer"}}},
        ]}}]}),
    )
    .unwrap();
    assert_eq!(
        errors(
            &schema,
            &with_config(json!({
                "id": "not-a-uuid", "code": "AAA", "short": "long", "prefix": "/web",
                "word": "x1", "either": "c", "fixed": 8, "list": ["a", "b"], "ts": -1,
                "kv": {"a": 1, "b": "2"},
            }))
        ),
        vec![
            "config.id: expected a valid UUID",
            "config.code: must not be one of: AAA",
            "config.short: keep it short",
            "config.prefix: should start with: /api",
            "config.word: invalid value: x1",
            "config.either: a or b",
            "config.fixed: value must be 7",
            "config.list: expected to contain: must",
            "config.ts: expected a valid timestamp",
            "config.kv.b: expected an integer",
        ]
    );
    assert_eq!(
        errors(
            &schema,
            &with_config(json!({"word": "A", "list": ["must", "b"], "code": "ab"}))
        ),
        vec![
            "config.code: length must be 3",
            "config.word: lower first",
            // As in Kong, `eq` also refuses a field left unset.
            "config.fixed: value must be 7",
            "config.list: these sets are mutually exclusive: ('a', 'must'), ('b')",
        ]
    );
    assert!(schema
        .validate(&with_config(json!({
            "id": "8F5A3C7E-0000-4000-8000-000000000001", "word": "ab", "fixed": 7.0,
            "list": ["must", "a"], "ts": 1,
        })))
        .is_ok());
}

#[test]
fn typedef_path_and_version_rules() {
    let lua = vm();
    let schema = load(
        &lua,
        "paths",
        r#"local typedefs = require "kong.db.schema.typedefs"
           return { name = "paths", fields = { { config = { type = "record", fields = {
             { path = typedefs.path }, { version = typedefs.semantic_version },
             { upstream = typedefs.host_with_optional_port }, { name = typedefs.utf8_name },
           } } } } }"#,
    )
    .unwrap();
    assert_eq!(
        errors(
            &schema,
            &with_config(
                json!({"path": "/a//b", "version": "1..2", "upstream": "h:99999", "name": "a b"})
            )
        ),
        vec![
            "config.path: must not have empty segments",
            "config.version: must not have empty version segments",
            "config.upstream: invalid port number",
            "config.name: invalid value 'a b': the only accepted ascii characters are \
             alphanumerics or ., -, _, and ~",
        ]
    );
    assert_eq!(
        errors(
            &schema,
            &with_config(json!({"path": "api", "version": "v1"}))
        ),
        vec![
            "config.path: should start with: /",
            "config.version: invalid version number: must be in format of X.Y.Z",
        ]
    );
}
