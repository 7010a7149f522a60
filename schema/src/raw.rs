//! A schema definition as plain data, whether it came from a Lua table (`schema.lua`) or from
//! the JSON a plugin server dumps. Lua functions (`custom_validator`, `func`, ...) are kept as
//! handles to be called later on the same VM.

use mlua::{Function, Table, Value as LuaValue};
use serde_json::{Map, Number, Value};

/// Nesting deeper than this is a cycle or a mistake, not a schema.
const MAX_DEPTH: usize = 64;

#[derive(Clone, Debug)]
pub(crate) enum Raw {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Raw>),
    /// Keys sorted, so errors come out in a stable order.
    Object(Vec<(String, Raw)>),
    Function(Function),
}

impl Raw {
    /// Reads a Lua value. `ngx.null` (a NULL light userdata, as mlua's `Lua::null`) is `Null`;
    /// a table is an array when its keys are exactly `1..n`.
    pub(crate) fn from_lua(value: LuaValue) -> Result<Raw, String> {
        Self::lua_at(value, 0)
    }

    fn lua_at(value: LuaValue, depth: usize) -> Result<Raw, String> {
        if depth > MAX_DEPTH {
            return Err("table nesting is too deep (a cycle?)".into());
        }
        Ok(match value {
            LuaValue::Nil => Raw::Null,
            LuaValue::LightUserData(p) if p.0.is_null() => Raw::Null,
            LuaValue::Boolean(b) => Raw::Bool(b),
            LuaValue::Integer(i) => Raw::Number(i as f64),
            LuaValue::Number(n) => Raw::Number(n),
            LuaValue::String(s) => Raw::String(s.to_string_lossy()),
            LuaValue::Function(f) => Raw::Function(f),
            LuaValue::Table(t) => Self::table(t, depth)?,
            other => return Err(format!("unexpected Lua {}", other.type_name())),
        })
    }

    fn table(t: Table, depth: usize) -> Result<Raw, String> {
        let len = t.raw_len();
        let mut items = Vec::new();
        for pair in t.pairs::<LuaValue, LuaValue>() {
            let (k, v) = pair.map_err(|e| e.to_string())?;
            let key = match k {
                LuaValue::String(s) => Key::Name(s.to_string_lossy()),
                LuaValue::Integer(i) => Key::Index(i as f64),
                LuaValue::Number(n) => Key::Index(n),
                other => return Err(format!("unexpected {} table key", other.type_name())),
            };
            items.push((key, Self::lua_at(v, depth + 1)?));
        }
        let is_array = items.len() == len
            && items
                .iter()
                .all(|(k, _)| matches!(k, Key::Index(i) if i.fract() == 0.0 && *i >= 1.0 && *i <= len as f64));
        if is_array && len > 0 {
            items.sort_by(|a, b| a.0.index().total_cmp(&b.0.index()));
            return Ok(Raw::Array(items.into_iter().map(|(_, v)| v).collect()));
        }
        let mut entries: Vec<(String, Raw)> =
            items.into_iter().map(|(k, v)| (k.into_name(), v)).collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Raw::Object(entries))
    }

    pub(crate) fn from_json(value: &Value) -> Raw {
        match value {
            Value::Null => Raw::Null,
            Value::Bool(b) => Raw::Bool(*b),
            Value::Number(n) => Raw::Number(n.as_f64().unwrap_or(f64::NAN)),
            Value::String(s) => Raw::String(s.clone()),
            Value::Array(a) => Raw::Array(a.iter().map(Raw::from_json).collect()),
            Value::Object(o) => Raw::Object(
                o.iter()
                    .map(|(k, v)| (k.clone(), Raw::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// The data as JSON; a function cannot be data.
    pub(crate) fn to_json(&self) -> Result<Value, String> {
        Ok(match self {
            Raw::Null => Value::Null,
            Raw::Bool(b) => Value::Bool(*b),
            Raw::Number(n) => number(*n),
            Raw::String(s) => Value::String(s.clone()),
            Raw::Array(a) => Value::Array(a.iter().map(Raw::to_json).collect::<Result<_, _>>()?),
            Raw::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| Ok((k.clone(), v.to_json()?)))
                    .collect::<Result<Map<_, _>, String>>()?,
            ),
            Raw::Function(_) => return Err("a function is not a value".into()),
        })
    }

    /// The entries of a table; an empty array is an empty table too.
    pub(crate) fn as_object(&self) -> Option<&[(String, Raw)]> {
        match self {
            Raw::Object(o) => Some(o),
            Raw::Array(a) if a.is_empty() => Some(&[]),
            _ => None,
        }
    }

    /// The items of a sequence; an empty table is an empty sequence too.
    pub(crate) fn as_array(&self) -> Option<&[Raw]> {
        match self {
            Raw::Array(a) => Some(a),
            Raw::Object(o) if o.is_empty() => Some(&[]),
            _ => None,
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Raw> {
        self.as_object()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

enum Key {
    Name(String),
    Index(f64),
}

impl Key {
    fn index(&self) -> f64 {
        match self {
            Key::Index(i) => *i,
            Key::Name(_) => f64::NAN,
        }
    }

    fn into_name(self) -> String {
        match self {
            Key::Name(s) => s,
            Key::Index(i) => crate::text::number(i),
        }
    }
}

/// Lua has one number type: an integral value becomes a JSON integer, as cjson prints it.
pub(crate) fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::Number(Number::from(n as i64))
    } else {
        Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlua::{Lua, LuaSerdeExt};
    use serde_json::json;

    #[test]
    fn lua_tables_become_arrays_or_sorted_objects() {
        let lua = Lua::new();
        lua.globals().set("null", lua.null()).unwrap();
        let v: LuaValue = lua
            .load(r#"{ b = { 3, 2.5, "x" }, a = { [1] = true, [3] = false }, n = null, e = {} }"#)
            .eval()
            .unwrap();
        let raw = Raw::from_lua(v).unwrap();
        assert_eq!(
            raw.to_json().unwrap(),
            json!({"a": {"1": true, "3": false}, "b": [3, 2.5, "x"], "e": {}, "n": null})
        );
        assert_eq!(raw.as_object().unwrap()[0].0, "a");
        assert!(raw.get("e").unwrap().as_array().unwrap().is_empty());
    }

    #[test]
    fn functions_are_kept_but_are_not_data() {
        let lua = Lua::new();
        let v: LuaValue = lua.load("{ f = function() end }").eval().unwrap();
        let raw = Raw::from_lua(v).unwrap();
        assert!(matches!(raw.get("f"), Some(Raw::Function(_))));
        assert_eq!(raw.to_json().unwrap_err(), "a function is not a value");
    }

    #[test]
    fn cycles_are_refused() {
        let lua = Lua::new();
        let v: LuaValue = lua.load("local t = {}; t.t = t; return t").eval().unwrap();
        assert!(Raw::from_lua(v).unwrap_err().contains("too deep"));
    }
}
