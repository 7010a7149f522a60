//! Raising Lua errors whose value is a plain string.
//!
//! An `Err` returned from an mlua callback reaches Lua as an error *userdata*, but plugin code
//! treats errors from `cjson.decode`, `ngx.shared.DICT:set` and friends as strings
//! (`"invalid body: " .. err`). Functions that raise by design therefore return
//! `(RAISE, message)` and are wrapped by [`wrap`] in a small Lua function that turns that into
//! `error(message, 0)` — what `luaL_error` in a C function produces.

use std::ffi::c_void;

use mlua::{Function, IntoLuaMulti, LightUserData, Lua, MultiValue, Result, Value};

/// Its address marks "raise the next value" in a raw function's results.
static RAISE_TAG: u8 = 0;

fn raise_mark() -> Value {
    Value::LightUserData(LightUserData(&RAISE_TAG as *const u8 as *mut c_void))
}

/// The results of a raw function that raises `msg`.
pub(crate) fn raise(lua: &Lua, msg: impl AsRef<str>) -> Result<MultiValue> {
    (raise_mark(), msg.as_ref()).into_lua_multi(lua)
}

const WRAPPER: &str = r##"
local RAISE, error = ...
local function check(first, ...)
  if first == RAISE then
    error((...), 0)
  end
  return first, ...
end
return function(raw)
  return function(...)
    return check(raw(...))
  end
end
"##;

/// Wraps a raw function (returning [`raise`] results on error) into one that raises strings.
pub(crate) fn wrap(lua: &Lua, raw: Function) -> Result<Function> {
    let key = "sluice.raise";
    let factory: Function = match lua.named_registry_value::<Option<Function>>(key)? {
        Some(f) => f,
        None => {
            let error: Function = lua.globals().raw_get("error")?;
            let f: Function = lua
                .load(WRAPPER)
                .set_name("=sluice.raise")
                .call((raise_mark(), error))?;
            lua.set_named_registry_value(key, &f)?;
            f
        }
    };
    factory.call(raw)
}

/// Creates a raising function from a closure returning `Ok(values)` or [`raise`] results.
pub(crate) fn function<F>(lua: &Lua, f: F) -> Result<Function>
where
    F: Fn(&Lua, MultiValue) -> Result<MultiValue> + 'static,
{
    wrap(lua, lua.create_function(f)?)
}
