//! The Lua modules plugin schemas `require`, registered in `package.preload`.

use mlua::{Lua, Table};

/// Lua sources shipped with this crate, by module name.
const MODULES: [(&str, &str); 3] = [
    ("kong.db.schema", include_str!("../lua/kong_db_schema.lua")),
    (
        "kong.db.schema.typedefs",
        include_str!("../lua/typedefs.lua"),
    ),
    (
        "kong.tools.queue_schema",
        include_str!("../lua/queue_schema.lua"),
    ),
];

/// Registers `kong.db.schema`, `kong.db.schema.typedefs` and `kong.tools.queue_schema` (and
/// the native validators the typedefs use, as `sluice.schema.validators`). Call it before a
/// plugin's `schema.lua` is required.
pub fn install(lua: &Lua) -> mlua::Result<()> {
    let preload: Table = lua.globals().get::<Table>("package")?.get("preload")?;
    preload.set(
        "sluice.schema.validators",
        lua.create_function(|lua, ()| crate::validators::module(lua))?,
    )?;
    for (name, source) in MODULES {
        let loader = lua
            .load(source)
            .set_name(format!("={name}"))
            .into_function()?;
        preload.set(name, loader)?;
    }
    Ok(())
}
