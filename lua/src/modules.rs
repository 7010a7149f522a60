//! Our Lua implementations of the helper modules Kong plugins `require`, registered in
//! `package.preload` (so a module of the same name on `lua_package_path` does not win over
//! them, as Kong's own modules would not).

use mlua::{Lua, Result, Table};

/// `(module name, source)`; `resty.lrucache.pureffi` shares the `resty.lrucache` source.
const MODULES: [(&str, &str); 21] = [
    ("kong.meta", include_str!("modules/kong_meta.lua")),
    ("kong.db", include_str!("modules/kong_db.lua")),
    ("kong.constants", include_str!("modules/kong_constants.lua")),
    ("kong.cache", include_str!("modules/kong_cache.lua")),
    (
        "kong.vendor.classic",
        include_str!("modules/kong_vendor_classic.lua"),
    ),
    (
        "kong.plugins.base_plugin",
        include_str!("modules/kong_plugins_base_plugin.lua"),
    ),
    ("resty.lrucache", include_str!("modules/resty_lrucache.lua")),
    (
        "resty.lrucache.pureffi",
        include_str!("modules/resty_lrucache.lua"),
    ),
    (
        "kong.tools.table",
        include_str!("modules/kong_tools_table.lua"),
    ),
    (
        "kong.tools.string",
        include_str!("modules/kong_tools_string.lua"),
    ),
    (
        "kong.tools.uuid",
        include_str!("modules/kong_tools_uuid.lua"),
    ),
    (
        "kong.tools.rand",
        include_str!("modules/kong_tools_rand.lua"),
    ),
    (
        "kong.tools.time",
        include_str!("modules/kong_tools_time.lua"),
    ),
    ("kong.tools.ip", include_str!("modules/kong_tools_ip.lua")),
    (
        "kong.tools.http",
        include_str!("modules/kong_tools_http.lua"),
    ),
    (
        "kong.tools.mime_type",
        include_str!("modules/kong_tools_mime_type.lua"),
    ),
    (
        "kong.tools.sandbox",
        include_str!("modules/kong_tools_sandbox.lua"),
    ),
    ("socket.url", include_str!("modules/socket_url.lua")),
    ("multipart", include_str!("modules/multipart.lua")),
    (
        "resty.ipmatcher",
        include_str!("modules/resty_ipmatcher.lua"),
    ),
    (
        "kong.tools.utils",
        include_str!("modules/kong_tools_utils.lua"),
    ),
];

pub(crate) fn install(lua: &Lua) -> Result<()> {
    let preload: Table = lua
        .globals()
        .raw_get::<Table>("package")?
        .raw_get("preload")?;
    for (name, source) in MODULES {
        let source = source.replace("@SLUICE_VERSION@", env!("CARGO_PKG_VERSION"));
        let loader = lua
            .load(source)
            .set_name(format!("@{name}"))
            .into_function()?;
        preload.raw_set(name, loader)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
