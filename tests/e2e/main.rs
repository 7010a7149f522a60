//! End-to-end tests: the real `sluice` binary, real upstream servers on loopback, real HTTP.
//! One test binary (linking is slow); each module is one area of behaviour.

mod common;
mod external_plugins;
mod http2;
mod kong_compat;
mod lua_plugins;
mod plugin_peers;
mod process;
mod proxy;
mod routing;
mod shared_dicts;
mod tls;
