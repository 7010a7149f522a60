//! `cjson.decode`: lua-cjson's tokenizer and error messages ("Expected value but found
//! T_END at character 1"), `null` as `cjson.null`, arrays optionally marked with `array_mt`.

use mlua::{Lua, LuaString, Table, Value};

use super::{Config, Marks};

/// Why decoding stopped: lua-cjson's message, or a Lua error from the VM.
pub(super) enum DecodeError {
    Message(String),
    Lua(mlua::Error),
}

impl From<mlua::Error> for DecodeError {
    fn from(e: mlua::Error) -> Self {
        DecodeError::Lua(e)
    }
}

type Decoded<T> = std::result::Result<T, DecodeError>;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str,
    Number(f64),
    Boolean(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::ObjBegin => "T_OBJ_BEGIN",
            Kind::ObjEnd => "T_OBJ_END",
            Kind::ArrBegin => "T_ARR_BEGIN",
            Kind::ArrEnd => "T_ARR_END",
            Kind::Str => "T_STRING",
            Kind::Number(_) => "T_NUMBER",
            Kind::Boolean(_) => "T_BOOLEAN",
            Kind::Null => "T_NULL",
            Kind::Colon => "T_COLON",
            Kind::Comma => "T_COMMA",
            Kind::End => "T_END",
            Kind::Error(what) => what,
        }
    }
}

#[derive(Clone, Copy)]
struct Token {
    kind: Kind,
    /// 0-based offset where the token (or the error) starts.
    at: usize,
}

pub(super) struct Parser<'a> {
    lua: &'a Lua,
    cfg: &'a Config,
    marks: &'a Marks,
    s: &'a [u8],
    i: usize,
    /// The text of the last `Kind::Str` token.
    text: Vec<u8>,
}

/// Decodes a whole JSON text.
pub(super) fn decode(lua: &Lua, cfg: &Config, marks: &Marks, s: &[u8]) -> Decoded<Value> {
    if s.len() >= 2 && (s[0] == 0 || s[1] == 0) {
        return Err(DecodeError::Message(
            "JSON parser does not support UTF-16 or UTF-32".into(),
        ));
    }
    let mut p = Parser {
        lua,
        cfg,
        marks,
        s,
        i: 0,
        text: Vec::new(),
    };
    let token = p.next_token();
    let value = p.value(token)?;
    let end = p.next_token();
    if end.kind != Kind::End {
        return Err(p.expected("the end", end));
    }
    Ok(value)
}

impl Parser<'_> {
    /// The byte at `i`, with NUL standing for the end as in lua-cjson's C strings.
    fn at(&self, i: usize) -> u8 {
        self.s.get(i).copied().unwrap_or(0)
    }

    fn expected(&self, what: &str, found: Token) -> DecodeError {
        DecodeError::Message(format!(
            "Expected {what} but found {} at character {}",
            found.kind.name(),
            found.at + 1
        ))
    }

    fn next_token(&mut self) -> Token {
        while matches!(self.at(self.i), b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
        let at = self.i;
        let c = self.at(at);
        let single = match c {
            b'{' => Some(Kind::ObjBegin),
            b'}' => Some(Kind::ObjEnd),
            b'[' => Some(Kind::ArrBegin),
            b']' => Some(Kind::ArrEnd),
            b',' => Some(Kind::Comma),
            b':' => Some(Kind::Colon),
            0 => {
                return Token {
                    kind: Kind::End,
                    at,
                }
            }
            _ => None,
        };
        if let Some(kind) = single {
            self.i += 1;
            return Token { kind, at };
        }
        let rest = &self.s[at..];
        let kind = match c {
            b'"' => return self.string(),
            b'-' | b'0'..=b'9' => {
                if !self.cfg.decode_invalid_numbers && is_invalid_number(rest) {
                    Kind::Error("invalid number")
                } else {
                    self.number()
                }
            }
            _ if rest.starts_with(b"true") => {
                self.i += 4;
                Kind::Boolean(true)
            }
            _ if rest.starts_with(b"false") => {
                self.i += 5;
                Kind::Boolean(false)
            }
            _ if rest.starts_with(b"null") => {
                self.i += 4;
                Kind::Null
            }
            b'+' | b'i' | b'I' | b'n' | b'N'
                if self.cfg.decode_invalid_numbers && is_invalid_number(rest) =>
            {
                self.number()
            }
            _ => Kind::Error("invalid token"),
        };
        Token { kind, at }
    }

    /// A number as C's `strtod` reads it (decimal, hexadecimal, `inf`, `nan`).
    fn number(&mut self) -> Kind {
        match scan_number(&self.s[self.i..]) {
            Some((value, len)) => {
                self.i += len;
                Kind::Number(value)
            }
            None => Kind::Error("invalid number"),
        }
    }

    fn string(&mut self) -> Token {
        let start = self.i;
        self.i += 1;
        self.text.clear();
        loop {
            let c = self.at(self.i);
            match c {
                b'"' => break,
                0 => {
                    return Token {
                        kind: Kind::Error("unexpected end of string"),
                        at: self.i,
                    }
                }
                b'\\' => {
                    let decoded = match self.at(self.i + 1) {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 0x08,
                        b't' => b'\t',
                        b'n' => b'\n',
                        b'f' => 0x0c,
                        b'r' => b'\r',
                        b'u' => {
                            if self.unicode_escape() {
                                continue;
                            }
                            return Token {
                                kind: Kind::Error("invalid unicode escape code"),
                                at: self.i,
                            };
                        }
                        _ => {
                            return Token {
                                kind: Kind::Error("invalid escape code"),
                                at: self.i,
                            }
                        }
                    };
                    self.text.push(decoded);
                    self.i += 2;
                }
                _ => {
                    self.text.push(c);
                    self.i += 1;
                }
            }
        }
        self.i += 1;
        Token {
            kind: Kind::Str,
            at: start,
        }
    }

    /// `\uXXXX` (with a following low surrogate for a high one) as UTF-8.
    fn unicode_escape(&mut self) -> bool {
        let Some(mut cp) = self.hex4(self.i + 2) else {
            return false;
        };
        let mut len = 6;
        if cp & 0xF800 == 0xD800 {
            if cp & 0x400 != 0 || self.at(self.i + 6) != b'\\' || self.at(self.i + 7) != b'u' {
                return false;
            }
            let Some(low) = self.hex4(self.i + 8) else {
                return false;
            };
            if low & 0xFC00 != 0xDC00 {
                return false;
            }
            cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        let mut buf = [0u8; 4];
        let encoded = match char::from_u32(cp) {
            Some(ch) => ch.encode_utf8(&mut buf).as_bytes(),
            None => return false,
        };
        self.text.extend_from_slice(encoded);
        self.i += len;
        true
    }

    fn hex4(&self, from: usize) -> Option<u32> {
        (from..from + 4).try_fold(0u32, |acc, i| {
            Some(acc << 4 | (self.at(i) as char).to_digit(16)?)
        })
    }

    /// Parses one value starting at `token`. Containers are tracked on an explicit stack, so
    /// the nesting limit does not depend on the thread's stack size.
    fn value(&mut self, mut token: Token) -> Decoded<Value> {
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            let mut value = match token.kind {
                Kind::Str => Value::String(self.lua.create_string(&self.text)?),
                Kind::Number(n) => Value::Number(n),
                Kind::Boolean(b) => Value::Boolean(b),
                Kind::Null => Value::NULL,
                Kind::ObjBegin => {
                    self.descend(stack.len())?;
                    let t = self.lua.create_table()?;
                    let first = self.next_token();
                    if first.kind == Kind::ObjEnd {
                        Value::Table(t)
                    } else {
                        let key = self.key(first)?;
                        stack.push(Frame::Object(t, key));
                        token = self.next_token();
                        continue;
                    }
                }
                Kind::ArrBegin => {
                    self.descend(stack.len())?;
                    let t = self.lua.create_table()?;
                    if self.cfg.decode_array_with_array_mt {
                        t.set_metatable(Some(self.marks.array_mt.clone()))?;
                    }
                    let first = self.next_token();
                    if first.kind == Kind::ArrEnd {
                        Value::Table(t)
                    } else {
                        stack.push(Frame::Array(t, 1));
                        token = first;
                        continue;
                    }
                }
                _ => return Err(self.expected("value", token)),
            };
            // store the finished value in its container, closing containers that end here
            loop {
                match stack.last_mut() {
                    None => return Ok(value),
                    Some(Frame::Array(t, i)) => {
                        t.raw_set(*i, value)?;
                        *i += 1;
                        let next = self.next_token();
                        match next.kind {
                            Kind::Comma => {
                                token = self.next_token();
                                break;
                            }
                            Kind::ArrEnd => {
                                value = stack.pop().map(Frame::into_value).unwrap_or_default()
                            }
                            _ => return Err(self.expected("comma or array end", next)),
                        }
                    }
                    Some(Frame::Object(t, key)) => {
                        t.raw_set(key.clone(), value)?;
                        let next = self.next_token();
                        match next.kind {
                            Kind::Comma => {
                                let key_token = self.next_token();
                                *key = self.key(key_token)?;
                                token = self.next_token();
                                break;
                            }
                            Kind::ObjEnd => {
                                value = stack.pop().map(Frame::into_value).unwrap_or_default()
                            }
                            _ => return Err(self.expected("comma or object end", next)),
                        }
                    }
                }
            }
        }
    }

    /// An object key and the colon after it.
    fn key(&mut self, token: Token) -> Decoded<LuaString> {
        if token.kind != Kind::Str {
            return Err(self.expected("object key string", token));
        }
        let key = self.lua.create_string(&self.text)?;
        let colon = self.next_token();
        if colon.kind != Kind::Colon {
            return Err(self.expected("colon", colon));
        }
        Ok(key)
    }

    /// Entering a container with `open` containers around it.
    fn descend(&self, open: usize) -> Decoded<()> {
        let depth = open + 1;
        if depth > self.cfg.decode_max_depth.min(super::HARD_MAX_DEPTH) {
            return Err(DecodeError::Message(format!(
                "Found too many nested data structures ({depth}) at character {}",
                self.i
            )));
        }
        Ok(())
    }
}

/// A container being filled: an array and its next index, or an object and the current key.
enum Frame {
    Array(Table, usize),
    Object(Table, LuaString),
}

impl Frame {
    fn into_value(self) -> Value {
        match self {
            Frame::Array(t, _) | Frame::Object(t, _) => Value::Table(t),
        }
    }
}

/// lua-cjson's `json_is_invalid_number`: what strict JSON rejects but `strtod` accepts
/// (a leading `+`, hexadecimal, leading zeros, `inf`, `nan`).
fn is_invalid_number(s: &[u8]) -> bool {
    let mut p = s;
    if p.first() == Some(&b'+') {
        return true;
    }
    if p.first() == Some(&b'-') {
        p = &p[1..];
    }
    match p.first() {
        Some(b'0') => matches!(p.get(1), Some(b'x' | b'X' | b'0'..=b'9')),
        Some(c) if *c <= b'9' => false,
        _ => {
            let word = p.get(..3).map(|w| w.to_ascii_lowercase());
            matches!(word.as_deref(), Some(b"inf" | b"nan"))
        }
    }
}

/// The longest prefix `strtod` would read: `(value, length)`, or `None` if none.
fn scan_number(s: &[u8]) -> Option<(f64, usize)> {
    let mut i = 0;
    let negative = match s.first() {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let sign = if negative { -1.0 } else { 1.0 };
    let rest = &s[i..];
    let lower: Vec<u8> = rest.iter().take(8).map(u8::to_ascii_lowercase).collect();
    if lower.starts_with(b"infinity") {
        return Some((sign * f64::INFINITY, i + 8));
    }
    if lower.starts_with(b"inf") {
        return Some((sign * f64::INFINITY, i + 3));
    }
    if lower.starts_with(b"nan") {
        return Some((f64::NAN, i + 3));
    }
    if lower.starts_with(b"0x") {
        let digits = rest[2..]
            .iter()
            .take_while(|c| c.is_ascii_hexdigit())
            .count();
        if digits > 0 {
            let text = std::str::from_utf8(&rest[2..2 + digits]).ok()?;
            let value = text.bytes().fold(0f64, |acc, d| {
                acc * 16.0 + f64::from((d as char).to_digit(16).unwrap_or(0))
            });
            return Some((sign * value, i + 2 + digits));
        }
        // "0x" without digits reads as "0"
        return Some((sign * 0.0, i + 1));
    }
    let int_digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut len = int_digits;
    let mut frac_digits = 0;
    if rest.get(len) == Some(&b'.') {
        frac_digits = rest[len + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if int_digits + frac_digits > 0 {
            len += 1 + frac_digits;
        }
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    if matches!(rest.get(len), Some(b'e' | b'E')) {
        let mut e = len + 1;
        if matches!(rest.get(e), Some(b'+' | b'-')) {
            e += 1;
        }
        let exp_digits = rest[e..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp_digits > 0 {
            len = e + exp_digits;
        }
    }
    let text = std::str::from_utf8(&rest[..len]).ok()?;
    let value: f64 = text.parse().ok()?;
    Some((sign * value, i + len))
}

#[cfg(test)]
mod tests {
    use super::scan_number;

    #[test]
    fn strtod_prefixes() {
        assert_eq!(scan_number(b"12abc"), Some((12.0, 2)));
        assert_eq!(scan_number(b"-1.5e3,"), Some((-1500.0, 6)));
        assert_eq!(scan_number(b"1.e2"), Some((100.0, 4)));
        assert_eq!(scan_number(b"1e"), Some((1.0, 1)));
        assert_eq!(scan_number(b"-.5"), Some((-0.5, 3)));
        assert_eq!(scan_number(b"0x1F"), Some((31.0, 4)));
        assert_eq!(scan_number(b"+7"), Some((7.0, 2)));
        assert_eq!(scan_number(b"-Infinity"), Some((f64::NEG_INFINITY, 9)));
        assert!(scan_number(b"nan").unwrap().0.is_nan());
        assert_eq!(scan_number(b"-"), None);
        assert_eq!(scan_number(b"."), None);
    }
}
