//! `ngx.escape_uri`, `ngx.unescape_uri`, `ngx.encode_args`, `ngx.decode_args` and
//! `ngx.quote_sql_str`, with lua-nginx-module's character classes and parsing rules.

use mlua::{IntoLuaMulti, Lua, LuaString, MultiValue, Result, Table, Value};

use crate::args::{bad_argument, check_string, string_or_empty, tostring};

pub(super) fn install(lua: &Lua, ngx: &Table) -> Result<()> {
    ngx.raw_set(
        "escape_uri",
        lua.create_function(|lua, (s, kind): (Value, Value)| {
            let s = string_or_empty(lua, s)?;
            let kind = match kind {
                Value::Nil => Escape::UriComponent,
                Value::Integer(n) => Escape::from_type(n)?,
                Value::Number(n) => Escape::from_type(n as i64)?,
                _ => return Err(mlua::Error::runtime("\"type\" is not number")),
            };
            let mut out = Vec::with_capacity(s.as_bytes().len());
            escape(&mut out, &s.as_bytes(), kind);
            lua.create_string(out)
        })?,
    )?;
    ngx.raw_set(
        "unescape_uri",
        lua.create_function(|lua, s: Value| {
            let s = string_or_empty(lua, s)?;
            lua.create_string(unescape(&s.as_bytes()))
        })?,
    )?;
    ngx.raw_set(
        "encode_args",
        lua.create_function(|lua, t: Value| match t {
            Value::Table(t) => lua.create_string(encode_args(lua, &t)?),
            other => Err(bad_argument(
                1,
                "encode_args",
                &format!("table expected, got {}", other.type_name()),
            )),
        })?,
    )?;
    ngx.raw_set(
        "decode_args",
        lua.create_function(|lua, (s, max): (Value, Option<i64>)| {
            let s = check_string(lua, s, 1, "decode_args")?;
            decode_args(lua, &s.as_bytes(), max.unwrap_or(100))
        })?,
    )?;
    ngx.raw_set(
        "quote_sql_str",
        lua.create_function(|lua, s: Value| {
            let s = check_string(lua, s, 1, "quote_sql_str")?;
            lua.create_string(quote_sql(&s.as_bytes()))
        })?,
    )
}

/// lua-nginx-module's escaping classes (`ngx.escape_uri(s, type)`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Escape {
    /// 0: a whole URI (space, `#`, `%`, `?`, controls, non-ASCII).
    Uri,
    /// 1: query arguments (as `Uri` plus `+`).
    Args,
    /// 2: a URI component: everything but `A-Z a-z 0-9 - _ . ! ~ * ' ( )`.
    UriComponent,
    /// 3: HTML attribute (space, `"`, `#`, `%`, `'`, controls, non-ASCII).
    Html,
    /// 4: `Refresh` header (space, `"`, `'`, controls, non-ASCII).
    Refresh,
    /// 5 and 6: memcached keys and mail auth (space, `%`, controls).
    Memcached,
    /// 7: header names.
    HeaderName,
    /// 8: header values (controls except tab, and DEL).
    HeaderValue,
}

impl Escape {
    fn from_type(n: i64) -> Result<Escape> {
        Ok(match n {
            0 => Escape::Uri,
            1 => Escape::Args,
            2 => Escape::UriComponent,
            3 => Escape::Html,
            4 => Escape::Refresh,
            5 | 6 => Escape::Memcached,
            7 => Escape::HeaderName,
            8 => Escape::HeaderValue,
            _ => return Err(mlua::Error::runtime(format!("\"type\" {n} out of range"))),
        })
    }

    fn escapes(self, c: u8) -> bool {
        let control = c < 0x20;
        let high = c >= 0x7f;
        match self {
            Escape::Uri => control || high || b" #%?".contains(&c),
            Escape::Args => control || high || b" #%+?".contains(&c),
            Escape::UriComponent => !(c.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&c)),
            Escape::Html => control || high || b" \"#%'".contains(&c),
            Escape::Refresh => control || high || b" \"'".contains(&c),
            Escape::Memcached => control || b" %".contains(&c),
            Escape::HeaderName => control || high || b" \"(),/:;<=>?@[\\]{}".contains(&c),
            Escape::HeaderValue => (control && c != b'\t') || c == 0x7f,
        }
    }
}

/// Appends `s` to `out` with `%XX` (uppercase hex) for every byte the class escapes.
pub(crate) fn escape(out: &mut Vec<u8>, s: &[u8], kind: Escape) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &c in s {
        if kind.escapes(c) {
            out.extend_from_slice(&[b'%', HEX[usize::from(c >> 4)], HEX[usize::from(c & 0xf)]]);
        } else {
            out.push(c);
        }
    }
}

/// `ngx.unescape_uri`: `%XX` decoded, `+` becomes a space, malformed `%` kept as is.
pub(crate) fn unescape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'%' => match (
                s.get(i + 1).and_then(hex_value),
                s.get(i + 2).and_then(hex_value),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    out
}

fn hex_value(c: &u8) -> Option<u8> {
    (*c as char).to_digit(16).map(|d| d as u8)
}

/// `ngx.encode_args`: `k=v` pairs joined by `&`; `true` gives a bare key, `false` is skipped,
/// array values repeat the key. Keys must be strings.
fn encode_args(lua: &Lua, t: &Table) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut push_pair = |key: &[u8], value: Option<&[u8]>| {
        if !out.is_empty() {
            out.push(b'&');
        }
        escape(&mut out, key, Escape::UriComponent);
        if let Some(v) = value {
            out.push(b'=');
            escape(&mut out, v, Escape::UriComponent);
        }
    };
    for pair in t.pairs::<Value, Value>() {
        let (key, value) = pair?;
        let Value::String(key) = key else {
            return Err(mlua::Error::runtime(
                "attempt to use a non-string key in the \"args\" option table",
            ));
        };
        let key = key.as_bytes();
        match value {
            Value::Boolean(true) => push_pair(&key, None),
            Value::Boolean(false) => {}
            Value::String(_) | Value::Integer(_) | Value::Number(_) => {
                push_pair(&key, Some(&tostring(lua, value)?.as_bytes()))
            }
            Value::Table(values) => {
                for item in values.pairs::<Value, Value>() {
                    match item?.1 {
                        Value::Boolean(true) => push_pair(&key, None),
                        Value::Boolean(false) => {}
                        v @ (Value::String(_) | Value::Integer(_) | Value::Number(_)) => {
                            push_pair(&key, Some(&tostring(lua, v)?.as_bytes()))
                        }
                        other => return Err(bad_arg_value(&other)),
                    }
                }
            }
            other => return Err(bad_arg_value(&other)),
        }
    }
    Ok(out)
}

fn bad_arg_value(v: &Value) -> mlua::Error {
    mlua::Error::runtime(format!(
        "attempt to use {} as query arg value",
        v.type_name()
    ))
}

/// `ngx.decode_args(str, max_args)`: pairs split on `&`, unescaped; a key without `=` is
/// `true`; repeated keys collect into an array; empty keys are dropped. At most `max_args`
/// pairs (0 = no limit); when the limit cuts the string short, a second value `"truncated"`.
fn decode_args(lua: &Lua, s: &[u8], max: i64) -> Result<MultiValue> {
    let args = lua.create_table()?;
    let mut count = 0;
    let mut pairs = s.split(|&c| c == b'&').peekable();
    while let Some(pair) = pairs.next() {
        let is_last = pairs.peek().is_none();
        if is_last && pair.is_empty() {
            break;
        }
        let (key, value) = match pair.iter().position(|&c| c == b'=') {
            Some(eq) => (
                unescape(&pair[..eq]),
                Value::String(lua.create_string(unescape(&pair[eq + 1..]))?),
            ),
            None => (unescape(pair), Value::Boolean(true)),
        };
        if !key.is_empty() {
            add_multi_value(lua, &args, lua.create_string(key)?, value)?;
        }
        count += 1;
        if max > 0 && count == max && !is_last {
            return (args, "truncated").into_lua_multi(lua);
        }
    }
    args.into_lua_multi(lua)
}

/// Stores `value` at `key`, turning a repeated key into an array of its values.
pub(crate) fn add_multi_value(lua: &Lua, t: &Table, key: LuaString, value: Value) -> Result<()> {
    match t.raw_get::<Value>(&key)? {
        Value::Nil => t.raw_set(key, value),
        Value::Table(list) => list.raw_push(value),
        first => t.raw_set(key, lua.create_sequence_from([first, value])?),
    }
}

/// `ngx.quote_sql_str`: MySQL-style escaping inside single quotes.
fn quote_sql(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + 2);
    out.push(b'\'');
    for &c in s {
        match c {
            0 => out.extend_from_slice(b"\\0"),
            0x08 => out.extend_from_slice(b"\\b"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x1a => out.extend_from_slice(b"\\Z"),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\'' => out.extend_from_slice(b"\\'"),
            b'"' => out.extend_from_slice(b"\\\""),
            c => out.push(c),
        }
    }
    out.push(b'\'');
    out
}

#[cfg(test)]
mod tests {
    use crate::testing::{run, vm};

    #[test]
    fn escape_types() {
        run(
            &vm(),
            r##"
            assert(ngx.escape_uri("a 你") == "a%20%E4%BD%A0")
            assert(ngx.escape_uri("-_.!~*'()") == "-_.!~*'()")
            assert(ngx.escape_uri("a/b?c=d&e+f#g@h:i") == "a%2Fb%3Fc%3Dd%26e%2Bf%23g%40h%3Ai")
            assert(ngx.escape_uri("a/b?c=d&e+f#g %", 0) == "a/b%3Fc=d&e+f%23g%20%25")
            assert(ngx.escape_uri("a+b c", 1) == "a%2Bb%20c")
            assert(ngx.escape_uri(nil) == "" and ngx.escape_uri(12) == "12")
            assert(not pcall(ngx.escape_uri, "x", "2"))
            assert(not pcall(ngx.escape_uri, "x", 11))
            assert(ngx.unescape_uri("a%20%e4%bd%a0") == "a 你")
            assert(ngx.unescape_uri("a+b%2") == "a b%2")
            assert(ngx.unescape_uri("%zz%41") == "%zzA")
        "##,
        );
    }

    #[test]
    fn encode_args_values() {
        run(
            &vm(),
            r##"
            assert(ngx.encode_args({}) == "")
            assert(ngx.encode_args({a = "hello world"}) == "a=hello%20world")
            assert(ngx.encode_args({a = 3.5}) == "a=3.5")
            assert(ngx.encode_args({flag = true}) == "flag")
            assert(ngx.encode_args({off = false}) == "")
            assert(ngx.encode_args({multi = {"x", "y z", true, false}}) == "multi=x&multi=y%20z&multi")
            local s = ngx.encode_args({a = 1, b = 2})
            assert(s == "a=1&b=2" or s == "b=2&a=1")
            assert(not pcall(ngx.encode_args, {[1] = "x"}))
            assert(ngx.encode_args({a = {}}) == "")
            assert(not pcall(ngx.encode_args, {a = print}))
            assert(not pcall(ngx.encode_args, nil))
        "##,
        );
    }

    #[test]
    fn decode_args_values() {
        run(
            &vm(),
            r##"
            local a = ngx.decode_args("a=1&b=hello+world&c&d=&a=2&=x&%41=%42")
            assert(a.a[1] == "1" and a.a[2] == "2" and #a.a == 2)
            assert(a.b == "hello world" and a.c == true and a.d == "" and a[""] == nil)
            assert(a.A == "B")
            local t, err = ngx.decode_args("a=1&b=2&c=3", 2)
            assert(t.a == "1" and t.b == "2" and t.c == nil and err == "truncated")
            local t2, err2 = ngx.decode_args("a=1&b=2", 2)
            assert(t2.b == "2" and err2 == nil)
            local all = ngx.decode_args(string.rep("k=v&", 150), 0)
            assert(#all.k == 150)
            assert(#ngx.decode_args(string.rep("k=v&", 150)).k == 100)
            assert(next(ngx.decode_args("")) == nil)
        "##,
        );
    }

    #[test]
    fn quote_sql_str() {
        run(
            &vm(),
            r##"
            assert(ngx.quote_sql_str("a'b\"c\\d\n\0\26") == "'a\\'b\\\"c\\\\d\\n\\0\\Z'")
            assert(ngx.quote_sql_str(12) == "'12'")
        "##,
        );
    }
}
