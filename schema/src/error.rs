//! The two kinds of failure: a plugin's schema is itself invalid (the plugin cannot load), or a
//! plugin entity does not validate against it (the configuration is rejected).

use std::fmt;

/// A `schema.lua` (or a plugin server's dumped schema) that Kong's metaschema would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("plugin '{plugin}': invalid schema: {}{message}", at_prefix(.at))]
pub struct SchemaError {
    pub plugin: String,
    /// Where in the schema, e.g. `config.minute`; empty for the schema as a whole.
    pub at: String,
    pub message: String,
}

fn at_prefix(at: &str) -> String {
    if at.is_empty() {
        String::new()
    } else {
        format!("{at}: ")
    }
}

/// One validation error, flattened from Kong's nested error table: `path` is `config.minute`,
/// `config.allow[0]` (0-based), `@entity` for entity checks (`config.@entity` inside a record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}
