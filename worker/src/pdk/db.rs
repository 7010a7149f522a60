//! `kong.db` without a database, as Kong runs DB-less: the declarative config's entities in
//! Kong's row shape (foreign keys as `{ id = ... }`, nulls removed) behind read-only DAOs (the
//! `kong.db` Lua module), so plugins that look up consumers and credentials (key-auth's
//! `keyauth_credentials:select_by_key`) run unchanged.

use mlua::{Function, Lua, LuaSerdeExt, Table};
use serde::Serialize;
use serde_json::{json, Value};
use sluice_conf::DeclarativeConfig;

/// An entity's rows, unique fields (`select_by_<field>`) and foreign keys (`each_for_<field>`).
struct Entity<'a> {
    rows: Vec<Value>,
    unique: &'a [&'a str],
    foreign: &'a [&'a str],
}

/// Sets `kong.db`.
pub fn install(lua: &Lua, kong: &Table, decl: &DeclarativeConfig) -> mlua::Result<()> {
    let mut entities = vec![
        (
            "consumers",
            Entity {
                rows: rows(&decl.consumers, &[])?,
                unique: &["username", "custom_id"],
                foreign: &[],
            },
        ),
        (
            "consumer_groups",
            Entity {
                rows: rows(&decl.consumer_groups, &[])?,
                unique: &["name"],
                foreign: &[],
            },
        ),
        (
            "services",
            Entity {
                rows: rows(&decl.services, &[])?,
                unique: &["name"],
                foreign: &[],
            },
        ),
        (
            "routes",
            Entity {
                rows: rows(&decl.routes, &[("service_id", "service")])?,
                unique: &["name"],
                foreign: &["service"],
            },
        ),
    ];
    for (entity, unique) in sluice_conf::credential_entities() {
        let rows = decl.credentials.get(entity).cloned().unwrap_or_default();
        let foreign: &[&str] = &["consumer"];
        entities.push((
            entity,
            Entity {
                rows: rows.into_iter().map(kong_row).collect(),
                unique,
                foreign,
            },
        ));
    }
    let table = lua.create_table()?;
    for (name, e) in entities {
        let t = lua.create_table()?;
        t.set("rows", lua.to_value(&e.rows)?)?;
        t.set(
            "unique",
            lua.create_sequence_from(e.unique.iter().copied())?,
        )?;
        t.set(
            "foreign",
            lua.create_sequence_from(e.foreign.iter().copied())?,
        )?;
        table.set(name, t)?;
    }
    let new: Function = super::require(lua, "kong.db")?.get("new")?;
    kong.set("db", new.call::<Table>((table, decl.transform))?)
}

/// Entities as Kong's rows: each `<name>_id` field of `foreign` becomes `<name> = { id = ... }`.
pub fn rows<T: Serialize>(entities: &[T], foreign: &[(&str, &str)]) -> mlua::Result<Vec<Value>> {
    entities
        .iter()
        .map(|e| {
            let mut v = serde_json::to_value(e).map_err(mlua::Error::external)?;
            if let Some(map) = v.as_object_mut() {
                for (field, name) in foreign {
                    if let Some(id) = map.remove(*field).filter(|id| !id.is_null()) {
                        map.insert((*name).into(), json!({ "id": id }));
                    }
                }
            }
            Ok(kong_row(v))
        })
        .collect()
}

/// Nulls removed, as in the rows Kong hands plugins.
pub fn kong_row(v: Value) -> Value {
    match v {
        Value::Object(map) => map
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k, kong_row(v)))
            .collect(),
        other => other,
    }
}
