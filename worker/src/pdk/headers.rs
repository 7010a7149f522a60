//! Header tables as OpenResty makes them (`ngx.req.get_headers`): lower-case names, repeated
//! headers as arrays, and a metatable that finds `Content_Type` or `Content-Type` too. And the
//! other way: Lua values to header values, with Kong's validation.

use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;
use mlua::{Lua, Table, Value};

/// OpenResty's default `max_headers` / `max_args`.
pub const DEFAULT_MAX: usize = 100;

/// `headers` as a Lua table; at most `max` header lines (0 = no limit). Returns `"truncated"` as a
/// second value when the limit cut it, as `ngx.req.get_headers` does.
pub fn to_table(
    lua: &Lua,
    headers: &HeaderMap,
    max: usize,
) -> mlua::Result<(Table, Option<&'static str>)> {
    let t = lua.create_table()?;
    let mut truncated = None;
    for (count, (name, value)) in headers.iter().enumerate() {
        if max != 0 && count == max {
            truncated = Some("truncated");
            break;
        }
        let value = lua.create_string(value.as_bytes())?;
        match t.raw_get::<Value>(name.as_str())? {
            Value::Nil => t.raw_set(name.as_str(), value)?,
            Value::Table(list) => list.raw_push(value)?,
            first => t.raw_set(
                name.as_str(),
                lua.create_sequence_from([first, Value::String(value)])?,
            )?,
        }
    }
    t.set_metatable(Some(normalizing_metatable(lua)?))?;
    Ok((t, truncated))
}

/// `__index` that retries a missing key lower-cased with `_` as `-`.
fn normalizing_metatable(lua: &Lua) -> mlua::Result<Table> {
    if let Ok(Value::Table(mt)) = lua.named_registry_value::<Value>("sluice.headers_mt") {
        return Ok(mt);
    }
    let mt = lua.create_table()?;
    mt.set(
        "__index",
        lua.create_function(|_, (t, key): (Table, Value)| match key {
            Value::String(k) => {
                let normalized = k.to_string_lossy().to_ascii_lowercase().replace('_', "-");
                t.raw_get::<Value>(normalized)
            }
            _ => Ok(Value::Nil),
        })?,
    )?;
    lua.set_named_registry_value("sluice.headers_mt", &mt)?;
    Ok(mt)
}

/// A header name from Lua, as Kong validates it.
pub fn name(value: &Value) -> mlua::Result<HeaderName> {
    let Value::String(s) = value else {
        return Err(mlua::Error::runtime("header name must be a string"));
    };
    HeaderName::from_bytes(s.as_bytes().as_ref()).map_err(|_| {
        mlua::Error::runtime(format!("invalid header name \"{}\"", s.to_string_lossy()))
    })
}

/// The values of a header from Lua: a string, number or boolean, or an array of them.
pub fn values(value: &Value) -> mlua::Result<Vec<HeaderValue>> {
    let one = |v: &Value| -> mlua::Result<HeaderValue> {
        let text = match v {
            Value::String(s) => return header_value(&s.as_bytes()),
            Value::Integer(i) => i.to_string(),
            Value::Number(n) => n.to_string(),
            Value::Boolean(b) => b.to_string(),
            _ => {
                return Err(mlua::Error::runtime(
                    "invalid header value: must be a string, number, boolean or array of them",
                ))
            }
        };
        header_value(text.as_bytes())
    };
    match value {
        Value::Table(t) => t.sequence_values::<Value>().map(|v| one(&v?)).collect(),
        v => Ok(vec![one(v)?]),
    }
}

fn header_value(text: &[u8]) -> mlua::Result<HeaderValue> {
    HeaderValue::from_bytes(text)
        .map_err(|_| mlua::Error::runtime("invalid header value: contains a control character"))
}

/// Replaces `name` with the given values (nil or an empty array clears it).
pub fn set(headers: &mut HeaderMap, name: HeaderName, values: Vec<HeaderValue>) {
    let mut values = values.into_iter();
    let Some(first) = values.next() else {
        headers.remove(&name);
        return;
    };
    // `insert` drops the old values too: one lookup for the usual single value.
    headers.insert(name.clone(), first);
    for v in values {
        headers.append(name.clone(), v);
    }
}

/// The first value of a header as a Lua string, or nil.
pub fn first(lua: &Lua, headers: &HeaderMap, name: &str) -> mlua::Result<Value> {
    // Lookups by `&str` ignore case already; only `_` for `-` needs a new string.
    let value = if name.contains('_') {
        headers.get(name.replace('_', "-").as_str())
    } else {
        headers.get(name)
    };
    match value {
        Some(v) => Ok(Value::String(lua.create_string(v.as_bytes())?)),
        None => Ok(Value::Nil),
    }
}
