//! Kong's schema language for plugin configurations.
//!
//! A plugin's `schema.lua` (or the JSON schema a plugin server dumps) becomes a
//! [`PluginSchema`]; [`PluginSchema::validate`] checks a plugin entry of the declarative config
//! the way Kong's `plugins` entity does, fills in defaults, and reports every error with Kong's
//! messages. [`install`] provides the Lua modules schemas `require` (`kong.db.schema.typedefs`
//! and friends).
//!
//! Validation runs in Rust; what the schema language leaves to Lua stays in Lua: `match`
//! patterns, `custom_validator`, `custom_entity_check`, `check` and shorthand `func`s run on
//! the VM the schema was loaded in. JSON `null` crosses as mlua's `Lua::null()` (a NULL light
//! userdata, which is what OpenResty's `ngx.null` is).

#![forbid(unsafe_code)]

mod build;
mod checks;
mod error;
mod error_tree;
mod model;
mod plugin;
mod preload;
mod process;
mod raw;
mod text;
mod validate;
mod validators;
mod vm;

pub use error::{FieldError, SchemaError};
pub use plugin::{PluginEntity, PluginSchema, Restrictions, ValidPlugin};
pub use preload::install;
