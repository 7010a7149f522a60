//! `kong.router`: the matched route and its service, as Kong's entity tables.

use mlua::{Lua, Table, Value};

use super::phases::AFTER_ACCESS;
use super::{def, namespace, request_in};

pub fn install(lua: &Lua, kong: &Table) -> mlua::Result<()> {
    let t = namespace(lua, kong, "router")?;
    def(lua, &t, "get_route", |lua, ()| {
        let ctx = request_in(AFTER_ACCESS)?;
        let Some(r) = ctx.route.get() else {
            return Ok(Value::Nil);
        };
        lua.named_registry_value::<Table>("sluice.routes")?
            .get::<Value>(r + 1)
    })?;
    def(lua, &t, "get_service", |lua, ()| {
        let ctx = request_in(AFTER_ACCESS)?;
        let Some(r) = ctx.route.get() else {
            return Ok(Value::Nil);
        };
        let route: Table = lua
            .named_registry_value::<Table>("sluice.routes")?
            .get(r + 1)?;
        let Value::Table(service) = route.get::<Value>("service")? else {
            return Ok(Value::Nil);
        };
        let id: String = service.get("id")?;
        lua.named_registry_value::<Table>("sluice.services")?
            .get::<Value>(id)
    })?;
    Ok(())
}
