//! `kong.ctx` and `ngx.ctx`: request-scoped tables. `kong.ctx.shared` is one table for every
//! plugin of the request (Lua and external alike); `kong.ctx.plugin` is one per plugin.

use mlua::{Lua, Table, Value};

use super::phases::CTX;
use super::{namespace, request_in};

pub fn install(lua: &Lua, kong: &Table, ngx: &Table) -> mlua::Result<()> {
    let ctx_ns = namespace(lua, kong, "ctx")?;
    let mt = lua.create_table()?;
    mt.set(
        "__index",
        lua.create_function(|lua, (_, key): (Table, String)| {
            let ctx = request_in(CTX)?;
            let mut state = ctx.lua.borrow_mut();
            match key.as_str() {
                "shared" => Ok(Value::Table(lazily(lua, &mut state.shared)?)),
                "plugin" => {
                    let Some((plugin, _)) = state.plugin.clone() else {
                        return Ok(Value::Nil);
                    };
                    if let Some(t) = state.plugin_ctx.get(&plugin) {
                        return Ok(Value::Table(t.clone()));
                    }
                    let t = lua.create_table()?;
                    state.plugin_ctx.insert(plugin, t.clone());
                    Ok(Value::Table(t))
                }
                _ => Ok(Value::Nil),
            }
        })?,
    )?;
    ctx_ns.set_metatable(Some(mt))?;
    ngx_dynamic(lua, ngx)
}

/// A request's table, made on first use.
pub fn lazily(lua: &Lua, slot: &mut Option<Table>) -> mlua::Result<Table> {
    if let Some(t) = slot {
        return Ok(t.clone());
    }
    let t = lua.create_table()?;
    *slot = Some(t.clone());
    Ok(t)
}

/// `ngx.ctx` (read and assigned), `ngx.status` and `ngx.header`, which nginx resolves per request.
fn ngx_dynamic(lua: &Lua, ngx: &Table) -> mlua::Result<()> {
    let mt = match ngx.metatable() {
        Some(mt) => mt,
        None => lua.create_table()?,
    };
    let header = super::nginx::header_proxy(lua)?;
    mt.set(
        "__index",
        lua.create_function(move |lua, (_, key): (Table, String)| match key.as_str() {
            "ctx" => {
                let ctx = crate::runloop::ctx::current()
                    .ok_or_else(|| mlua::Error::runtime("no request found"))?;
                let mut state = ctx.lua.borrow_mut();
                Ok(Value::Table(lazily(lua, &mut state.ngx_ctx)?))
            }
            "status" => {
                let Some(ctx) = crate::runloop::ctx::current() else {
                    return Ok(Value::Integer(0));
                };
                let status = ctx.resp.borrow().status;
                Ok(Value::Integer(status.map_or(0, |s| i64::from(s.as_u16()))))
            }
            "header" => Ok(Value::Table(header.clone())),
            _ => Ok(Value::Nil),
        })?,
    )?;
    mt.set(
        "__newindex",
        lua.create_function(
            |_, (t, key, value): (Table, String, Value)| match key.as_str() {
                "ctx" => {
                    let ctx = crate::runloop::ctx::current()
                        .ok_or_else(|| mlua::Error::runtime("no request found"))?;
                    let Value::Table(v) = value else {
                        return Err(mlua::Error::runtime("ngx.ctx must be a table"));
                    };
                    ctx.lua.borrow_mut().ngx_ctx = Some(v);
                    Ok(())
                }
                "status" => {
                    let ctx = crate::runloop::ctx::current()
                        .ok_or_else(|| mlua::Error::runtime("no request found"))?;
                    let code = match value {
                        Value::Integer(i) => u16::try_from(i).ok(),
                        Value::Number(n) => Some(n as u16),
                        _ => None,
                    };
                    let code = code
                        .and_then(|c| http::StatusCode::from_u16(c).ok())
                        .ok_or_else(|| mlua::Error::runtime("invalid status"))?;
                    ctx.resp.borrow_mut().status = Some(code);
                    Ok(())
                }
                _ => t.raw_set(key, value),
            },
        )?,
    )?;
    ngx.set_metatable(Some(mt))
}
