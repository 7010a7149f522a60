//! The worker's Lua environment: one LuaJIT VM per worker process with what Kong plugins expect
//! before any request exists — OpenResty's table extensions, the request-independent `ngx` API
//! (`ngx.re` on PCRE2, `ngx.shared` on the shdict zones, time, codecs, URI helpers), `cjson`,
//! and our own versions of the helper modules plugins `require` (`kong.meta`, `kong.constants`,
//! `kong.tools.*`, `resty.lrucache`, ...).
//!
//! The request-scoped parts (`ngx.var`, `ngx.ctx`, `ngx.exit`, the PDK) are installed later by
//! the worker on the tables returned by [`ngx_table`] and [`kong_table`].
//!
//! Only `vm.rs` contains `unsafe` code: creating a VM that may load `ffi` and C modules.
#![deny(unsafe_code)]

mod args;
mod cjson;
mod lfs;
mod log;
mod modules;
mod native;
mod ngx;
mod raise;
mod tablex;
mod vm;

#[cfg(test)]
mod testing;

pub use log::{ErrorLog, LogSink};
pub use vm::{kong_table, log_sink, new_vm, ngx_table, require, set_worker_exiting, VmOptions};
