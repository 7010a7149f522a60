//! Values as OpenResty stores them: strings (binary-safe), numbers (f64) and booleans; `Nil`
//! on a `set` deletes. Lists are a separate kind of item, reached through the list methods.

/// A value handed to the dict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// Deletes the key when `set` (an error for `add`/`replace`).
    Nil,
    Bool(bool),
    Number(f64),
    Str(&'a [u8]),
}

/// A value read back from the dict.
#[derive(Debug, Clone, PartialEq)]
pub enum OwnedValue {
    Bool(bool),
    Number(f64),
    Str(Vec<u8>),
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(s: &'a str) -> Self {
        Value::Str(s.as_bytes())
    }
}

impl<'a> From<&'a [u8]> for Value<'a> {
    fn from(s: &'a [u8]) -> Self {
        Value::Str(s)
    }
}

impl From<f64> for Value<'_> {
    fn from(n: f64) -> Self {
        Value::Number(n)
    }
}

impl From<bool> for Value<'_> {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl OwnedValue {
    /// Borrows this value as a [`Value`] (to store it again).
    pub fn as_value(&self) -> Value<'_> {
        match self {
            OwnedValue::Bool(b) => Value::Bool(*b),
            OwnedValue::Number(n) => Value::Number(*n),
            OwnedValue::Str(s) => Value::Str(s),
        }
    }
}
