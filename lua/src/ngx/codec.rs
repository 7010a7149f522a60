//! `ngx.encode_base64`/`decode_base64`/`decode_base64mime`, `ngx.md5`/`md5_bin`,
//! `ngx.sha1_bin`, `ngx.hmac_sha1`, `ngx.crc32_short`/`crc32_long`.

use base64::alphabet::{Alphabet, STANDARD, URL_SAFE};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, NO_PAD, PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use mlua::{Lua, LuaString, Result, Table, Value};
use sha1::Sha1;

use crate::args::{check_string, string_or_empty};

pub(super) fn install(lua: &Lua, ngx: &Table) -> Result<()> {
    ngx.raw_set(
        "encode_base64",
        lua.create_function(|lua, (s, no_padding): (Value, Value)| {
            let s = string_or_empty(lua, s)?;
            let padding = match no_padding {
                Value::Nil | Value::Boolean(false) => true,
                Value::Boolean(true) => false,
                other => {
                    return Err(mlua::Error::runtime(format!(
                        "bad no_padding: boolean expected, got {}",
                        other.type_name()
                    )))
                }
            };
            let engine = if padding {
                STANDARD_PADDED
            } else {
                STANDARD_UNPADDED
            };
            lua.create_string(engine.encode(s.as_bytes()))
        })?,
    )?;
    ngx.raw_set(
        "decode_base64",
        lua.create_function(|lua, s: Value| {
            let s = string_only(s)?;
            decoded(lua, decode_nginx(&STANDARD, &s.as_bytes(), false))
        })?,
    )?;
    ngx.raw_set(
        "decode_base64mime",
        lua.create_function(|lua, s: Value| {
            let s = string_only(s)?;
            decoded(lua, decode_nginx(&STANDARD, &s.as_bytes(), true))
        })?,
    )?;
    ngx.raw_set(
        "md5",
        lua.create_function(|lua, s: Value| {
            let s = string_or_empty(lua, s)?;
            Ok(hex(&Md5::digest(&*s.as_bytes())))
        })?,
    )?;
    ngx.raw_set(
        "md5_bin",
        lua.create_function(|lua, s: Value| {
            let s = string_or_empty(lua, s)?;
            lua.create_string(Md5::digest(&*s.as_bytes()))
        })?,
    )?;
    ngx.raw_set(
        "sha1_bin",
        lua.create_function(|lua, s: Value| {
            let s = string_or_empty(lua, s)?;
            lua.create_string(Sha1::digest(&*s.as_bytes()))
        })?,
    )?;
    ngx.raw_set(
        "hmac_sha1",
        lua.create_function(|lua, (key, s): (Value, Value)| {
            let key = check_string(lua, key, 1, "hmac_sha1")?;
            let s = check_string(lua, s, 2, "hmac_sha1")?;
            let mut mac = Hmac::<Sha1>::new_from_slice(&key.as_bytes())
                .expect("HMAC takes keys of any length");
            mac.update(&s.as_bytes());
            lua.create_string(mac.finalize().into_bytes())
        })?,
    )?;
    let crc32 = lua.create_function(|lua, s: Value| {
        let s = string_or_empty(lua, s)?;
        Ok(crc32fast::hash(&s.as_bytes()))
    })?;
    ngx.raw_set("crc32_short", &crc32)?;
    ngx.raw_set("crc32_long", crc32)
}

const STANDARD_PADDED: GeneralPurpose = GeneralPurpose::new(&STANDARD, PAD);
const STANDARD_UNPADDED: GeneralPurpose = GeneralPurpose::new(&STANDARD, NO_PAD);

/// lua-resty-core's decoders accept only strings.
fn string_only(s: Value) -> Result<LuaString> {
    match s {
        Value::String(s) => Ok(s),
        _ => Err(mlua::Error::runtime("string argument only")),
    }
}

fn decoded(lua: &Lua, bytes: Option<Vec<u8>>) -> Result<Value> {
    match bytes {
        Some(b) => Ok(Value::String(lua.create_string(b)?)),
        None => Ok(Value::Nil),
    }
}

/// nginx's `ngx_decode_base64`: everything from the first `=` on is ignored, padding is
/// optional, leftover bits are not checked, and a length of 4n+1 symbols is invalid. `mime`
/// skips characters outside the alphabet instead of rejecting them.
pub(crate) fn decode_nginx(alphabet: &Alphabet, input: &[u8], mime: bool) -> Option<Vec<u8>> {
    let engine = GeneralPurpose::new(
        alphabet,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::RequireNone)
            .with_decode_allow_trailing_bits(true),
    );
    let end = input.iter().position(|&c| c == b'=').unwrap_or(input.len());
    let symbols: Vec<u8> = if mime {
        let url = alphabet.as_str() == URL_SAFE.as_str();
        input[..end]
            .iter()
            .copied()
            .filter(|&c| in_alphabet(c, url))
            .collect()
    } else {
        input[..end].to_vec()
    };
    if symbols.len() % 4 == 1 {
        return None;
    }
    engine.decode(symbols).ok()
}

fn in_alphabet(c: u8, url: bool) -> bool {
    c.is_ascii_alphanumeric()
        || if url {
            c == b'-' || c == b'_'
        } else {
            c == b'+' || c == b'/'
        }
}

/// Lowercase hex, as `ngx.md5` and `resty.string.to_hex`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::testing::{run, vm};

    #[test]
    fn base64_like_nginx() {
        run(
            &vm(),
            r##"
            assert(ngx.encode_base64("hello") == "aGVsbG8=")
            assert(ngx.encode_base64("hello", true) == "aGVsbG8")
            assert(ngx.encode_base64("") == "" and ngx.encode_base64(nil) == "")
            assert(ngx.encode_base64(123) == "MTIz")
            assert(not pcall(ngx.encode_base64, "x", 1))
            assert(ngx.decode_base64("aGVsbG8=") == "hello")
            assert(ngx.decode_base64("aGVsbG8") == "hello")
            assert(ngx.decode_base64("aGVsbG8=trailing junk") == "hello")
            assert(ngx.decode_base64("aGVsbG9=") == "hello")
            assert(ngx.decode_base64("a") == nil)
            assert(ngx.decode_base64("a*b=") == nil)
            assert(ngx.decode_base64("") == "")
            assert(not pcall(ngx.decode_base64, nil))
            assert(ngx.decode_base64mime("aGVs\r\nbG8=") == "hello")
            local bin = string.char(0xfb, 0xff, 0xfe)
            assert(ngx.decode_base64(ngx.encode_base64(bin)) == bin)
        "##,
        );
    }

    #[test]
    fn digests() {
        run(
            &vm(),
            r##"
            assert(ngx.md5("hello") == "5d41402abc4b2a76b9719d911017c592")
            assert(ngx.md5(nil) == "d41d8cd98f00b204e9800998ecf8427e")
            assert(#ngx.md5_bin("hello") == 16)
            assert(ngx.encode_base64(ngx.sha1_bin("hello")) == "qvTGHdzF6KLavt4PO0gs2a6pQ00=")
            assert(ngx.encode_base64(ngx.hmac_sha1("key", "The quick brown fox jumps over the lazy dog"))
                   == "3nybhbi3iqa8ino29wqQcBydtNk=")
            assert(not pcall(ngx.hmac_sha1, nil, "x"))
            assert(ngx.crc32_short("hello") == 907060870)
            assert(ngx.crc32_long("hello") == 907060870)
            assert(ngx.crc32_long("") == 0)
        "##,
        );
    }
}
