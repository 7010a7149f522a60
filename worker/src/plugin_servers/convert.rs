//! MessagePack values to Lua and back, as Kong's bridge converts PDK arguments and results:
//! byte strings either way, arrays as sequences, integral numbers as integers, `cjson.null` and
//! anything without a wire form (functions, userdata) as nil.

use mlua::{Lua, Table, Value as LuaValue};
use rmpv::Value;

/// Nesting deeper than this is cut off (a table that contains itself).
const MAX_DEPTH: usize = 32;

/// One argument of a PDK call, for Lua.
pub fn to_lua(lua: &Lua, value: &Value) -> mlua::Result<LuaValue> {
    Ok(match value {
        Value::Nil | Value::Ext(..) => LuaValue::Nil,
        Value::Boolean(b) => LuaValue::Boolean(*b),
        Value::Integer(i) => match i.as_i64() {
            Some(i) => LuaValue::Integer(i),
            None => LuaValue::Number(i.as_f64().unwrap_or(f64::NAN)),
        },
        Value::F32(f) => LuaValue::Number(f64::from(*f)),
        Value::F64(f) => LuaValue::Number(*f),
        Value::String(s) => LuaValue::String(lua.create_string(s.as_bytes())?),
        Value::Binary(b) => LuaValue::String(lua.create_string(b)?),
        Value::Array(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for item in items {
                t.raw_push(to_lua(lua, item)?)?;
            }
            LuaValue::Table(t)
        }
        Value::Map(entries) => {
            let t = lua.create_table_with_capacity(0, entries.len())?;
            for (k, v) in entries {
                t.raw_set(to_lua(lua, k)?, to_lua(lua, v)?)?;
            }
            LuaValue::Table(t)
        }
    })
}

/// A PDK result, for the wire.
pub fn from_lua(value: &LuaValue) -> Value {
    convert(value, 0)
}

/// A byte string for the wire: `str` if it is text, else `bin`.
pub fn from_bytes(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(text) => Value::from(text),
        Err(_) => Value::Binary(bytes.to_vec()),
    }
}

fn convert(value: &LuaValue, depth: usize) -> Value {
    match value {
        LuaValue::Boolean(b) => Value::Boolean(*b),
        LuaValue::Integer(i) => Value::from(*i),
        LuaValue::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => Value::from(*n as i64),
        LuaValue::Number(n) => Value::F64(*n),
        LuaValue::String(s) => from_bytes(&s.as_bytes()),
        LuaValue::Table(t) if depth < MAX_DEPTH => table(t, depth + 1),
        _ => Value::Nil,
    }
}

/// A sequence becomes an array (an empty table too, as Kong's encoder does); anything else a
/// map.
fn table(t: &Table, depth: usize) -> Value {
    let len = t.raw_len();
    let pairs = || t.pairs::<LuaValue, LuaValue>().flatten();
    if pairs().count() == len {
        let item = |i| {
            t.raw_get::<LuaValue>(i)
                .map_or(Value::Nil, |v| convert(&v, depth))
        };
        return Value::Array((1..=len).map(item).collect());
    }
    Value::Map(
        pairs()
            .map(|(k, v)| (convert(&k, depth), convert(&v, depth)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_what_plugins_send() {
        let lua = Lua::new();
        let headers = Value::Map(vec![
            ("x-why".into(), Value::Array(vec!["a".into(), "b".into()])),
            ("n".into(), 3.into()),
        ]);
        let t = to_lua(&lua, &headers).unwrap();
        let LuaValue::Table(table) = &t else {
            panic!("{t:?}")
        };
        assert_eq!(table.get::<Table>("x-why").unwrap().raw_len(), 2);
        let back = from_lua(&t);
        let Value::Map(mut entries) = back else {
            panic!("{back:?}")
        };
        entries.sort_by_key(|(k, _)| k.to_string());
        assert_eq!(entries[0], ("n".into(), 3.into()));
        assert_eq!(
            entries[1],
            ("x-why".into(), Value::Array(vec!["a".into(), "b".into()]))
        );

        let body = to_lua(&lua, &Value::Binary(vec![0xff, b'x'])).unwrap();
        assert_eq!(from_lua(&body), Value::Binary(vec![0xff, b'x']));
    }

    #[test]
    fn numbers_nil_and_cycles() {
        let lua = Lua::new();
        assert_eq!(from_lua(&LuaValue::Number(200.0)), Value::from(200));
        assert_eq!(from_lua(&LuaValue::Number(1.5)), Value::F64(1.5));
        assert_eq!(
            from_lua(&LuaValue::Table(lua.create_table().unwrap())),
            Value::Array(vec![])
        );
        let looped: Table = lua.load("local t = {} t.self = t return t").eval().unwrap();
        let v = from_lua(&LuaValue::Table(looped));
        assert!(matches!(v, Value::Map(_)), "{v:?}");
        let f = lua.create_function(|_, ()| Ok(())).unwrap();
        assert_eq!(from_lua(&LuaValue::Function(f)), Value::Nil);
    }
}
