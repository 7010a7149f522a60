//! The declarative config: Kong's DB-less format (`kong.yml`, YAML or JSON,
//! `_format_version` "1.1", "2.1" or "3.0"), read into a flat, fully resolved model.
//!
//! Entities may be nested under the entity they reference (`services[].routes[]`,
//! `consumers[].keyauth_credentials[]`, `upstreams[].targets[]`, ...) or declared at the top level
//! referencing it by name or id. Ids are Kong's deterministic UUIDv5s. Every error is collected
//! with the path of the offending value (`services[1].routes[0].paths[2]`).

mod certificates;
mod collect;
mod consumers;
mod document;
mod fields;
mod ids;
mod model;
mod plugins;
mod routes;
mod services;
mod upstreams;
mod uri;
mod validate;

pub use consumers::credential_entities;
pub use model::{
    CaCertificate, Certificate, Consumer, ConsumerGroup, ConsumerGroupConsumer, DeclarativeConfig,
    PathHandling, Plugin, Protocol, Route, Service, Sni, Target, Upstream,
};

use crate::error::{ConfError, Errors};
use crate::node::DeclarativeSource;

/// The shipped example `kong.yml`, used when the node config names no declarative config.
pub const DEFAULT_DECLARATIVE_CONF: &str = include_str!("../../kong.yml");

/// How the built-in example is named in errors.
const EMBEDDED_SOURCE: &str = "kong.yml (built in)";

impl DeclarativeConfig {
    /// Parses and validates a declarative config; `source` names it in errors (a file name
    /// ending in `.json` selects JSON, as does text starting with `{`).
    pub fn parse(text: &str, source: &str) -> Result<DeclarativeConfig, Errors> {
        let doc = document::parse(text, source)?;
        let (config, errors) = collect::collect(&doc, source);
        errors.into_result(config)
    }

    /// Loads the declarative config the node config points at.
    pub fn load(source: &DeclarativeSource) -> Result<DeclarativeConfig, Errors> {
        match source {
            DeclarativeSource::Embedded => Self::parse(DEFAULT_DECLARATIVE_CONF, EMBEDDED_SOURCE),
            DeclarativeSource::Inline(text) => Self::parse(text, "declarative_config_string"),
            DeclarativeSource::File(path) => {
                let name = path.display().to_string();
                let text = std::fs::read_to_string(path).map_err(|e| ConfError {
                    source: name.clone(),
                    line: None,
                    at: String::new(),
                    message: format!("cannot read the declarative config: {e}"),
                })?;
                Self::parse(&text, &name)
            }
        }
    }
}

#[cfg(test)]
mod tests;
