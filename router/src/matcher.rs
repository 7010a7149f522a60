//! One compiled matcher: a route's conditions with one group of its paths, as one ATC matcher in
//! Kong. All conditions must hold; any value of a condition may match.

use crate::header::HeaderMatcher;
use crate::host::HostMatcher;
use crate::net::NetMatcher;
use crate::path::{PathHit, PathMatcher};
use crate::priority::Priority;
use crate::spec::RouteSpec;
use http::HeaderMap;
use std::net::SocketAddr;

/// The request as the matchers see it, prepared once per lookup.
#[derive(Debug)]
pub(crate) struct Request<'a> {
    pub(crate) method: &'a str,
    /// The `Host` header without its port.
    pub(crate) host: Option<&'a str>,
    /// The `Host` header's port, else the local port (Kong's `net.dst.port` in HTTP).
    pub(crate) dst_port: u64,
    /// Normalised, without the query string.
    pub(crate) path: &'a str,
    pub(crate) scheme: &'a str,
    pub(crate) sni: Option<&'a str>,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) client: SocketAddr,
    pub(crate) local: SocketAddr,
}

/// Everything of a route but its paths; shared by all path groups of the route.
#[derive(Debug, Clone)]
pub(crate) struct Conditions {
    methods: Vec<String>,
    pub(crate) hosts: Vec<HostMatcher>,
    pub(crate) headers: Vec<HeaderMatcher>,
    snis: Vec<String>,
    sources: Vec<NetMatcher>,
    destinations: Vec<NetMatcher>,
}

/// The route field a compile error belongs to, and the error.
pub(crate) type FieldError = (&'static str, String);

impl Conditions {
    pub(crate) fn compile(route: &RouteSpec) -> Result<Self, FieldError> {
        let in_field = |field: &'static str| move |message: String| (field, message);
        if let Some(bad) = route
            .methods
            .iter()
            .find(|m| m.is_empty() || !m.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err((
                "methods",
                format!("invalid value '{bad}': must be upper-case letters"),
            ));
        }
        let hosts = route
            .hosts
            .iter()
            .map(|h| HostMatcher::compile(h))
            .collect::<Result<_, _>>()
            .map_err(in_field("hosts"))?;
        let headers = route
            .headers
            .iter()
            .map(|(name, values)| HeaderMatcher::compile(name, values))
            .collect::<Result<_, _>>()
            .map_err(in_field("headers"))?;
        let sources = route
            .sources
            .iter()
            .map(NetMatcher::compile)
            .collect::<Result<_, _>>()
            .map_err(in_field("sources"))?;
        let destinations = route
            .destinations
            .iter()
            .map(NetMatcher::compile)
            .collect::<Result<_, _>>()
            .map_err(in_field("destinations"))?;
        Ok(Conditions {
            methods: route.methods.clone(),
            hosts,
            headers,
            // Kong drops the trailing dot of a fully qualified name before matching SNIs.
            snis: route
                .snis
                .iter()
                .map(|sni| match sni.strip_suffix('.') {
                    Some(stripped) if !stripped.is_empty() => stripped.to_string(),
                    _ => sni.clone(),
                })
                .collect(),
            sources,
            destinations,
        })
    }

    fn matches(&self, req: &Request<'_>) -> bool {
        (self.methods.is_empty() || self.methods.iter().any(|m| m == req.method))
            && (self.hosts.is_empty()
                || req.host.is_some_and(|host| self.hosts.iter().any(|h| h.matches(host, req.dst_port))))
            // SNIs are only checked for https: `(net.protocol != "https" || tls.sni == ...)`.
            && (self.snis.is_empty()
                || req.scheme != "https"
                || req.sni.is_some_and(|sni| self.snis.iter().any(|s| s == sni)))
            && (self.sources.is_empty()
                || self.sources.iter().any(|s| s.matches(req.client.ip().to_canonical(), u64::from(req.client.port()))))
            && (self.destinations.is_empty()
                || self.destinations.iter().any(|d| d.matches(req.local.ip().to_canonical(), req.dst_port)))
            && self.headers.iter().all(|h| h.matches(req.headers))
    }
}

/// What a successful match learned about the path.
#[derive(Debug)]
pub(crate) struct Hit {
    /// `None` when the matcher has no paths.
    pub(crate) path: Option<PathHit>,
}

#[derive(Debug, Clone)]
pub(crate) struct Matcher {
    /// Index of the route in the slice given to the router.
    pub(crate) route: usize,
    pub(crate) priority: Priority,
    pub(crate) strip_path: bool,
    pub(crate) conditions: Conditions,
    pub(crate) paths: Vec<PathMatcher>,
}

impl Matcher {
    pub(crate) fn check(&self, req: &Request<'_>) -> Option<Hit> {
        if !self.conditions.matches(req) {
            return None;
        }
        if self.paths.is_empty() {
            return Some(Hit { path: None });
        }
        // The first path of the group that matches decides, as with `||` in the expression.
        self.paths
            .iter()
            .find_map(|p| p.matches(req.path))
            .map(|hit| Hit { path: Some(hit) })
    }
}
