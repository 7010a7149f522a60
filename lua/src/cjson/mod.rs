//! `cjson` and `cjson.safe` with OpenResty's lua-cjson semantics, implemented in Rust.
//!
//! Each module instance (`require "cjson"`, `require "cjson.safe"`, every `.new()`) has its own
//! settings. `cjson.null` is the NULL light userdata (the same value as `ngx.null`);
//! `cjson.empty_array` is another light userdata encoded as `[]`; `array_mt` and
//! `empty_array_mt` are shared by all instances. Nesting is limited to 1000 levels whatever
//! `encode_max_depth`/`decode_max_depth` say (lua-cjson's own stack check stops near there).

mod decode;
mod encode;
mod number;

use std::cell::RefCell;
use std::ffi::c_void;
use std::rc::Rc;

use mlua::{IntoLuaMulti, LightUserData, Lua, MultiValue, Result, Table, Value};

use crate::raise::{self, raise};

/// The deepest nesting encoded or decoded, whatever the settings.
const HARD_MAX_DEPTH: usize = 1000;

const VERSION: &str = "2.1.0.14";

/// `encode_invalid_numbers`: raise, write `NaN`/`Infinity`, or write `null`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum InvalidNumbers {
    Off,
    On,
    Null,
}

/// One module instance's settings, with lua-cjson's defaults.
#[derive(Clone)]
struct Config {
    encode_sparse_convert: bool,
    encode_sparse_ratio: usize,
    encode_sparse_safe: usize,
    encode_max_depth: usize,
    decode_max_depth: usize,
    encode_invalid_numbers: InvalidNumbers,
    decode_invalid_numbers: bool,
    encode_keep_buffer: bool,
    encode_number_precision: usize,
    encode_empty_table_as_object: bool,
    decode_array_with_array_mt: bool,
    encode_escape_forward_slash: bool,
    encode_skip_unsupported: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            encode_sparse_convert: false,
            encode_sparse_ratio: 2,
            encode_sparse_safe: 10,
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            encode_invalid_numbers: InvalidNumbers::Off,
            decode_invalid_numbers: true,
            encode_keep_buffer: true,
            encode_number_precision: 14,
            encode_empty_table_as_object: true,
            decode_array_with_array_mt: false,
            encode_escape_forward_slash: true,
            encode_skip_unsupported: false,
        }
    }
}

/// The values every instance shares: `empty_array`, `array_mt`, `empty_array_mt`.
#[derive(Clone)]
struct Marks {
    empty_array: LightUserData,
    array_mt: Table,
    empty_array_mt: Table,
}

/// The address `cjson.empty_array` points to (never dereferenced).
static EMPTY_ARRAY: u8 = 0;

/// Registers `cjson` and `cjson.safe` in `package.preload`.
pub(crate) fn install(lua: &Lua) -> Result<()> {
    let marks = Marks {
        empty_array: LightUserData(&EMPTY_ARRAY as *const u8 as *mut c_void),
        array_mt: lua.create_table()?,
        empty_array_mt: lua.create_table()?,
    };
    let preload: Table = lua
        .globals()
        .raw_get::<Table>("package")?
        .raw_get("preload")?;
    for (name, safe) in [("cjson", false), ("cjson.safe", true)] {
        let marks = marks.clone();
        preload.raw_set(
            name,
            lua.create_function(move |lua, ()| new_module(lua, &marks, safe))?,
        )?;
    }
    Ok(())
}

fn new_module(lua: &Lua, marks: &Marks, safe: bool) -> Result<Table> {
    let cfg = Rc::new(RefCell::new(Config::default()));
    let m = lua.create_table()?;
    let (c, mk) = (cfg.clone(), marks.clone());
    m.raw_set(
        "encode",
        raise::function(lua, move |lua, args| {
            let value = match one_argument(lua, args) {
                Ok(v) => v,
                Err(raised) => return Ok(raised),
            };
            let cfg = c.borrow().clone();
            let mut encoder = encode::Encoder {
                cfg: &cfg,
                marks: &mk,
                out: Vec::new(),
            };
            match encoder.encode(&value) {
                Ok(()) => lua.create_string(encoder.out)?.into_lua_multi(lua),
                Err(encode::EncodeError::Message(msg)) => failed(lua, safe, msg),
                Err(encode::EncodeError::Lua(e)) => Err(e),
            }
        })?,
    )?;
    let (c, mk) = (cfg.clone(), marks.clone());
    m.raw_set(
        "decode",
        raise::function(lua, move |lua, args| {
            let text = match one_argument(lua, args) {
                Ok(v) => v,
                Err(raised) => return Ok(raised),
            };
            let ty = text.type_name();
            let Some(text) = lua.coerce_string(text)? else {
                let msg = format!("bad argument #1 to 'decode' (string expected, got {ty})");
                return failed(lua, safe, msg);
            };
            let cfg = c.borrow().clone();
            match decode::decode(lua, &cfg, &mk, &text.as_bytes()) {
                Ok(v) => v.into_lua_multi(lua),
                Err(decode::DecodeError::Message(msg)) => failed(lua, safe, msg),
                Err(decode::DecodeError::Lua(e)) => Err(e),
            }
        })?,
    )?;
    install_settings(lua, &m, &cfg)?;
    let mk = marks.clone();
    m.raw_set(
        "new",
        lua.create_function(move |lua, ()| new_module(lua, &mk, safe))?,
    )?;
    m.raw_set("null", Value::NULL)?;
    m.raw_set("empty_array", marks.empty_array)?;
    m.raw_set("array_mt", &marks.array_mt)?;
    m.raw_set("empty_array_mt", &marks.empty_array_mt)?;
    m.raw_set("_NAME", "cjson")?;
    m.raw_set("_VERSION", VERSION)?;
    Ok(m)
}

/// `encode`/`decode` take exactly one argument (an error even in `cjson.safe`).
fn one_argument(lua: &Lua, args: MultiValue) -> std::result::Result<Value, MultiValue> {
    if args.len() != 1 {
        let name = "bad argument #1 to '?' (expected 1 argument)";
        return Err(raise(lua, name).unwrap_or_default());
    }
    Ok(args.into_iter().next().unwrap_or(Value::Nil))
}

/// A conversion error: raised by `cjson`, returned as `nil, err` by `cjson.safe`.
fn failed(lua: &Lua, safe: bool, msg: String) -> Result<MultiValue> {
    if safe {
        (Value::Nil, msg).into_lua_multi(lua)
    } else {
        raise(lua, msg)
    }
}

/// What a setting function does with its arguments: `nil` keeps the value.
type Setter = fn(&Lua, &mut Config, &[Value]) -> std::result::Result<MultiValue, String>;

fn install_settings(lua: &Lua, m: &Table, cfg: &Rc<RefCell<Config>>) -> Result<()> {
    let settings: [(&str, usize, Setter); 11] = [
        ("encode_sparse_array", 3, |lua, c, a| {
            on_off(a.first(), &mut c.encode_sparse_convert)?;
            integer(a.get(1), &mut c.encode_sparse_ratio, 0, i32::MAX as usize)?;
            integer(a.get(2), &mut c.encode_sparse_safe, 0, i32::MAX as usize)?;
            lua_values(
                lua,
                (
                    c.encode_sparse_convert,
                    c.encode_sparse_ratio,
                    c.encode_sparse_safe,
                ),
            )
        }),
        ("encode_max_depth", 1, |lua, c, a| {
            integer(a.first(), &mut c.encode_max_depth, 1, i32::MAX as usize)?;
            lua_values(lua, c.encode_max_depth)
        }),
        ("decode_max_depth", 1, |lua, c, a| {
            integer(a.first(), &mut c.decode_max_depth, 1, i32::MAX as usize)?;
            lua_values(lua, c.decode_max_depth)
        }),
        ("encode_number_precision", 1, |lua, c, a| {
            integer(a.first(), &mut c.encode_number_precision, 1, 16)?;
            lua_values(lua, c.encode_number_precision)
        }),
        ("encode_empty_table_as_object", 1, |lua, c, a| {
            on_off(a.first(), &mut c.encode_empty_table_as_object)?;
            lua_values(lua, c.encode_empty_table_as_object)
        }),
        ("decode_array_with_array_mt", 1, |lua, c, a| {
            on_off(a.first(), &mut c.decode_array_with_array_mt)?;
            lua_values(lua, c.decode_array_with_array_mt)
        }),
        ("encode_keep_buffer", 1, |lua, c, a| {
            on_off(a.first(), &mut c.encode_keep_buffer)?;
            lua_values(lua, c.encode_keep_buffer)
        }),
        ("encode_invalid_numbers", 1, |lua, c, a| {
            match a.first() {
                None | Some(Value::Nil) => {}
                Some(Value::Boolean(b)) => {
                    c.encode_invalid_numbers = if *b {
                        InvalidNumbers::On
                    } else {
                        InvalidNumbers::Off
                    }
                }
                Some(v) => {
                    c.encode_invalid_numbers = match option_name(v)?.as_str() {
                        "off" => InvalidNumbers::Off,
                        "on" => InvalidNumbers::On,
                        "null" => InvalidNumbers::Null,
                        other => return Err(invalid_option(other)),
                    }
                }
            }
            match c.encode_invalid_numbers {
                InvalidNumbers::Off => lua_values(lua, false),
                InvalidNumbers::On => lua_values(lua, true),
                InvalidNumbers::Null => lua_values(lua, "null"),
            }
        }),
        ("decode_invalid_numbers", 1, |lua, c, a| {
            on_off(a.first(), &mut c.decode_invalid_numbers)?;
            lua_values(lua, c.decode_invalid_numbers)
        }),
        ("encode_escape_forward_slash", 1, |lua, c, a| {
            on_off(a.first(), &mut c.encode_escape_forward_slash)?;
            lua_values(lua, c.encode_escape_forward_slash)
        }),
        ("encode_skip_unsupported_value_types", 1, |lua, c, a| {
            on_off(a.first(), &mut c.encode_skip_unsupported)?;
            lua_values(lua, c.encode_skip_unsupported)
        }),
    ];
    for (name, max_args, setter) in settings {
        let cfg = cfg.clone();
        m.raw_set(
            name,
            raise::function(lua, move |lua, args| {
                if args.len() > max_args {
                    let n = max_args + 1;
                    return raise(
                        lua,
                        format!("bad argument #{n} to '?' (found too many arguments)"),
                    );
                }
                let args: Vec<Value> = args.into_iter().collect();
                let mut c = cfg.borrow_mut();
                match setter(lua, &mut c, &args) {
                    Ok(values) => Ok(values),
                    Err(msg) => raise(lua, msg),
                }
            })?,
        )?;
    }
    Ok(())
}

fn lua_values(lua: &Lua, v: impl IntoLuaMulti) -> std::result::Result<MultiValue, String> {
    v.into_lua_multi(lua).map_err(|e| e.to_string())
}

/// A boolean setting: `true`/`false` or `"on"`/`"off"`.
fn on_off(v: Option<&Value>, setting: &mut bool) -> std::result::Result<(), String> {
    match v {
        None | Some(Value::Nil) => {}
        Some(Value::Boolean(b)) => *setting = *b,
        Some(v) => match option_name(v)?.as_str() {
            "on" => *setting = true,
            "off" => *setting = false,
            other => return Err(invalid_option(other)),
        },
    }
    Ok(())
}

fn option_name(v: &Value) -> std::result::Result<String, String> {
    match v {
        Value::String(s) => Ok(s.to_string_lossy()),
        other => Err(format!(
            "bad argument #1 to '?' (string expected, got {})",
            other.type_name()
        )),
    }
}

fn invalid_option(name: &str) -> String {
    format!("bad argument #1 to '?' (invalid option '{name}')")
}

fn integer(
    v: Option<&Value>,
    setting: &mut usize,
    min: usize,
    max: usize,
) -> std::result::Result<(), String> {
    let n = match v {
        None | Some(Value::Nil) => return Ok(()),
        Some(Value::Integer(n)) => *n,
        Some(Value::Number(n)) => *n as i64,
        Some(other) => {
            return Err(format!(
                "bad argument #1 to '?' (number expected, got {})",
                other.type_name()
            ))
        }
    };
    if n < min as i64 || n > max as i64 {
        return Err(format!(
            "bad argument #1 to '?' (expected integer between {min} and {max})"
        ));
    }
    *setting = n as usize;
    Ok(())
}

#[cfg(test)]
mod tests;
