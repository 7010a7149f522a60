//! `cjson.encode`: lua-cjson's serialisation rules (array detection, sparse arrays,
//! `array_mt`/`empty_array_mt`, escaping, `%.14g` numbers, nesting limit).

use mlua::{Result, Table, Value};

use super::number::format_g;
use super::{Config, InvalidNumbers, Marks};

/// Why encoding stopped: lua-cjson's message, or a Lua error from the VM.
pub(super) enum EncodeError {
    Message(String),
    Lua(mlua::Error),
}

impl From<mlua::Error> for EncodeError {
    fn from(e: mlua::Error) -> Self {
        EncodeError::Lua(e)
    }
}

type Encoded = std::result::Result<(), EncodeError>;

pub(super) struct Encoder<'a> {
    pub cfg: &'a Config,
    pub marks: &'a Marks,
    pub out: Vec<u8>,
}

/// `lua_typename` of a value (mlua calls light userdata "lightuserdata").
fn lua_type_name(v: &Value) -> &'static str {
    match v {
        Value::LightUserData(_) | Value::UserData(_) => "userdata",
        Value::Other(_) => "cdata",
        other => other.type_name(),
    }
}

/// A key usable as an array index: an integral number ≥ 1.
fn array_index(k: &Value) -> Option<usize> {
    match *k {
        Value::Integer(i) if i >= 1 => Some(i as usize),
        Value::Number(n) if n >= 1.0 && n.fract() == 0.0 && n < usize::MAX as f64 => {
            Some(n as usize)
        }
        _ => None,
    }
}

/// Whether lua-cjson can write `v` at all.
fn supported(v: &Value, marks: &Marks) -> bool {
    match v {
        Value::LightUserData(p) => p.0.is_null() || *p == marks.empty_array,
        Value::String(_)
        | Value::Integer(_)
        | Value::Number(_)
        | Value::Boolean(_)
        | Value::Nil
        | Value::Table(_) => true,
        _ => false,
    }
}

fn cannot(type_name: &str, reason: &str) -> EncodeError {
    EncodeError::Message(format!("Cannot serialise {type_name}: {reason}"))
}

/// A table being written: the rest of an array's elements or of an object's pairs.
enum Frame {
    Array {
        /// `(index, value)` in index order; missing indices up to `len` are nil.
        items: std::iter::Peekable<std::vec::IntoIter<(usize, Value)>>,
        next: usize,
        len: usize,
        first: bool,
    },
    Object {
        pairs: std::vec::IntoIter<(Value, Value)>,
        first: bool,
    },
}

impl Encoder<'_> {
    /// Appends `root`. Nested tables are walked with an explicit stack, so the nesting limit
    /// does not depend on the thread's stack size.
    pub fn encode(&mut self, root: &Value) -> Encoded {
        let mut stack = Vec::new();
        self.value(root, &mut stack)?;
        while let Some(frame) = stack.last_mut() {
            let item = match frame {
                Frame::Array {
                    items,
                    next,
                    len,
                    first,
                } => {
                    if *next > *len {
                        self.out.push(b']');
                        stack.pop();
                        continue;
                    }
                    let item = match items.next_if(|(i, _)| *i == *next) {
                        Some((_, v)) => v,
                        None => Value::Nil,
                    };
                    *next += 1;
                    if self.skipped(&item) {
                        continue;
                    }
                    if !std::mem::replace(first, false) {
                        self.out.push(b',');
                    }
                    item
                }
                Frame::Object { pairs, first } => {
                    let Some((key, item)) = pairs.next() else {
                        self.out.push(b'}');
                        stack.pop();
                        continue;
                    };
                    if self.skipped(&item) {
                        continue;
                    }
                    if !std::mem::replace(first, false) {
                        self.out.push(b',');
                    }
                    match key {
                        Value::String(s) => self.string(&s.as_bytes()),
                        Value::Integer(n) => self.quoted_number(n as f64)?,
                        Value::Number(n) => self.quoted_number(n)?,
                        _ => {
                            let name = lua_type_name(&key);
                            return Err(cannot(name, "table key must be a number or string"));
                        }
                    }
                    self.out.push(b':');
                    item
                }
            };
            self.value(&item, &mut stack)?;
        }
        Ok(())
    }

    /// Whether `v` is left out (`encode_skip_unsupported_value_types`).
    fn skipped(&self, v: &Value) -> bool {
        self.cfg.encode_skip_unsupported && !supported(v, self.marks)
    }

    /// Writes a scalar, or opens a table (pushing its frame).
    fn value(&mut self, v: &Value, stack: &mut Vec<Frame>) -> Encoded {
        match v {
            Value::String(s) => self.string(&s.as_bytes()),
            Value::Integer(n) => self.number(*n as f64)?,
            Value::Number(n) => self.number(*n)?,
            Value::Boolean(b) => self
                .out
                .extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Nil => self.out.extend_from_slice(b"null"),
            Value::LightUserData(p) if p.0.is_null() => self.out.extend_from_slice(b"null"),
            Value::LightUserData(p) if *p == self.marks.empty_array => {
                self.out.extend_from_slice(b"[]")
            }
            Value::Table(t) => self.table(t, stack)?,
            other => return Err(cannot(lua_type_name(other), "type not supported")),
        }
        Ok(())
    }

    fn table(&mut self, t: &Table, stack: &mut Vec<Frame>) -> Encoded {
        let depth = stack.len() + 1;
        if depth > self.cfg.encode_max_depth.min(super::HARD_MAX_DEPTH) {
            return Err(EncodeError::Message(format!(
                "Cannot serialise, excessive nesting ({depth})"
            )));
        }
        let mt = t.metatable().map(|mt| mt.to_pointer());
        if mt.is_some() && mt == Some(self.marks.array_mt.to_pointer()) {
            let len = t.raw_len();
            let items = (1..=len)
                .map(|i| Ok((i, t.raw_get(i)?)))
                .collect::<Result<_>>()?;
            self.open_array(items, len, stack);
            return Ok(());
        }
        let mut pairs: Vec<(Value, Value)> = Vec::new();
        t.for_each(|k: Value, v: Value| {
            pairs.push((k, v));
            Ok(())
        })?;
        match self.array_length(&pairs)? {
            Some(len) if len > 0 || !self.cfg.encode_empty_table_as_object => {
                let mut items: Vec<(usize, Value)> = pairs
                    .into_iter()
                    .filter_map(|(k, v)| Some((array_index(&k)?, v)))
                    .collect();
                items.sort_unstable_by_key(|(i, _)| *i);
                self.open_array(items, len, stack)
            }
            Some(_) if mt.is_some() && mt == Some(self.marks.empty_array_mt.to_pointer()) => {
                self.out.extend_from_slice(b"[]")
            }
            _ => {
                self.out.push(b'{');
                stack.push(Frame::Object {
                    pairs: pairs.into_iter(),
                    first: true,
                });
            }
        }
        Ok(())
    }

    /// Starts an array of `len` elements (indices absent from `items` are written as null).
    fn open_array(&mut self, items: Vec<(usize, Value)>, len: usize, stack: &mut Vec<Frame>) {
        self.out.push(b'[');
        stack.push(Frame::Array {
            items: items.into_iter().peekable(),
            next: 1,
            len,
            first: true,
        });
    }

    /// lua-cjson's `lua_array_length`: `Some(max index)` when every key is an integer ≥ 1 and
    /// the array is not excessively sparse; sparse arrays raise unless converted to objects.
    fn array_length(
        &self,
        pairs: &[(Value, Value)],
    ) -> std::result::Result<Option<usize>, EncodeError> {
        let mut max = 0usize;
        for (k, _) in pairs {
            let Some(index) = array_index(k) else {
                return Ok(None);
            };
            max = max.max(index);
        }
        let items = pairs.len();
        let ratio = self.cfg.encode_sparse_ratio;
        if ratio > 0 && max > items * ratio && max > self.cfg.encode_sparse_safe {
            if !self.cfg.encode_sparse_convert {
                return Err(cannot("table", "excessively sparse array"));
            }
            return Ok(None);
        }
        Ok(Some(max))
    }

    fn quoted_number(&mut self, n: f64) -> Encoded {
        self.out.push(b'"');
        self.number(n)?;
        self.out.push(b'"');
        Ok(())
    }

    fn number(&mut self, n: f64) -> Encoded {
        if n.is_finite() {
            format_g(&mut self.out, n, self.cfg.encode_number_precision);
            return Ok(());
        }
        match self.cfg.encode_invalid_numbers {
            InvalidNumbers::Off => return Err(cannot("number", "must not be NaN or Infinity")),
            InvalidNumbers::Null => self.out.extend_from_slice(b"null"),
            InvalidNumbers::On if n.is_nan() => self.out.extend_from_slice(b"NaN"),
            InvalidNumbers::On if n < 0.0 => self.out.extend_from_slice(b"-Infinity"),
            InvalidNumbers::On => self.out.extend_from_slice(b"Infinity"),
        }
        Ok(())
    }

    /// A JSON string: `"`, `\`, controls (`\b \t \n \f \r` or `\u00XX`), DEL as `\u007f`, and
    /// `/` as `\/` unless `encode_escape_forward_slash(false)`; other bytes pass through.
    fn string(&mut self, s: &[u8]) {
        let out = &mut self.out;
        out.reserve(s.len() + 2);
        out.push(b'"');
        let mut run = 0;
        for (i, &c) in s.iter().enumerate() {
            let escaped: &[u8] = match c {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'/' if self.cfg.encode_escape_forward_slash => b"\\/",
                0x08 => b"\\b",
                b'\t' => b"\\t",
                b'\n' => b"\\n",
                0x0c => b"\\f",
                b'\r' => b"\\r",
                0..=0x1f | 0x7f => b"",
                _ => continue,
            };
            out.extend_from_slice(&s[run..i]);
            run = i + 1;
            if escaped.is_empty() {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(c >> 4)]);
                out.push(HEX[usize::from(c & 0xf)]);
            } else {
                out.extend_from_slice(escaped);
            }
        }
        out.extend_from_slice(&s[run..]);
        out.push(b'"');
    }
}
