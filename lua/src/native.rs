//! Rust-backed helper modules: `ngx.base64`, `resty.string`, `resty.sha1`, `kong.tools.sha256`,
//! `kong.tools.gzip`, `lfs`, and `sluice.native` (random bytes, UUIDs, clocks, addresses) that
//! the Lua helper modules build on.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use mlua::{Function, IntoLuaMulti, Lua, Result, Table, Value};
use sha2::{Digest, Sha256};

use crate::args::{check_string, string_or_empty};
use crate::ngx::{decode_nginx, hex};

/// Builds a module table when it is first required.
type ModuleBuilder = fn(&Lua) -> Result<Table>;

pub(crate) fn install(lua: &Lua) -> Result<()> {
    let preload: Table = lua
        .globals()
        .raw_get::<Table>("package")?
        .raw_get("preload")?;
    let modules: [(&str, ModuleBuilder); 7] = [
        ("ngx.base64", ngx_base64),
        ("resty.string", resty_string),
        ("resty.sha1", resty_sha1),
        ("kong.tools.sha256", sha256),
        ("kong.tools.gzip", gzip),
        ("sluice.native", sluice_native),
        ("lfs", crate::lfs::module),
    ];
    for (name, build) in modules {
        preload.raw_set(name, lua.create_function(move |lua, ()| build(lua))?)?;
    }
    Ok(())
}

fn module(lua: &Lua, functions: Vec<(&str, Function)>) -> Result<Table> {
    let t = lua.create_table()?;
    for (name, f) in functions {
        t.raw_set(name, f)?;
    }
    Ok(t)
}

/// lua-resty-core's `ngx.base64`: URL-safe base64 without padding.
fn ngx_base64(lua: &Lua) -> Result<Table> {
    module(
        lua,
        vec![
            (
                "encode_base64url",
                lua.create_function(|lua, s: Value| match s {
                    Value::String(s) => lua.create_string(URL_SAFE_NO_PAD.encode(s.as_bytes())),
                    _ => Err(mlua::Error::runtime("must provide a string")),
                })?,
            ),
            (
                "decode_base64url",
                lua.create_function(|lua, s: Value| {
                    let Value::String(s) = s else {
                        return Err(mlua::Error::runtime("string argument only"));
                    };
                    match decode_nginx(&URL_SAFE, &s.as_bytes(), false) {
                        Some(b) => lua.create_string(b)?.into_lua_multi(lua),
                        None => (Value::Nil, "invalid input").into_lua_multi(lua),
                    }
                })?,
            ),
        ],
    )
}

/// `resty.string.to_hex`.
fn resty_string(lua: &Lua) -> Result<Table> {
    module(
        lua,
        vec![(
            "to_hex",
            lua.create_function(|lua, s: Value| {
                Ok(hex(&check_string(lua, s, 1, "to_hex")?.as_bytes()))
            })?,
        )],
    )
}

/// lua-resty-string's `resty.sha1`: `sha1:new()`, then `:update(s)`, `:final()` (the binary
/// digest) and `:reset()`. Kong's basic-auth hashes its passwords with it.
fn resty_sha1(lua: &Lua) -> Result<Table> {
    module(
        lua,
        vec![(
            "new",
            lua.create_function(|_, _module: Value| Ok(Sha1State(sha1::Sha1::new())))?,
        )],
    )
}

struct Sha1State(sha1::Sha1);

impl mlua::UserData for Sha1State {
    fn add_methods<M: mlua::UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method_mut("update", |lua, this, s: Value| {
            this.0
                .update(&*check_string(lua, s, 1, "update")?.as_bytes());
            Ok(true)
        });
        methods.add_method_mut("final", |lua, this, ()| {
            lua.create_string(this.0.finalize_reset())
        });
        methods.add_method_mut("reset", |_, this, ()| {
            this.0.reset();
            Ok(true)
        });
    }
}

/// Kong's `kong.tools.sha256`: `sha256_bin`, `_hex`, `_base64`, `_base64url`.
fn sha256(lua: &Lua) -> Result<Table> {
    let digest = |lua: &Lua, key: Value| -> Result<Vec<u8>> {
        Ok(Sha256::digest(&*string_or_empty(lua, key)?.as_bytes()).to_vec())
    };
    module(
        lua,
        vec![
            (
                "sha256_bin",
                lua.create_function(move |lua, key: Value| lua.create_string(digest(lua, key)?))?,
            ),
            (
                "sha256_hex",
                lua.create_function(move |lua, key: Value| Ok(hex(&digest(lua, key)?)))?,
            ),
            (
                "sha256_base64",
                lua.create_function(move |lua, key: Value| Ok(STANDARD.encode(digest(lua, key)?)))?,
            ),
            (
                "sha256_base64url",
                lua.create_function(move |lua, key: Value| {
                    Ok(URL_SAFE_NO_PAD.encode(digest(lua, key)?))
                })?,
            ),
        ],
    )
}

/// Kong's `kong.tools.gzip`: `deflate_gzip(data)` and `inflate_gzip(data)`, each returning the
/// result or `nil, err`.
fn gzip(lua: &Lua) -> Result<Table> {
    module(
        lua,
        vec![
            (
                "deflate_gzip",
                lua.create_function(|lua, data: Value| {
                    let data = string_or_empty(lua, data)?;
                    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
                    match enc.write_all(&data.as_bytes()).and_then(|()| enc.finish()) {
                        Ok(out) => lua.create_string(out)?.into_lua_multi(lua),
                        Err(e) => (Value::Nil, e.to_string()).into_lua_multi(lua),
                    }
                })?,
            ),
            (
                "inflate_gzip",
                lua.create_function(|lua, data: Value| {
                    let data = string_or_empty(lua, data)?;
                    let bytes = data.as_bytes();
                    let mut out = Vec::new();
                    match MultiGzDecoder::new(&bytes[..]).read_to_end(&mut out) {
                        Ok(_) => lua.create_string(out)?.into_lua_multi(lua),
                        Err(e) => (Value::Nil, e.to_string()).into_lua_multi(lua),
                    }
                })?,
            ),
        ],
    )
}

/// Primitives for the Lua helper modules: `random_bytes(n)`, `uuid_v4()`, `time_ns()`,
/// `monotonic_ms()`, `is_ipv4(s)`, `ipv6_expand(s)` (fully expanded, or nil), `inet_pton(s)`
/// (the 4- or 16-byte network-order address, or nil).
fn sluice_native(lua: &Lua) -> Result<Table> {
    module(
        lua,
        vec![
            (
                "random_bytes",
                lua.create_function(|lua, n: usize| {
                    let mut buf = vec![0u8; n];
                    match getrandom::fill(&mut buf) {
                        Ok(()) => lua.create_string(buf)?.into_lua_multi(lua),
                        Err(e) => (Value::Nil, format!("could not get random bytes ({e})"))
                            .into_lua_multi(lua),
                    }
                })?,
            ),
            (
                "uuid_v4",
                lua.create_function(|_, ()| {
                    let mut bytes = [0u8; 16];
                    getrandom::fill(&mut bytes).map_err(|e| {
                        mlua::Error::runtime(format!("could not get random bytes ({e})"))
                    })?;
                    Ok(uuid::Builder::from_random_bytes(bytes)
                        .into_uuid()
                        .hyphenated()
                        .to_string())
                })?,
            ),
            (
                "time_ns",
                lua.create_function(|_, ()| {
                    Ok(SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map_or(0.0, |d| d.as_nanos() as f64))
                })?,
            ),
            (
                "is_ipv4",
                lua.create_function(|_, s: mlua::LuaString| {
                    Ok(s.to_str().is_ok_and(|s| s.parse::<Ipv4Addr>().is_ok()))
                })?,
            ),
            (
                "ipv6_expand",
                lua.create_function(|_, s: mlua::LuaString| {
                    let Some(ip) = s.to_str().ok().and_then(|s| s.parse::<Ipv6Addr>().ok()) else {
                        return Ok(None);
                    };
                    let groups: Vec<String> =
                        ip.segments().iter().map(|g| format!("{g:04x}")).collect();
                    Ok(Some(groups.join(":")))
                })?,
            ),
            (
                "inet_pton",
                lua.create_function(|lua, s: mlua::LuaString| {
                    let Some(ip) = s.to_str().ok().and_then(|s| s.parse::<IpAddr>().ok()) else {
                        return Ok(None);
                    };
                    let bytes = match ip {
                        IpAddr::V4(a) => a.octets().to_vec(),
                        IpAddr::V6(a) => a.octets().to_vec(),
                    };
                    lua.create_string(bytes).map(Some)
                })?,
            ),
            (
                "monotonic_ms",
                lua.create_function(|_, ()| {
                    static START: OnceLock<Instant> = OnceLock::new();
                    Ok(START.get_or_init(Instant::now).elapsed().as_millis() as f64)
                })?,
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use crate::testing::{run, vm};

    #[test]
    fn native_modules() {
        run(
            &vm(),
            r##"
            local b64 = require "ngx.base64"
            assert(b64.encode_base64url("\251\255\254") == "-__-")
            assert(b64.decode_base64url("-__-") == "\251\255\254")
            local v, err = b64.decode_base64url("+//+")
            assert(v == nil and err == "invalid input")
            assert(require("resty.string").to_hex("\0\255A") == "00ff41")
            local sha = require "kong.tools.sha256"
            assert(sha.sha256_hex("abc") ==
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
            assert(#sha.sha256_bin("abc") == 32)
            assert(sha.sha256_base64("abc") == "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=")
            assert(sha.sha256_base64url("abc") == "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0")
            local gz = require "kong.tools.gzip"
            local packed = gz.deflate_gzip(string.rep("hello ", 100))
            assert(#packed < 100 and packed:sub(1, 2) == "\31\139")
            assert(gz.inflate_gzip(packed) == string.rep("hello ", 100))
            local bad, gerr = gz.inflate_gzip("not gzip")
            assert(bad == nil and type(gerr) == "string")
            local native = require "sluice.native"
            assert(#native.random_bytes(24) == 24)
            assert(native.uuid_v4():match("^%x+%-%x+%-4%x+%-[89ab]%x+%-%x+$"))
            assert(native.time_ns() > 1.6e18)
            assert(native.inet_pton("10.0.0.255") == "\10\0\0\255")
            assert(#native.inet_pton("::ffff:1.2.3.4") == 16)
            assert(native.inet_pton("2001:db8::1"):byte(1, 2) == 0x20)
            assert(native.inet_pton("1.2.3") == nil and native.inet_pton("x") == nil)
            local m1 = native.monotonic_ms()
            assert(native.monotonic_ms() >= m1)
            "##,
        );
    }
}
