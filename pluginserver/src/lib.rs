//! The gateway side of Kong's `MsgPack:1` plugin-server protocol, so Kong's own Go, Python
//! and JavaScript plugin servers (and ours) run external plugins for Sluice unchanged.
//!
//! - [`info`]: what a server serves, from its query command, before anything forks;
//!   [`info::query_all`] asks every configured server.
//! - [`Client`]: one per worker and server: pooled unix-socket connections, plugin
//!   instances ([`InstanceConfig`]), and [`Client::run_event`], which drives
//!   `HandleEvent` → `Step*` and hands each PDK call to a [`PdkDispatch`].
//! - [`codec`]: the wire format (concatenated msgpack objects, no length prefix).

#![forbid(unsafe_code)]

mod client;
pub mod codec;
mod conn;
mod error;
mod event;
pub mod info;
mod instance;
mod pool;
pub mod step;

pub use client::{Client, ClientConfig};
pub use error::Error;
pub use event::{EventOutcome, PdkDispatch, PdkFuture, PdkReply};
pub use instance::{InstanceConfig, PluginScope};
