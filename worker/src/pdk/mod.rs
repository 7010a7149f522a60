//! Kong's PDK, implemented in Rust and installed into the worker's Lua VM: one module per
//! namespace, as Kong's `kong/pdk/`. Functions find their request through the runloop's "current
//! request" and check the phase first, failing with Kong's own error text. External plugins reach
//! the same functions by name (Kong's plugin servers call the Lua PDK the same way).

mod args;
mod client;
mod ctx;
mod db;
pub(crate) mod headers;
mod log;
mod nginx;
mod node;
mod request;
mod response;
mod router;
mod serialize;
mod service;
mod timer;

use std::rc::Rc;

use mlua::{Function, IntoLuaMulti, Lua, Table, Value};

use crate::runloop::ctx::current;
use crate::runloop::{Phases, RequestCtx};

pub use nginx::worker_started;
use node::NodeInfo;
pub use timer::{idle as timers_idle, shutdown as stop_timers};

/// Installs the PDK into `kong` and the request-scoped parts of `ngx`. Must run before any
/// plugin module is loaded: plugins capture PDK functions when they are required.
pub fn install(lua: &Lua, config: &sluice_conf::Checked) -> mlua::Result<()> {
    let kong = sluice_lua::kong_table(lua)?;
    let ngx = sluice_lua::ngx_table(lua)?;
    request::install(lua, &kong)?;
    response::install(lua, &kong)?;
    service::install(lua, &kong)?;
    client::install(lua, &kong)?;
    router::install(lua, &kong)?;
    ctx::install(lua, &kong, &ngx)?;
    log::install(lua, &kong)?;
    node::install(lua, &kong, config, NodeInfo::new(config))?;
    nginx::install(lua, &ngx)?;
    Ok(())
}

/// Phase sets used across namespaces.
pub(crate) mod phases {
    use crate::runloop::{Phase::*, Phases};

    pub const REWRITE_ACCESS: Phases = Phases::of(&[Rewrite, Access]);
    pub const ACCESS: Phases = Phases::of(&[Access]);
    /// Where the request can be read (`kong.request.*`).
    pub const REQUEST: Phases =
        Phases::of(&[Rewrite, Access, Response, HeaderFilter, BodyFilter, Log]);
    /// Where the body can still be read.
    pub const REQUEST_BODY: Phases = Phases::of(&[Rewrite, Access, Response]);
    /// Where the response can be read.
    pub const RESPONSE_READ: Phases = Phases::of(&[HeaderFilter, Response, BodyFilter, Log]);
    /// Where the response head can be changed.
    pub const RESPONSE_WRITE: Phases = Phases::of(&[Rewrite, Access, HeaderFilter, Response]);
    pub const BODY_FILTER: Phases = Phases::of(&[BodyFilter]);
    pub const AFTER_ACCESS: Phases = Phases::of(&[Access, HeaderFilter, Response, BodyFilter, Log]);
    pub const LOG: Phases = Phases::of(&[Log]);
    pub const CTX: Phases = Phases::of(&[Rewrite, Access, HeaderFilter, Response, BodyFilter, Log]);
}

/// The current request, if `allowed` includes its phase; otherwise Kong's error.
pub(crate) fn request_in(allowed: Phases) -> mlua::Result<Rc<RequestCtx>> {
    let ctx = current().ok_or_else(|| mlua::Error::runtime("no request found"))?;
    allowed
        .check(ctx.phase.get())
        .map_err(mlua::Error::runtime)?;
    Ok(ctx)
}

/// Sets `name` on `t` to a Rust function.
pub(crate) fn def<A, R, F>(lua: &Lua, t: &Table, name: &str, f: F) -> mlua::Result<()>
where
    A: mlua::FromLuaMulti,
    R: IntoLuaMulti,
    F: Fn(&Lua, A) -> mlua::Result<R> + 'static,
{
    t.set(name, lua.create_function(f)?)
}

/// Sets `name` on `t` to a Lua function that calls `fast` when its first `strings` arguments (one
/// or two) are strings and `slow` otherwise. `fast` takes them as `BString`s, read straight off the
/// Lua stack, where a `Value` or `LuaString` argument costs a slot in mlua's reference registry
/// (and more to borrow its bytes): the hot header calls would pay that on every request. The
/// dispatch is a Lua tail call, so errors and tracebacks read as with one function.
pub(crate) fn def_strings<A, R, F, B, S, G>(
    lua: &Lua,
    t: &Table,
    name: &str,
    strings: usize,
    fast: F,
    slow: G,
) -> mlua::Result<()>
where
    A: mlua::FromLuaMulti,
    R: IntoLuaMulti,
    F: Fn(&Lua, A) -> mlua::Result<R> + 'static,
    B: mlua::FromLuaMulti,
    S: IntoLuaMulti,
    G: Fn(&Lua, B) -> mlua::Result<S> + 'static,
{
    let test = match strings {
        1 => "type(a) == 'string'",
        _ => "type(a) == 'string' and type(b) == 'string'",
    };
    let dispatch: Function = lua
        .load(format!(
            "local fast, slow, type = ...\n\
             return function(a, b)\n\
               if {test} then return fast(a, b) end\n\
               return slow(a, b)\n\
             end"
        ))
        .set_name("=kong.pdk")
        .call((
            lua.create_function(fast)?,
            lua.create_function(slow)?,
            lua.globals().raw_get::<Function>("type")?,
        ))?;
    t.set(name, dispatch)
}

/// A new sub-table `name` of `parent` (or the existing one).
pub(crate) fn namespace(lua: &Lua, parent: &Table, name: &str) -> mlua::Result<Table> {
    match parent.get::<Value>(name)? {
        Value::Table(t) => Ok(t),
        _ => {
            let t = lua.create_table()?;
            parent.set(name, &t)?;
            Ok(t)
        }
    }
}

/// `require(module)` (for helper modules such as `cjson`).
pub(crate) fn require(lua: &Lua, module: &str) -> mlua::Result<Table> {
    let require: Function = lua.globals().get("require")?;
    require.call(module)
}
