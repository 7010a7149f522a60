//! Why a set of routes could not become a router.

use std::fmt;

/// A route that cannot be compiled, named so the user can find it in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterError {
    /// `name (id)` when the route has a name, else its id.
    pub route: String,
    /// The route field at fault (`paths`, `hosts`, ...), when there is one.
    pub field: Option<&'static str>,
    pub message: String,
}

impl RouterError {
    pub(crate) fn new(
        name: Option<&str>,
        id: &str,
        field: Option<&'static str>,
        message: String,
    ) -> Self {
        let route = match name {
            Some(name) => format!("{name} ({id})"),
            None => id.to_string(),
        };
        RouterError {
            route,
            field,
            message,
        }
    }
}

impl fmt::Display for RouterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field {
            Some(field) => write!(f, "route '{}': {}: {}", self.route, field, self.message),
            None => write!(f, "route '{}': {}", self.route, self.message),
        }
    }
}

impl std::error::Error for RouterError {}
