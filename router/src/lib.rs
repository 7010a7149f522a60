//! Kong's HTTP route matching as its default `router_flavor = traditional_compatible` does it.
//!
//! Kong turns each traditional route into an ATC expression with a 64-bit priority and evaluates
//! the matchers from the highest priority down; the first one that matches wins. This crate does
//! the same without building expression strings: [`Router::new`] validates and compiles the routes
//! once (regexes, host patterns, header names, priorities, a split per path group, an index by
//! exact host), and [`Router::find`] runs per request without I/O.
//!
//! Known, deliberate differences from Kong are listed on [`Router`].

#![forbid(unsafe_code)]

mod error;
mod header;
mod host;
mod matcher;
mod net;
mod path;
mod priority;
mod route_match;
mod router;
mod spec;
mod upstream;
pub mod uri;

pub use error::RouterError;
pub use route_match::{RouteMatch, UriCaptures};
pub use router::Router;
pub use spec::{IpPort, RequestInfo, RouteSpec};
