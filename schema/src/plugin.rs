//! A plugin's schema laid over Kong's `plugins` entity (`kong/db/schema/entities/plugins.lua`
//! with Enterprise's `consumer_group` and `ordering`), and the validation of one plugin entry.

use crate::build::Builder;
use crate::error::{FieldError, SchemaError};
use crate::model::{Field, Kind, Record};
use crate::process::strip_nulls;
use crate::raw::Raw;
use crate::validate::Validator;
use crate::vm::Vm;
use mlua::{Lua, Table, Value as LuaValue};
use serde_json::{json, Map, Value};
use std::cell::OnceCell;
use std::fmt;

/// `kong.constants.PROTOCOLS`.
pub(crate) const PROTOCOLS: [&str; 10] = [
    "grpc",
    "grpcs",
    "http",
    "https",
    "tcp",
    "tls",
    "tls_passthrough",
    "udp",
    "ws",
    "wss",
];

/// The protocols of the HTTP subsystem: the default of every plugin's `protocols`.
pub(crate) const HTTP_PROTOCOLS: [&str; 4] = ["grpc", "grpcs", "http", "https"];

/// The entity fields a plugin entry brings to this validation. The others (`name`, `enabled`,
/// `instance_name`, `tags`, ...) are checked with the rest of the declarative config; a plugin
/// schema may still specialize them, as Kong allows.
const VALIDATED: [&str; 7] = [
    "route",
    "service",
    "consumer",
    "consumer_group",
    "config",
    "protocols",
    "ordering",
];

/// The `plugins` entity's fields; `config` is abstract: each plugin must specialize it.
fn entity_fields() -> Value {
    let foreign = |reference: &str| json!({"type": "foreign", "reference": reference});
    let ordering_phases = json!({
        "type": "map",
        "keys": {"type": "string", "one_of": ["access"]},
        "values": {"type": "array", "elements": {"type": "string"}},
    });
    json!([
        {"id": {"type": "string", "uuid": true, "auto": true}},
        {"name": {"type": "string", "required": true}},
        {"instance_name": {"type": "string"}},
        {"created_at": {"type": "integer", "timestamp": true, "auto": true}},
        {"updated_at": {"type": "integer", "timestamp": true, "auto": true}},
        {"route": foreign("routes")},
        {"service": foreign("services")},
        {"consumer": foreign("consumers")},
        {"consumer_group": foreign("consumer_groups")},
        {"config": {"type": "record", "fields": []}},
        {"protocols": {
            "type": "set",
            "required": true,
            "default": HTTP_PROTOCOLS,
            "elements": {"type": "string", "one_of": PROTOCOLS},
        }},
        {"enabled": {"type": "boolean", "required": true, "default": true}},
        {"tags": {"type": "set", "elements": {"type": "string", "required": true}}},
        {"ordering": {
            "type": "record",
            "required": false,
            "fields": [{"before": ordering_phases}, {"after": ordering_phases}],
        }},
    ])
}

/// A plugin's configuration schema, ready to validate plugin entries.
///
/// Built from a Lua schema it keeps that VM: custom validators, entity-check functions and
/// shorthand functions are called on it. Built from JSON it creates a VM of its own the first
/// time a Lua pattern has to be evaluated.
pub struct PluginSchema {
    name: String,
    record: Record,
    lua: OnceCell<Lua>,
}

/// Scopes a plugin's schema forbids (`consumer = typedefs.no_consumer`, ...). Kong ignores
/// these dimensions when it looks up which instance of the plugin applies to a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Restrictions {
    pub no_route: bool,
    pub no_service: bool,
    pub no_consumer: bool,
    pub no_consumer_group: bool,
}

/// One plugin entry of the declarative config, as far as its schema is concerned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PluginEntity {
    /// `config` as written; `None` when absent (it is then all defaults).
    pub config: Option<Value>,
    /// `protocols` as written; `None` takes the schema's default.
    pub protocols: Option<Value>,
    /// The ids of the entities the plugin is scoped to.
    pub route: Option<String>,
    pub service: Option<String>,
    pub consumer: Option<String>,
    pub consumer_group: Option<String>,
    /// Enterprise's dynamic `ordering`, as written.
    pub ordering: Option<Value>,
}

impl PluginEntity {
    fn to_map(&self) -> Map<String, Value> {
        let mut map = Map::new();
        let reference = |id: &Option<String>| match id {
            Some(id) => json!({ "id": id }),
            None => Value::Null,
        };
        map.insert("route".into(), reference(&self.route));
        map.insert("service".into(), reference(&self.service));
        map.insert("consumer".into(), reference(&self.consumer));
        map.insert("consumer_group".into(), reference(&self.consumer_group));
        for (key, value) in [
            ("config", &self.config),
            ("protocols", &self.protocols),
            ("ordering", &self.ordering),
        ] {
            if let Some(v) = value {
                map.insert(key.into(), v.clone());
            }
        }
        map
    }
}

/// A plugin entry that validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidPlugin {
    /// The config as Kong stores it: defaults filled in (nested records too), unset fields
    /// `null`, sets without duplicates, shorthand fields mapped to the real ones.
    pub config: Value,
    /// `protocols`, the schema's default when not given.
    pub protocols: Vec<String>,
}

impl ValidPlugin {
    /// The handler's `conf`: the config without its `null`s, as Kong's plugins iterator reads
    /// it (`route_id`, `service_id`, ... are the runtime's to add).
    pub fn conf(&self) -> Value {
        strip_nulls(&self.config)
    }
}

impl PluginSchema {
    /// From the table `require "kong.plugins.<plugin>.schema"` returned.
    pub fn from_lua(lua: &Lua, plugin: &str, schema: Table) -> Result<Self, SchemaError> {
        let raw = Raw::from_lua(LuaValue::Table(schema)).map_err(|message| SchemaError {
            plugin: plugin.to_string(),
            at: String::new(),
            message,
        })?;
        Self::build(plugin, &raw, OnceCell::from(lua.clone()))
    }

    /// From the `Schema` a plugin server's dump prints (the same language, as JSON).
    pub fn from_json(plugin: &str, schema: &Value) -> Result<Self, SchemaError> {
        Self::build(plugin, &Raw::from_json(schema), OnceCell::new())
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn restrictions(&self) -> Restrictions {
        let forbidden = |name: &str| {
            self.record
                .field(name)
                .and_then(Field::eq)
                .is_some_and(Value::is_null)
        };
        Restrictions {
            no_route: forbidden("route"),
            no_service: forbidden("service"),
            no_consumer: forbidden("consumer"),
            no_consumer_group: forbidden("consumer_group"),
        }
    }

    /// Validates a plugin entry the way Kong's `plugins` entity and this subschema do: defaults
    /// filled first, then every error (not just the first).
    pub fn validate(&self, entity: &PluginEntity) -> Result<ValidPlugin, Vec<FieldError>> {
        let v = Validator {
            vm: Vm::new(&self.lua),
        };
        let mut errors = Vec::new();
        let data = v.process(&self.record, &entity.to_map(), "", &mut errors);
        v.record(&self.record, &data).flatten("", &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        let protocols = data
            .get("protocols")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|p| p.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        Ok(ValidPlugin {
            config: data.get("config").cloned().unwrap_or(Value::Null),
            protocols,
        })
    }

    fn build(plugin: &str, raw: &Raw, lua: OnceCell<Lua>) -> Result<Self, SchemaError> {
        let b = Builder { plugin };
        let entries = raw
            .as_object()
            .ok_or_else(|| b.error("", "the schema must be a table"))?;
        for (key, value) in entries {
            match (key.as_str(), value) {
                ("name", Raw::String(_)) | ("check", Raw::Function(_) | Raw::Null) => {}
                ("name", _) => return Err(b.error("", "name: expected a string")),
                ("check", _) => return Err(b.error("", "check: expected a function")),
                ("fields" | "entity_checks" | "shorthand_fields" | "supported_partials", _) => {}
                ("transformations", _) => {
                    return Err(b.error("", "transformations are not supported"))
                }
                _ => return Err(b.error("", format!("{key}: unknown field"))),
            }
        }
        if raw.get("name").is_none() {
            return Err(b.error("", "name: required field missing"));
        }
        let own = match raw.get("fields") {
            Some(fields) if !matches!(fields, Raw::Null) => b.fields(fields, "")?,
            _ => return Err(b.error("", "'fields' must be a table")),
        };
        let mut fields = b.fields(&Raw::from_json(&entity_fields()), "")?;
        let mut specialized_config = false;
        for (name, field) in own {
            let Some((_, slot)) = fields.iter_mut().find(|(n, _)| *n == name) else {
                return Err(b.error(&name, "cannot create a new field"));
            };
            if !compatible(slot, &field) {
                return Err(b.error(&name, "cannot change type in a specialized field"));
            }
            specialized_config |= name == "config";
            *slot = field;
        }
        if !specialized_config {
            return Err(b.error("config", "abstract field was not specialized"));
        }
        let mut record = b.record(raw, "", fields)?;
        if let Some(Raw::Function(check)) = raw.get("check") {
            record.check = Some(check.clone());
        }
        record
            .fields
            .retain(|(name, _)| VALIDATED.contains(&name.as_str()));
        record.make_records_required();
        let schema = PluginSchema {
            name: plugin.to_string(),
            record,
            lua,
        };
        schema.check_definitions(&b)?;
        Ok(schema)
    }

    /// What needs the VM: Lua patterns must compile and defaults must validate (Kong's
    /// metaschema validates `default` against the field itself).
    fn check_definitions(&self, b: &Builder) -> Result<(), SchemaError> {
        let v = Validator {
            vm: Vm::new(&self.lua),
        };
        self.record.walk_fields(&mut |at, field| {
            for rule in &field.rules {
                for pattern in rule.patterns() {
                    v.vm.matches("", pattern)
                        .map_err(|e| b.error(at, format!("invalid pattern '{pattern}': {e}")))?;
                }
            }
            let Some(default) = &field.default else {
                return Ok(());
            };
            let default = match (&field.record, default) {
                (Some(record), Value::Object(map)) => {
                    Value::Object(v.process(record, map, at, &mut Vec::new()))
                }
                _ => default.clone(),
            };
            v.field(field, &default)
                .map_err(|e| b.error(at, format!("default: {}", e.first())))
        })
    }
}

impl fmt::Debug for PluginSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginSchema")
            .field("name", &self.name)
            .field("restrictions", &self.restrictions())
            .finish_non_exhaustive()
    }
}

/// Kong's `compatible_fields`: a specialized field keeps the type (and element types).
fn compatible(abstract_field: &Field, field: &Field) -> bool {
    let kind = |f: &Option<Box<Field>>| f.as_ref().map(|f| f.kind);
    abstract_field.kind == field.kind
        && match field.kind {
            Kind::Array | Kind::Set => kind(&abstract_field.elements) == kind(&field.elements),
            Kind::Map => {
                kind(&abstract_field.keys) == kind(&field.keys)
                    && kind(&abstract_field.values) == kind(&field.values)
            }
            _ => true,
        }
}

#[cfg(test)]
mod tests;
