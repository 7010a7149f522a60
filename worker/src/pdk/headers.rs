//! Header tables as OpenResty makes them (`ngx.req.get_headers`): lower-case names, repeated
//! headers as arrays, and a metatable that finds `Content_Type` or `Content-Type` too. And the
//! other way: Lua values to header values, with Kong's validation.

use std::cell::RefMut;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;
use mlua::{BString, Either, Lua, LuaString, Table, Value};

use super::{def_strings, request_in};
use crate::runloop::{Phases, RequestCtx};

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
    name_of(&s.as_bytes())
}

fn name_of(bytes: &[u8]) -> mlua::Result<HeaderName> {
    HeaderName::from_bytes(bytes).map_err(|_| {
        mlua::Error::runtime(format!(
            "invalid header name \"{}\"",
            String::from_utf8_lossy(bytes)
        ))
    })
}

/// Defines `set_header` on `t`, allowed in `phases`, for the headers `target` picks out of the
/// request: strings (the usual call) go the fast way of [`def_strings`].
pub fn def_set(
    lua: &Lua,
    t: &Table,
    phases: Phases,
    target: fn(&RequestCtx) -> RefMut<'_, HeaderMap>,
) -> mlua::Result<()> {
    def_strings(
        lua,
        t,
        "set_header",
        2,
        move |_, (name, value): (BString, BString)| {
            let ctx = request_in(phases)?;
            let name = name_of(&name)?;
            // The bytes read off the stack become the value's own, without another copy.
            let value = HeaderValue::from_maybe_shared(Bytes::from(Vec::from(value)))
                .map_err(|_| invalid_value())?;
            set(&mut target(&ctx), name, Values::One(value));
            Ok(())
        },
        move |_, (name, value): (Value, Value)| {
            let ctx = request_in(phases)?;
            let (name, values) = (self::name(&name)?, values(&value)?);
            set(&mut target(&ctx), name, values);
            Ok(())
        },
    )
}

/// The values of a header from Lua: a string, number or boolean, or an array of them.
pub fn values(value: &Value) -> mlua::Result<Values> {
    match value {
        Value::Table(t) => t
            .sequence_values::<Value>()
            .map(|v| one_value(&v?))
            .collect::<mlua::Result<_>>()
            .map(Values::Many),
        v => one_value(v).map(Values::One),
    }
}

/// A header's values from Lua; nearly always one, which then needs no `Vec`.
pub enum Values {
    One(HeaderValue),
    Many(Vec<HeaderValue>),
}

impl IntoIterator for Values {
    type Item = HeaderValue;
    type IntoIter =
        std::iter::Chain<std::option::IntoIter<HeaderValue>, std::vec::IntoIter<HeaderValue>>;

    fn into_iter(self) -> Self::IntoIter {
        match self {
            Values::One(v) => Some(v).into_iter().chain(Vec::new()),
            Values::Many(vs) => None.into_iter().chain(vs),
        }
    }
}

fn one_value(v: &Value) -> mlua::Result<HeaderValue> {
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
}

fn header_value(text: &[u8]) -> mlua::Result<HeaderValue> {
    HeaderValue::from_bytes(text).map_err(|_| invalid_value())
}

fn invalid_value() -> mlua::Error {
    mlua::Error::runtime("invalid header value: contains a control character")
}

/// Replaces `name` with the given values (nil or an empty array clears it).
pub fn set(headers: &mut HeaderMap, name: HeaderName, values: Values) {
    let values = match values {
        // `insert` drops the old values too: one lookup, and no clone of the name.
        Values::One(v) => {
            headers.insert(name, v);
            return;
        }
        Values::Many(values) => values,
    };
    let mut values = values.into_iter();
    let Some(first) = values.next() else {
        headers.remove(&name);
        return;
    };
    headers.insert(name.clone(), first);
    for v in values {
        headers.append(name.clone(), v);
    }
}

/// `bytes` as UTF-8, or the error `LuaString::to_str` gives.
pub fn utf8(bytes: &[u8]) -> mlua::Result<&str> {
    std::str::from_utf8(bytes).map_err(|e| mlua::Error::FromLuaConversionError {
        from: "string",
        to: "&str".to_owned(),
        message: Some(e.to_string()),
    })
}

/// The first value of a header as a Lua string, or nil.
pub fn first(lua: &Lua, headers: &HeaderMap, name: &str) -> mlua::Result<Value> {
    match lookup(headers, name) {
        Some(v) => Ok(Value::String(lua.create_string(v.as_bytes())?)),
        None => Ok(Value::Nil),
    }
}

/// [`first`] as a function's result: text goes onto the Lua stack directly, which a `Value`
/// string (made in mlua's reference registry first) does not.
pub fn first_text(
    lua: &Lua,
    headers: &HeaderMap,
    name: &str,
) -> mlua::Result<Option<Either<String, LuaString>>> {
    lookup(headers, name)
        .map(|v| match v.to_str() {
            Ok(text) => Ok(Either::Left(text.to_owned())),
            Err(_) => lua.create_string(v.as_bytes()).map(Either::Right),
        })
        .transpose()
}

/// The first value of header `name`, any case, `_` standing for `-`.
fn lookup<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a HeaderValue> {
    // Lookups by `&str` ignore case already; only `_` for `-` needs a new string.
    if name.contains('_') {
        headers.get(name.replace('_', "-").as_str())
    } else {
        headers.get(name)
    }
}
