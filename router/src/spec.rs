//! What the router is given: routes shaped like Kong's `routes` entity, and one request.

use http::HeaderMap;
use std::net::SocketAddr;

/// One route as the router needs it; fields carry the names and meaning of Kong's route entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    /// The route's UUID. Split path groups derive their ids from it, and equal priorities are
    /// broken by it (the higher UUID wins, as in atc-router).
    pub id: String,
    /// The route's name, only used to make errors readable.
    pub name: Option<String>,
    /// Routes whose protocols are all stream ones (`tcp`, `tls`, `udp`, `tls_passthrough`) are
    /// left out of the HTTP router, as Kong does. Empty means Kong's default `http, https`.
    pub protocols: Vec<String>,
    /// Upper-case HTTP methods.
    pub methods: Vec<String>,
    /// `a.com`, `*.a.com`, `a.*`, each optionally with `:port`.
    pub hosts: Vec<String>,
    /// `/prefix` (must be in normalised form) or `~/regex`.
    pub paths: Vec<String>,
    /// Header name (any case, `_` and `-` alike) to accepted values; a value starting with `~*`
    /// is a regex. Values compare case-insensitively.
    pub headers: Vec<(String, Vec<String>)>,
    /// Server names, checked only for `https` requests.
    pub snis: Vec<String>,
    pub sources: Vec<IpPort>,
    pub destinations: Vec<IpPort>,
    /// Orders regex routes of otherwise equal priority; ignored for prefix paths.
    pub regex_priority: i64,
    /// Kong's default is `true`, and so is this type's [`Default`].
    pub strip_path: bool,
}

impl Default for RouteSpec {
    fn default() -> Self {
        RouteSpec {
            id: String::new(),
            name: None,
            protocols: Vec::new(),
            methods: Vec::new(),
            hosts: Vec::new(),
            paths: Vec::new(),
            headers: Vec::new(),
            snis: Vec::new(),
            sources: Vec::new(),
            destinations: Vec::new(),
            regex_priority: 0,
            strip_path: true,
        }
    }
}

/// One element of a route's `sources` or `destinations`: an IP or CIDR, a port, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpPort {
    pub ip: Option<String>,
    pub port: Option<u16>,
}

/// What the router needs to know about one request.
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    pub method: &'a str,
    /// The request target as received in origin form (`$request_uri`): path plus query.
    pub uri: &'a str,
    /// The `Host` header (or `:authority`) as received, port included; `None` when absent.
    pub host: Option<&'a str>,
    /// `http` or `https`.
    pub scheme: &'a str,
    /// The TLS server name, when the connection is TLS and the client sent one.
    pub sni: Option<&'a str>,
    pub headers: &'a HeaderMap,
    /// The client's address (`$remote_addr`, `$remote_port`).
    pub client: SocketAddr,
    /// The address the request arrived on (`$server_addr`, `$server_port`).
    pub local: SocketAddr,
}
