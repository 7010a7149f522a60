//! `ngx.shared.DICT`: the shdict zones with lua-resty-core's argument handling and return
//! conventions (`ok, err, forcible`; `value, flags`; `value, flags, stale`; `nil, err`).

use std::sync::Arc;

use mlua::{
    BString, Either, IntoLuaMulti, Lua, LuaString, MultiValue, Result, Table, UserData,
    UserDataMethods, Value,
};
use sluice_shdict::{Error as DictError, OwnedValue, Value as DictValue, Zone};

use crate::args::tostring;

/// Returns early from a method with `nil, err` when a key is unusable.
macro_rules! or_return {
    ($lua:expr, $key:expr) => {
        match $key {
            Ok(key) => key,
            Err(msg) => return (Value::Nil, msg).into_lua_multi($lua),
        }
    };
}

pub(super) fn install(lua: &Lua, ngx: &Table, zones: &[Arc<Zone>]) -> Result<()> {
    let shared = lua.create_table_with_capacity(0, zones.len())?;
    for zone in zones {
        shared.raw_set(zone.name(), SharedDict(zone.clone()))?;
    }
    ngx.raw_set("shared", shared)
}

struct SharedDict(Arc<Zone>);

/// The store operations that share `set`'s signature.
#[derive(Clone, Copy)]
enum Store {
    Set,
    SafeSet,
    Add,
    SafeAdd,
    Replace,
}

impl UserData for SharedDict {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("get", |lua, this, key: Key| {
            let key = or_return!(lua, key_bytes(lua, key)?);
            match this.0.get(&key) {
                Ok(Some((value, flags))) if flags != 0 => {
                    (dict_value(lua, value)?, flags).into_lua_multi(lua)
                }
                Ok(Some((value, _))) => dict_value(lua, value)?.into_lua_multi(lua),
                Ok(None) => Value::Nil.into_lua_multi(lua),
                Err(e) => fail(lua, e),
            }
        });
        methods.add_method("get_stale", |lua, this, key: Key| {
            let key = or_return!(lua, key_bytes(lua, key)?);
            match this.0.get_stale(&key) {
                Ok(Some((value, flags, stale))) => {
                    let flags = if flags != 0 {
                        Value::Integer(flags.into())
                    } else {
                        Value::Nil
                    };
                    (dict_value(lua, value)?, flags, stale).into_lua_multi(lua)
                }
                Ok(None) => Value::Nil.into_lua_multi(lua),
                Err(e) => fail(lua, e),
            }
        });
        for (name, op) in [
            ("set", Store::Set),
            ("safe_set", Store::SafeSet),
            ("add", Store::Add),
            ("safe_add", Store::SafeAdd),
            ("replace", Store::Replace),
        ] {
            methods.add_method(name, move |lua, this, args: (Key, Value, Value, Value)| {
                store(lua, &this.0, op, args)
            });
        }
        methods.add_method("delete", |lua, this, key: Key| {
            let key = or_return!(lua, key_bytes(lua, key)?);
            match this.0.set(&key, DictValue::Nil, 0.0, 0) {
                Ok(forcible) => (true, Value::Nil, forcible).into_lua_multi(lua),
                Err(e) => (false, e.as_str(), false).into_lua_multi(lua),
            }
        });
        methods.add_method(
            "incr",
            |lua, this, (key, step, init, init_ttl): (Key, Value, Value, Value)| {
                let key = match key_bytes(lua, key)? {
                    Ok(key) => key,
                    Err(msg) => return Ok(nil_err(msg)),
                };
                let step = to_number(lua, step, "value")?;
                let init = match init {
                    Value::Nil => None,
                    v => Some(to_number(lua, v, "init")?),
                };
                let init_ttl = match init_ttl {
                    Value::Nil => 0.0,
                    v => to_number(lua, v, "init_ttl")?,
                };
                match this.0.incr(&key, step, init, init_ttl) {
                    Ok((value, forcible)) => Ok((Some(value), Err(forcible))),
                    Err(e) => failed(e).map(nil_err),
                }
            },
        );
        for (name, left) in [("lpush", true), ("rpush", false)] {
            methods.add_method(name, move |lua, this, (key, value): (Key, Value)| {
                let key = or_return!(lua, key_bytes(lua, key)?);
                let bytes;
                let value = match &value {
                    Value::String(s) => {
                        bytes = s.as_bytes();
                        DictValue::Str(&bytes)
                    }
                    Value::Integer(_) | Value::Number(_) => {
                        DictValue::Number(lua.coerce_number(value.clone())?.unwrap_or_default())
                    }
                    _ => return (Value::Nil, "bad value type").into_lua_multi(lua),
                };
                let pushed = if left {
                    this.0.lpush(&key, value)
                } else {
                    this.0.rpush(&key, value)
                };
                match pushed {
                    Ok(len) => len.into_lua_multi(lua),
                    Err(e) => fail(lua, e),
                }
            });
        }
        for (name, left) in [("lpop", true), ("rpop", false)] {
            methods.add_method(name, move |lua, this, key: Key| {
                let key = or_return!(lua, key_bytes(lua, key)?);
                let popped = if left {
                    this.0.lpop(&key)
                } else {
                    this.0.rpop(&key)
                };
                match popped {
                    Ok(Some(value)) => dict_value(lua, value)?.into_lua_multi(lua),
                    Ok(None) => Value::Nil.into_lua_multi(lua),
                    Err(e) => fail(lua, e),
                }
            });
        }
        methods.add_method("llen", |lua, this, key: Key| {
            let key = or_return!(lua, key_bytes(lua, key)?);
            match this.0.llen(&key) {
                Ok(n) => n.into_lua_multi(lua),
                Err(e) => fail(lua, e),
            }
        });
        methods.add_method("ttl", |lua, this, key: Key| {
            let key = or_return!(lua, key_bytes(lua, key)?);
            match this.0.ttl(&key) {
                Ok(ttl) => ttl.into_lua_multi(lua),
                Err(e) => fail(lua, e),
            }
        });
        methods.add_method("expire", |lua, this, (key, exptime): (Key, Value)| {
            let key = or_return!(lua, key_bytes(lua, key)?);
            let exptime = match exptime {
                Value::Nil => return Err(mlua::Error::runtime("bad \"exptime\" argument")),
                v => to_number(lua, v, "exptime")?,
            };
            match this.0.expire(&key, exptime) {
                Ok(()) => true.into_lua_multi(lua),
                Err(e) => fail(lua, e),
            }
        });
        methods.add_method("flush_all", |_, this, ()| {
            this.0.flush_all();
            Ok(())
        });
        methods.add_method("flush_expired", |_, this, max: Option<usize>| {
            Ok(this.0.flush_expired(max.unwrap_or(0)))
        });
        methods.add_method("get_keys", |lua, this, max: Option<usize>| {
            let keys = this.0.get_keys(max.unwrap_or(1024));
            lua.create_sequence_from(
                keys.into_iter()
                    .map(|k| lua.create_string(k))
                    .collect::<Result<Vec<LuaString>>>()?,
            )
        });
        methods.add_method("capacity", |_, this, ()| Ok(this.0.capacity()));
        methods.add_method("free_space", |_, this, ()| Ok(this.0.free_space()));
    }
}

/// A key argument: strings (and numbers, as `tostring` makes them) are read straight off the Lua
/// stack; a `Value` string would cost a slot in mlua's reference registry and a copy.
type Key = Either<BString, Value>;

/// lua-resty-core's key rules: `nil` is "nil key", anything else goes through `tostring`;
/// empty and over-long keys are reported by the zone.
fn key_bytes(lua: &Lua, key: Key) -> Result<std::result::Result<BString, &'static str>> {
    Ok(match key {
        Either::Left(bytes) => Ok(bytes),
        Either::Right(Value::Nil) => Err("nil key"),
        Either::Right(other) => Ok(tostring(lua, other)?.as_bytes().to_vec().into()),
    })
}

fn to_number(lua: &Lua, v: Value, what: &str) -> Result<f64> {
    // Numbers skip `coerce_number`'s round trip through the Lua stack.
    let n = match v {
        Value::Integer(i) => Some(i as f64),
        Value::Number(n) => Some(n),
        v => lua.coerce_number(v)?,
    };
    n.ok_or_else(|| mlua::Error::runtime(format!("cannot convert '{what}' to a number")))
}

/// `nil, err` for operation errors; the argument errors OpenResty raises are raised.
fn fail(lua: &Lua, e: DictError) -> Result<MultiValue> {
    (Value::Nil, failed(e)?).into_lua_multi(lua)
}

/// The message of an operation error, or the argument error OpenResty raises.
fn failed(e: DictError) -> Result<&'static str> {
    match e {
        DictError::BadExptime | DictError::BadInitTtl | DictError::InitTtlWithoutInit => {
            Err(mlua::Error::runtime(e.as_str()))
        }
        _ => Ok(e.as_str()),
    }
}

/// `incr`'s `value, nil, forcible` or `nil, err`, pushed straight onto the Lua stack: a `Result`
/// last in a tuple pushes one value for `Ok` and `nil, e` for `Err`, so `(Some(v), Err(forcible))`
/// is the success and `(None, Ok(err))` the failure, with no `MultiValue` built.
type Incremented = (Option<f64>, std::result::Result<&'static str, bool>);

fn nil_err(msg: &'static str) -> Incremented {
    (None, Ok(msg))
}

fn dict_value(lua: &Lua, v: OwnedValue) -> Result<Value> {
    Ok(match v {
        OwnedValue::Bool(b) => Value::Boolean(b),
        OwnedValue::Number(n) => Value::Number(n),
        OwnedValue::Str(s) => Value::String(lua.create_string(s)?),
    })
}

fn store(
    lua: &Lua,
    zone: &Zone,
    op: Store,
    (key, value, exptime, flags): (Key, Value, Value, Value),
) -> Result<MultiValue> {
    let key = or_return!(lua, key_bytes(lua, key)?);
    let exptime = match exptime {
        Value::Nil => 0.0,
        v => lua
            .coerce_number(v)?
            .ok_or_else(|| mlua::Error::runtime("bad \"exptime\" argument"))?,
    };
    let flags = match flags {
        Value::Nil => 0,
        v => lua
            .coerce_number(v)?
            .ok_or_else(|| mlua::Error::runtime("bad \"flags\" argument"))? as u32,
    };
    let owned;
    let value = match &value {
        Value::Nil => DictValue::Nil,
        Value::Boolean(b) => DictValue::Bool(*b),
        Value::Integer(_) | Value::Number(_) => {
            DictValue::Number(lua.coerce_number(value.clone())?.unwrap_or_default())
        }
        Value::String(s) => {
            owned = s.as_bytes();
            DictValue::Str(&owned)
        }
        _ => return (Value::Nil, "bad value type").into_lua_multi(lua),
    };
    let result = match op {
        Store::Set => zone.set(&key, value, exptime, flags),
        Store::SafeSet => zone.safe_set(&key, value, exptime, flags),
        Store::Add => zone.add(&key, value, exptime, flags),
        Store::SafeAdd => zone.safe_add(&key, value, exptime, flags),
        Store::Replace => zone.replace(&key, value, exptime, flags),
    };
    match result {
        Ok(forcible) => (true, Value::Nil, forcible).into_lua_multi(lua),
        Err(
            e @ (DictError::BadExptime | DictError::BadInitTtl | DictError::InitTtlWithoutInit),
        ) => Err(mlua::Error::runtime(e.as_str())),
        Err(e @ (DictError::EmptyKey | DictError::KeyTooLong)) => {
            (Value::Nil, e.as_str()).into_lua_multi(lua)
        }
        Err(e) => (false, e.as_str(), false).into_lua_multi(lua),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sluice_shdict::Zone;

    use crate::testing::{run, vm_with};
    use crate::VmOptions;

    fn vm_with_dicts() -> mlua::Lua {
        let zones = vec![
            Arc::new(Zone::create("kong", 64 * 1024).unwrap()),
            Arc::new(Zone::create("counters", 16 * 1024).unwrap()),
        ];
        vm_with(VmOptions {
            shared_dicts: zones,
            ..VmOptions::default()
        })
    }

    #[test]
    fn get_set_and_friends() {
        run(
            &vm_with_dicts(),
            r##"
            local d = ngx.shared.kong
            assert(ngx.shared.counters and ngx.shared.nope == nil)
            local ok, err, forcible = d:set("k", "v")
            assert(ok == true and err == nil and forcible == false)
            assert(d:get("k") == "v" and select("#", d:get("k")) == 1)
            d:set("f", 1.5, 0, 7)
            local v, flags = d:get("f")
            assert(v == 1.5 and flags == 7)
            d:set("b", false)
            assert(d:get("b") == false)
            assert(d:get("missing") == nil)
            v, err = d:get(nil)
            assert(v == nil and err == "nil key")
            v, err = d:get("")
            assert(v == nil and err == "empty key")
            d:set(12, "num key")
            assert(d:get("12") == "num key")
            ok, err = d:set("t", {})
            assert(ok == nil and err == "bad value type")
            ok, err, forcible = d:add("k", "other")
            assert(ok == false and err == "exists" and forcible == false)
            assert(d:add("new", 1) == true and d:safe_add("new2", 1) == true)
            ok, err = d:replace("absent", 1)
            assert(ok == false and err == "not found")
            assert(d:replace("k", "v2") == true and d:get("k") == "v2")
            assert(d:safe_set("s", "x") == true)
            assert(d:delete("k") == true and d:get("k") == nil)
            assert(not pcall(d.set, d, "x", 1, -1))
            assert(d:capacity() == 64 * 1024 and d:free_space() > 0)
        "##,
        );
    }

    #[test]
    fn incr_ttl_stale_and_keys() {
        run(
            &vm_with_dicts(),
            r##"
            local d = ngx.shared.counters
            local v, err = d:incr("c", 1)
            assert(v == nil and err == "not found" and select("#", d:incr("c", 1)) == 2)
            assert(select("#", d:incr(nil, 1)) == 2 and select(2, d:incr(nil, 1)) == "nil key")
            local n, e, forcible = d:incr("c", 1, 0, 60)
            assert(n == 1 and e == nil and forcible == false)
            assert(select("#", d:incr("c", 0)) == 3)
            assert(d:incr("c", 2) == 3)
            local ttl = d:ttl("c")
            assert(ttl > 59 and ttl <= 60)
            assert(d:expire("c", 0) == true and d:ttl("c") == 0)
            v, err = d:ttl("nope")
            assert(v == nil and err == "not found")
            d:set("s", "str")
            v, err = d:incr("s", 1)
            assert(v == nil and err == "not a number")
            assert(not pcall(d.incr, d, "c", "x"))
            d:set("old", "stale value", 0.001)
            local deadline = ngx.now() + 2
            while d:get("old") ~= nil and ngx.now() < deadline do end
            assert(d:get("old") == nil)
            local val, flags, stale = d:get_stale("old")
            assert(val == "stale value" and flags == nil and stale == true)
            val, flags, stale = d:get_stale("s")
            assert(val == "str" and stale == false)
            local keys = d:get_keys(0)
            table.sort(keys)
            assert(#keys == 2 and keys[1] == "c" and keys[2] == "s")
            d:flush_all()
            assert(d:get("c") == nil and #d:get_keys() == 0)
            assert(d:flush_expired() >= 0)
        "##,
        );
    }

    #[test]
    fn lists() {
        run(
            &vm_with_dicts(),
            r##"
            local d = ngx.shared.kong
            assert(d:lpush("l", "a") == 1 and d:rpush("l", 2) == 2 and d:lpush("l", "z") == 3)
            assert(d:llen("l") == 3)
            assert(d:lpop("l") == "z" and d:rpop("l") == 2 and d:lpop("l") == "a")
            assert(d:lpop("l") == nil and d:llen("l") == 0)
            local n, err = d:lpush("l", true)
            assert(n == nil and err == "bad value type")
            d:set("scalar", 1)
            n, err = d:rpush("scalar", "x")
            assert(n == nil and err == "value not a list")
            d:lpush("list", "x")
            local v, e = d:get("list")
            assert(v == nil and e == "value is a list")
        "##,
        );
    }
}
