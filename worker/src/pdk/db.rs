//! `kong.db` without a database, as Kong runs DB-less: the declarative config's entities (core
//! ones and the bundled plugins' credentials) in Kong's row shape (foreign keys as
//! `{ id = ... }`, nulls removed) behind read-only DAOs (the `kong.db` Lua module), so plugins
//! that look up consumers and credentials (key-auth's `keyauth_credentials:select_by_key`) run
//! unchanged.

use mlua::{Function, Lua, LuaSerdeExt, Table};
use serde::Serialize;
use serde_json::{json, Value};
use sluice_conf::DeclarativeConfig;

/// An entity's rows, unique fields (`select_by_<field>`) and foreign keys (`each_for_<field>`).
struct Entity<'a> {
    rows: Vec<Value>,
    unique: &'a [&'a str],
    foreign: Vec<&'a str>,
}

impl<'a> Entity<'a> {
    /// `items` as Kong's rows ([`rows`]); the foreign keys are the renamed `_id` fields.
    fn of<T: Serialize>(
        items: &[T],
        foreign: &[(&str, &'a str)],
        unique: &'a [&'a str],
    ) -> mlua::Result<Entity<'a>> {
        Ok(Entity {
            rows: rows(items, foreign)?,
            unique,
            foreign: foreign.iter().map(|(_, name)| *name).collect(),
        })
    }

    /// Fields renamed to Kong's names (an empty name drops the field).
    fn renamed(mut self, names: &[(&str, &str)]) -> Entity<'a> {
        for map in self.rows.iter_mut().filter_map(Value::as_object_mut) {
            for (ours, kongs) in names {
                if let Some(v) = map.remove(*ours).filter(|_| !kongs.is_empty()) {
                    map.insert((*kongs).into(), v);
                }
            }
        }
        self
    }
}

/// Sets `kong.db`.
pub fn install(lua: &Lua, kong: &Table, decl: &DeclarativeConfig) -> mlua::Result<()> {
    let client_certificate = [("client_certificate_id", "client_certificate")];
    let targets: Vec<_> = decl.upstreams.iter().flat_map(|u| &u.targets).collect();
    let mut entities = vec![
        (
            "consumers",
            Entity::of(&decl.consumers, &[], &["username", "custom_id"])?,
        ),
        (
            "consumer_groups",
            Entity::of(&decl.consumer_groups, &[], &["name"])?,
        ),
        (
            "consumer_group_consumers",
            Entity::of(
                &decl.consumer_group_consumers,
                &[
                    ("consumer_group_id", "consumer_group"),
                    ("consumer_id", "consumer"),
                ],
                &[],
            )?,
        ),
        (
            "services",
            Entity::of(&decl.services, &client_certificate, &["name"])?
                .renamed(&[("ca_certificate_ids", "ca_certificates")]),
        ),
        (
            "routes",
            Entity::of(&decl.routes, &[("service_id", "service")], &["name"])?,
        ),
        (
            "upstreams",
            Entity::of(&decl.upstreams, &client_certificate, &["name"])?
                .renamed(&[("targets", "")]),
        ),
        (
            "targets",
            Entity::of(&targets, &[("upstream_id", "upstream")], &[])?,
        ),
        (
            "plugins",
            Entity::of(
                &decl.plugins,
                &[
                    ("route_id", "route"),
                    ("service_id", "service"),
                    ("consumer_id", "consumer"),
                    ("consumer_group_id", "consumer_group"),
                ],
                &["instance_name"],
            )?,
        ),
        (
            "certificates",
            Entity {
                rows: certificates(decl)?,
                unique: &[],
                foreign: Vec::new(),
            },
        ),
        (
            "snis",
            Entity::of(&decl.snis, &[("certificate_id", "certificate")], &["name"])?,
        ),
        (
            "ca_certificates",
            Entity::of(&decl.ca_certificates, &[], &[])?,
        ),
    ];
    // Credentials are kept as JSON with `consumer = { id }` already.
    for (entity, unique) in sluice_conf::credential_entities() {
        let rows = decl.credentials.get(entity).cloned().unwrap_or_default();
        entities.push((
            entity,
            Entity {
                rows: rows.into_iter().map(kong_row).collect(),
                unique,
                foreign: vec!["consumer"],
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

/// Certificates with their second pair as Kong's `cert_alt` and `key_alt`.
fn certificates(decl: &DeclarativeConfig) -> mlua::Result<Vec<Value>> {
    let mut rows = rows(&decl.certificates, &[])?;
    for (row, c) in rows.iter_mut().zip(&decl.certificates) {
        if let Some(map) = row.as_object_mut() {
            map.remove("alt");
            if let Some((cert, key)) = &c.alt {
                map.insert("cert_alt".into(), cert.as_str().into());
                map.insert("key_alt".into(), key.as_str().into());
            }
        }
    }
    Ok(rows)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(yml: &str) -> DeclarativeConfig {
        DeclarativeConfig::parse(yml, "kong.yml").unwrap()
    }

    #[test]
    fn rows_have_kongs_shape() {
        let d = decl(
            "_format_version: \"3.0\"\n\
             certificates:\n- id: 00000000-0000-4000-8000-000000000001\n  cert: C\n  key: K\n  cert_alt: C2\n  key_alt: K2\n\
             services:\n- name: s\n  url: https://x.test\n  client_certificate: 00000000-0000-4000-8000-000000000001\n  routes:\n  - name: r\n    paths: [/]\n\
             upstreams:\n- name: u\n  targets:\n  - target: 127.0.0.1:80\n",
        );
        let route = &rows(&d.routes, &[("service_id", "service")]).unwrap()[0];
        assert_eq!(route["service"], json!({ "id": d.services[0].id }));
        assert!(route.get("service_id").is_none() && route.get("hosts").is_some());
        let services = Entity::of(
            &d.services,
            &[("client_certificate_id", "client_certificate")],
            &[],
        )
        .unwrap()
        .renamed(&[("ca_certificate_ids", "ca_certificates")]);
        assert_eq!(services.foreign, ["client_certificate"]);
        let service = &services.rows[0];
        assert_eq!(
            service["client_certificate"]["id"],
            json!(d.certificates[0].id)
        );
        assert_eq!(service["ca_certificates"], json!([]));
        assert!(service.get("path").is_none(), "nulls are removed");
        let upstream = &Entity::of(&d.upstreams, &[], &[])
            .unwrap()
            .renamed(&[("targets", "")])
            .rows[0];
        assert!(upstream.get("targets").is_none());
        let cert = &certificates(&d).unwrap()[0];
        assert_eq!(
            (&cert["cert_alt"], &cert["key_alt"]),
            (&json!("C2"), &json!("K2"))
        );
        assert!(cert.get("alt").is_none());
    }
}
