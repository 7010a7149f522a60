//! A plugin instance's `conf` table: the validated config record with defaults, nulls removed,
//! and the fields Kong adds (`route_id`, `service_id`, `consumer_id`, `__plugin_id`, ...).

use mlua::serde::SerializeOptions;
use mlua::{Lua, LuaSerdeExt, Table};
use serde_json::Value;
use sluice_conf::Plugin;
use sluice_schema::PluginEntity;

use super::Handler;

/// Validates `entity` against the handler's schema and builds its `conf` table; also returns the
/// same record as JSON (what a plugin server gets).
pub fn build(lua: &Lua, handler: &Handler, entity: &Plugin) -> Result<(Table, Value), Vec<String>> {
    let where_ = format!("plugin '{}' ({})", entity.name, entity.id);
    let id = |x: &Option<uuid::Uuid>| x.map(|u| u.to_string());
    let input = PluginEntity {
        config: Some(entity.config.clone()),
        protocols: Some(Value::Array(
            entity
                .protocols
                .iter()
                .map(|p| Value::String(p.as_str().into()))
                .collect(),
        )),
        route: id(&entity.route_id),
        service: id(&entity.service_id),
        consumer: id(&entity.consumer_id),
        consumer_group: id(&entity.consumer_group_id),
        ordering: entity.ordering.clone(),
    };
    let valid = handler.schema.validate(&input).map_err(|errors| {
        errors
            .into_iter()
            .map(|e| format!("{where_}: {e}"))
            .collect::<Vec<_>>()
    })?;
    let mut config = valid.conf();
    if let Value::Object(map) = &mut config {
        let id = |x: &Option<uuid::Uuid>| x.map(|u| Value::String(u.to_string()));
        for (key, value) in [
            ("route_id", id(&entity.route_id)),
            ("service_id", id(&entity.service_id)),
            ("consumer_id", id(&entity.consumer_id)),
            (
                "plugin_instance_name",
                entity.instance_name.clone().map(Value::String),
            ),
            ("__plugin_id", Some(Value::String(entity.id.to_string()))),
        ] {
            if let Some(value) = value {
                map.insert(key.to_string(), value);
            }
        }
    }
    let options = SerializeOptions::new()
        .serialize_none_to_null(false)
        .serialize_unit_to_null(false)
        .set_array_metatable(false);
    match lua.to_value_with(&config, options) {
        Ok(mlua::Value::Table(t)) => Ok((t, config)),
        Ok(_) => Err(vec![format!("{where_}: config must be a record")]),
        Err(e) => Err(vec![format!("{where_}: {e}")]),
    }
}

/// Kong Enterprise's `ordering = { before = { access = {...} }, after = { access = {...} } }`.
pub fn ordering(entity: &Plugin) -> Result<(Vec<String>, Vec<String>), String> {
    let Some(ordering) = &entity.ordering else {
        return Ok((Vec::new(), Vec::new()));
    };
    let Value::Object(map) = ordering else {
        return Err("expected a record".into());
    };
    let mut lists = (Vec::new(), Vec::new());
    for (key, phases) in map {
        let list = match key.as_str() {
            "before" => &mut lists.0,
            "after" => &mut lists.1,
            other => return Err(format!("{other}: unknown field")),
        };
        let Value::Object(phases) = phases else {
            return Err(format!("{key}: expected a record"));
        };
        for (phase, names) in phases {
            if phase != "access" {
                return Err(format!(
                    "{key}.{phase}: only the access phase can be ordered"
                ));
            }
            let Value::Array(names) = names else {
                return Err(format!("{key}.access: expected an array"));
            };
            for name in names {
                match name {
                    Value::String(n) => list.push(n.clone()),
                    _ => return Err(format!("{key}.access: expected an array of plugin names")),
                }
            }
        }
    }
    Ok(lists)
}
