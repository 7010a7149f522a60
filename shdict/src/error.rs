//! Errors. Operation errors display as OpenResty's exact strings (the Lua binding returns them
//! verbatim as the `err` value of `ngx.shared.DICT` methods).

use std::fmt;

/// An `ngx.shared.DICT` operation error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// "empty key"
    EmptyKey,
    /// "key too long" (keys are limited to 65535 bytes)
    KeyTooLong,
    /// "exists" (`add` of a live key)
    Exists,
    /// "not found" (`replace`, `incr` without init, `ttl`, `expire` of a missing key)
    NotFound,
    /// "not a number" (`incr` of a non-number)
    NotANumber,
    /// "no memory" (the zone cannot hold the item, or a `safe_*` store would have to evict)
    NoMemory,
    /// "value is a list" (`get` of a list)
    ValueIsList,
    /// "value not a list" (list operation on a non-list)
    ValueNotList,
    /// "bad value type" (lists hold only strings and numbers)
    BadValueType,
    /// "attempt to add or replace nil values"
    NilValue,
    /// `bad "exptime" argument` (negative or NaN TTL; a Lua error in OpenResty)
    BadExptime,
    /// `bad "init_ttl" argument` (negative or NaN init TTL; a Lua error in OpenResty)
    BadInitTtl,
    /// `must provide "init" when providing "init_ttl"` (a Lua error in OpenResty)
    InitTtlWithoutInit,
}

impl Error {
    /// OpenResty's message for this error.
    pub fn as_str(&self) -> &'static str {
        match self {
            Error::EmptyKey => "empty key",
            Error::KeyTooLong => "key too long",
            Error::Exists => "exists",
            Error::NotFound => "not found",
            Error::NotANumber => "not a number",
            Error::NoMemory => "no memory",
            Error::ValueIsList => "value is a list",
            Error::ValueNotList => "value not a list",
            Error::BadValueType => "bad value type",
            Error::NilValue => "attempt to add or replace nil values",
            Error::BadExptime => "bad \"exptime\" argument",
            Error::BadInitTtl => "bad \"init_ttl\" argument",
            Error::InitTtlWithoutInit => "must provide \"init\" when providing \"init_ttl\"",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for Error {}

/// A zone could not be created or opened.
#[derive(Debug)]
pub enum ZoneError {
    /// Smaller than the 8 KiB minimum (nginx: `lua_shared_dict "x" is too small`).
    TooSmall { name: String, size: usize },
    /// At least 4 GiB: offsets inside a zone are 32-bit.
    TooLarge { name: String, size: usize },
    /// The same name declared twice.
    Duplicate { name: String },
    /// An empty name, or one with a NUL byte.
    BadName { name: String },
    /// An fd passed to [`crate::Zone::from_fd`] does not hold a zone of this version.
    NotAZone { name: String, reason: &'static str },
    /// A system call failed.
    Io {
        name: String,
        source: std::io::Error,
    },
}

impl fmt::Display for ZoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZoneError::TooSmall { name, size } => write!(
                f,
                "lua_shared_dict \"{name}\" is too small ({size} bytes, the minimum is 8k)"
            ),
            ZoneError::TooLarge { name, size } => write!(
                f,
                "lua_shared_dict \"{name}\" is too large ({size} bytes, the maximum is 4g - 1)"
            ),
            ZoneError::Duplicate { name } => {
                write!(f, "lua_shared_dict \"{name}\" is declared more than once")
            }
            ZoneError::BadName { name } => write!(f, "invalid lua_shared_dict name {name:?}"),
            ZoneError::NotAZone { name, reason } => {
                write!(
                    f,
                    "lua_shared_dict \"{name}\": inherited fd is not a zone: {reason}"
                )
            }
            ZoneError::Io { name, source } => write!(f, "lua_shared_dict \"{name}\": {source}"),
        }
    }
}

impl std::error::Error for ZoneError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ZoneError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// What [`crate::Zone::check`] found wrong with a zone's structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inconsistency(pub String);

impl fmt::Display for Inconsistency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shared dict inconsistent: {}", self.0)
    }
}

impl std::error::Error for Inconsistency {}

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn openresty_strings() {
        assert_eq!(Error::Exists.to_string(), "exists");
        assert_eq!(Error::NotFound.to_string(), "not found");
        assert_eq!(Error::NotANumber.to_string(), "not a number");
        assert_eq!(Error::NoMemory.to_string(), "no memory");
        assert_eq!(Error::ValueNotList.to_string(), "value not a list");
        assert_eq!(Error::BadExptime.to_string(), r#"bad "exptime" argument"#);
    }
}
