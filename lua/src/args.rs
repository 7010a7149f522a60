//! Argument coercions shared by the `ngx` functions, following lua-resty-core's conventions.

use mlua::{Function, Lua, LuaString, Result, Value};

/// Lua's `tostring(v)` (numbers as `%.14g`, `__tostring` honoured).
pub(crate) fn tostring(lua: &Lua, v: Value) -> Result<LuaString> {
    match v {
        Value::String(s) => Ok(s),
        Value::Integer(_) | Value::Number(_) => Ok(lua
            .coerce_string(v)?
            .expect("numbers always convert to strings")),
        other => {
            let f: Function = lua.globals().raw_get("tostring")?;
            f.call(other)
        }
    }
}

/// lua-resty-core's `if type(s) ~= "string" then if not s then s = "" else s = tostring(s) end`.
pub(crate) fn string_or_empty(lua: &Lua, v: Value) -> Result<LuaString> {
    match v {
        Value::Nil | Value::Boolean(false) => lua.create_string(""),
        other => tostring(lua, other),
    }
}

/// A required string argument (numbers accepted, as `luaL_checklstring`).
pub(crate) fn check_string(lua: &Lua, v: Value, n: usize, func: &str) -> Result<LuaString> {
    let ty = v.type_name();
    match lua.coerce_string(v)? {
        Some(s) => Ok(s),
        None => Err(bad_argument(n, func, &format!("string expected, got {ty}"))),
    }
}

/// A required number argument (numeric strings accepted, as `luaL_checknumber`).
pub(crate) fn check_number(lua: &Lua, v: Value, n: usize, func: &str) -> Result<f64> {
    let ty = v.type_name();
    match lua.coerce_number(v)? {
        Some(x) => Ok(x),
        None => Err(bad_argument(n, func, &format!("number expected, got {ty}"))),
    }
}

/// Lua's "bad argument" error text.
pub(crate) fn bad_argument(n: usize, func: &str, msg: &str) -> mlua::Error {
    mlua::Error::runtime(format!("bad argument #{n} to '{func}' ({msg})"))
}
