//! Query strings and form bodies as OpenResty decodes them (`ngx.decode_args`): `+` is a space,
//! `%XX` is decoded, a key without `=` is `true`, repeated keys become arrays.

use mlua::{Lua, Table, Value};

/// Decodes at most `max` arguments (0 = no limit) into a Lua table.
pub fn decode(lua: &Lua, text: &str, max: usize) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for (n, pair) in text.split('&').filter(|p| !p.is_empty()).enumerate() {
        if max != 0 && n == max {
            break;
        }
        let (key, value) = match pair.split_once('=') {
            Some((k, v)) => (unescape(k), Value::String(lua.create_string(unescape(v))?)),
            None => (unescape(pair), Value::Boolean(true)),
        };
        if key.is_empty() {
            continue;
        }
        let key = lua.create_string(&key)?;
        match t.raw_get::<Value>(&key)? {
            Value::Nil => t.raw_set(key, value)?,
            Value::Table(list) => list.raw_push(value)?,
            first => t.raw_set(key, lua.create_sequence_from([first, value])?)?,
        }
    }
    Ok(t)
}

/// `+` → space, then percent-decoding; invalid escapes are kept as they are.
pub fn unescape(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex(b: Option<&u8>) -> Option<u8> {
    (*b? as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_like_nginx() {
        assert_eq!(unescape("a+b%20c%2"), b"a b c%2");
        assert_eq!(unescape("%zz%41"), b"%zzA");
    }
}
