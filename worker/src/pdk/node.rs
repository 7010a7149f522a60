//! The node-level parts of `kong`: `kong.node`, `kong.ip`, `kong.table`, `kong.nginx`,
//! `kong.configuration`, `kong.plugin`, and the entity tables `kong.router`/`kong.client` return.

use std::net::IpAddr;

use mlua::{Lua, LuaSerdeExt, Table, Value};
use sluice_conf::{Checked, Cidr};

use super::{def, namespace};

/// What the PDK knows about the node, kept in the VM.
pub struct NodeInfo {
    pub id: String,
    pub hostname: String,
    pub trusted_ips: Vec<Cidr>,
}

impl NodeInfo {
    /// The node id is derived from the host name and prefix, so every worker (and every restart
    /// in the same prefix) reports the same one, as Kong's persisted node id does.
    pub fn new(config: &Checked) -> NodeInfo {
        let hostname = nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default();
        let seed = format!("{hostname}:{}", config.node.prefix.display());
        let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, seed.as_bytes()).to_string();
        NodeInfo {
            id,
            hostname,
            trusted_ips: config.node.trusted_ips.clone(),
        }
    }
}

/// Whether `ip` is in `trusted_ips`.
pub fn trusted(lua: &Lua, ip: IpAddr) -> bool {
    lua.app_data_ref::<NodeInfo>()
        .is_some_and(|n| n.trusted_ips.iter().any(|c| c.contains(ip)))
}

pub fn install(lua: &Lua, kong: &Table, config: &Checked, node: NodeInfo) -> mlua::Result<()> {
    let t = namespace(lua, kong, "node")?;
    let (id, hostname) = (node.id.clone(), node.hostname.clone());
    def(lua, &t, "get_id", move |_, ()| Ok(id.clone()))?;
    def(lua, &t, "get_hostname", move |_, ()| Ok(hostname.clone()))?;
    def(lua, &t, "get_memory_stats", |lua, ()| {
        let stats = lua.create_table()?;
        stats.set("lua_shared_dicts", lua.create_table()?)?;
        stats.set("workers_lua_vms", lua.create_table()?)?;
        Ok(stats)
    })?;
    lua.set_app_data(node);

    let ip = namespace(lua, kong, "ip")?;
    def(lua, &ip, "is_trusted", |lua, address: String| {
        let ip: IpAddr = address
            .parse()
            .map_err(|_| mlua::Error::runtime(format!("invalid IP address: {address}")))?;
        Ok(trusted(lua, ip))
    })?;

    let nginx = namespace(lua, kong, "nginx")?;
    def(lua, &nginx, "get_subsystem", |_, ()| Ok("http"))?;

    let table = namespace(lua, kong, "table")?;
    def(
        lua,
        &table,
        "new",
        |lua, (narr, nrec): (Option<usize>, Option<usize>)| {
            lua.create_table_with_capacity(narr.unwrap_or(0), nrec.unwrap_or(0))
        },
    )?;
    def(lua, &table, "clear", |_, t: Table| t.clear())?;
    def(
        lua,
        &table,
        "merge",
        |lua, (a, b): (Option<Table>, Option<Table>)| {
            let merged = lua.create_table()?;
            for t in [a, b].into_iter().flatten() {
                for pair in t.pairs::<Value, Value>() {
                    let (k, v) = pair?;
                    merged.set(k, v)?;
                }
            }
            Ok(merged)
        },
    )?;

    let plugin = namespace(lua, kong, "plugin")?;
    def(lua, &plugin, "get_id", |_, ()| {
        let ctx = crate::runloop::ctx::current()
            .ok_or_else(|| mlua::Error::runtime("no request found"))?;
        let id = ctx.lua.borrow().plugin_id.as_deref().map(str::to_owned);
        Ok(id)
    })?;

    kong.set("configuration", read_only(lua, &config.node.properties)?)?;
    super::db::install(lua, kong, &config.declarative)?;
    entities(lua, config)
}

/// Properties Kong's configuration loader turns into arrays (comma-separated lists); the rest
/// stay strings, as Kong's string and `ngx_boolean` ones do.
const ARRAYS: [&str; 10] = [
    "proxy_listen",
    "admin_listen",
    "status_listen",
    "plugins",
    "trusted_ips",
    "headers",
    "headers_upstream",
    "pluginserver_names",
    "untrusted_lua_sandbox_requires",
    "untrusted_lua_sandbox_environment",
];

/// `kong.configuration`: the node's properties; writing to it is an error, as in Kong.
fn read_only(
    lua: &Lua,
    properties: &std::collections::BTreeMap<String, String>,
) -> mlua::Result<Table> {
    let values = lua.create_table()?;
    for (k, v) in properties {
        if ARRAYS.contains(&k.as_str()) {
            let items = v.split(',').map(str::trim).filter(|s| !s.is_empty());
            values.set(k.as_str(), lua.create_sequence_from(items)?)?;
        } else {
            values.set(k.as_str(), v.as_str())?;
        }
    }
    let proxy = lua.create_table()?;
    let mt = lua.create_table()?;
    mt.set("__index", values)?;
    mt.set(
        "__newindex",
        lua.create_function(|_, ()| -> mlua::Result<()> {
            Err(mlua::Error::runtime("cannot write to Kong configuration"))
        })?,
    )?;
    proxy.set_metatable(Some(mt))?;
    Ok(proxy)
}

/// Routes, services and consumers as Kong's entity tables (with `service = { id = ... }`
/// references), kept in the registry for `kong.router`, `kong.client.load_consumer` and
/// `kong.log.serialize`; and the upstream names `kong.service.set_upstream` accepts.
fn entities(lua: &Lua, config: &Checked) -> mlua::Result<()> {
    let decl = &config.declarative;
    let routes = lua.create_table()?;
    for r in super::db::rows(&decl.routes, &[("service_id", "service")])? {
        routes.raw_push(lua.to_value(&r)?)?;
    }
    lua.set_named_registry_value("sluice.routes", routes)?;
    let services = lua.create_table()?;
    for (s, row) in decl
        .services
        .iter()
        .zip(super::db::rows(&decl.services, &[])?)
    {
        services.set(s.id.to_string(), lua.to_value(&row)?)?;
    }
    lua.set_named_registry_value("sluice.services", services)?;
    let (by_id, by_username) = (lua.create_table()?, lua.create_table()?);
    for (c, row) in decl
        .consumers
        .iter()
        .zip(super::db::rows(&decl.consumers, &[])?)
    {
        let t = lua.to_value(&row)?;
        by_id.set(c.id.to_string(), t.clone())?;
        if let Some(name) = &c.username {
            by_username.set(name.as_str(), t)?;
        }
    }
    let consumers = lua.create_table()?;
    consumers.set("by_id", by_id)?;
    consumers.set("by_username", by_username)?;
    lua.set_named_registry_value("sluice.consumers", consumers)?;
    let upstreams = lua.create_table()?;
    for u in &decl.upstreams {
        upstreams.set(u.name.as_str(), true)?;
    }
    lua.set_named_registry_value("sluice.upstreams", upstreams)
}
