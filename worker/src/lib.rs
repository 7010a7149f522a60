//! A Sluice worker process: everything that happens after the master forks.
//!
//! The request path, by file: [`server`] accepts (with [`tls`] on `ssl` listeners) and speaks
//! HTTP/1.1, and HTTP/2 ([`http2`]) on `http2` listeners → [`runloop`] runs the request's
//! phases: [`gateway`] finds the route, [`plugins`] run (their `kong.*` API is [`pdk`]),
//! [`proxy`] forwards to the upstream ([`proxy::balancer`], [`proxy::pool`], TLS from [`tls`])
//! and streams the response back → [`access_log`]. [`runtime`] is the worker's life: runtime,
//! signals, ready notification, drain.
#![forbid(unsafe_code)]

mod access_log;
mod admin;
mod certificates;
mod gateway;
mod http2;
mod pdk;
mod plugin_servers;
mod plugins;
mod proxy;
mod runloop;
mod runtime;
mod server;
mod settings;
mod tls;

use std::net::TcpListener;
use std::os::fd::OwnedFd;

pub use runtime::run;

/// `Server` header on responses the gateway makes itself (Kong's `server_tokens`).
pub const SERVER_TOKEN: &str = concat!("sluice/", env!("CARGO_PKG_VERSION"));

/// Exit status meaning "this configuration cannot run": the master must not respawn the worker
/// (nginx's convention), so a broken config cannot cause a fork loop.
pub const EXIT_FATAL: i32 = 2;

/// Opens a log destination as configured (`off`, `/dev/stdout`, `/dev/stderr` or a file).
pub fn open_log(target: &sluice_conf::LogTarget) -> std::io::Result<sluice_log::LogFile> {
    use sluice_conf::LogTarget;
    Ok(match target {
        LogTarget::Off => sluice_log::LogFile::Off,
        LogTarget::Stdout => sluice_log::LogFile::Stdout,
        LogTarget::Stderr => sluice_log::LogFile::Stderr,
        LogTarget::File(path) => sluice_log::LogFile::file(path)?,
    })
}

/// The error log threshold for a configured `log_level`.
pub fn log_level(level: sluice_conf::LogLevel) -> sluice_log::Level {
    sluice_log::Level::parse(level.as_str()).unwrap_or(sluice_log::Level::Notice)
}

/// Checks what only a worker would notice at start-up (route regexes the router rejects, plugins
/// that fail to load, plugin configs their schemas refuse, `ssl_cert` files or `certificates`
/// entities that do not load), so `sluice check`, start and reload report it before any worker is
/// forked. Uses a throwaway Lua VM. The default certificate is left out: the master makes it after
/// the check.
pub fn check(loaded: &Loaded) -> Result<(), String> {
    let node = &loaded.config.node;
    let pairs = if node.ssl_cert.is_empty() {
        Vec::new()
    } else {
        node.ssl_cert_pairs()
    };
    tls::acceptor(&pairs, &loaded.config.declarative)?;
    let settings = settings::Settings::from_node(node, node.worker_processes);
    let zones = sluice_shdict::ZoneSet::default();
    let lua = plugins::vm(&loaded.config, None, &zones)?;
    gateway::Gateway::build(loaded, settings, 0, server::Lifecycle::new(), lua, &zones).map(drop)
}

/// A checked configuration with what its plugin servers serve: what one generation runs.
pub struct Loaded {
    pub config: sluice_conf::Checked,
    /// Each plugin server's plugins, from its query command.
    pub served: Vec<sluice_pluginserver::info::Served>,
}

/// What a listening socket serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenKind {
    Proxy,
    Admin,
    Status,
}

/// One listening socket of a worker's slot.
pub struct Listener {
    pub kind: ListenKind,
    /// `ssl`: connections start with a TLS handshake.
    pub ssl: bool,
    /// `http2`: HTTP/2 too, chosen in ALPN on `ssl` listeners, by its preface (h2c) otherwise.
    pub http2: bool,
    pub socket: TcpListener,
}

/// Everything a worker gets from the master at fork time.
pub struct WorkerInit<'a> {
    /// The worker's slot: it serves socket `slot` of every listening group.
    pub slot: usize,
    pub worker_count: usize,
    pub loaded: &'a Loaded,
    /// The shared dicts, mapped by the master before the fork (`lua_shared_dict`).
    pub zones: &'a sluice_shdict::ZoneSet,
    /// This slot's listening sockets (already bound and listening, owned by the master too).
    pub listeners: Vec<Listener>,
    /// Written to once the worker serves, so the master can retire the previous generation.
    pub ready: OwnedFd,
}
