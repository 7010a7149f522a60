//! One configuration generation as the request path uses it: the compiled router, the services
//! with their balancers, the upstream connection pool. Built once per worker; a reload starts new
//! workers with a new `Gateway`.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use http::Request;
use hyper::body::Incoming;
use sluice_conf::{DeclarativeConfig, Protocol};
use sluice_router::{RequestInfo, RouteSpec, Router};

use crate::proxy::balancer::{Balancer, Resolver, Target};
use crate::proxy::pool::Pool;
use crate::proxy::ConnInfo;
use crate::server::{Lifecycle, Phase};
use crate::settings::Settings;

/// How long resolved host names are reused.
const DNS_TTL: Duration = Duration::from_secs(30);

/// A service as the proxy needs it, timeouts as durations and its peers behind a balancer.
pub struct Service {
    pub name: String,
    pub path: Option<String>,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub retries: u16,
    pub balancer: Balancer,
    /// The upstream's `host_header`, which replaces the target's name in `Host`.
    pub host_header: Option<String>,
}

struct RouteEntry {
    service: Option<usize>,
    preserve_host: bool,
}

/// What routing decided for one request.
pub struct Found<'a> {
    pub service: Option<&'a Service>,
    pub preserve_host: bool,
    /// Path and query to request upstream.
    pub upstream_uri: String,
    /// What `strip_path` removed, for `X-Forwarded-Prefix`.
    pub stripped_prefix: Option<String>,
}

pub struct Gateway {
    router: Router,
    routes: Vec<RouteEntry>,
    services: Vec<Service>,
    pub pool: Pool,
    pub resolver: Resolver,
    pub settings: Settings,
    pub life: Rc<Lifecycle>,
    pub worker_id: usize,
    pub hostname: String,
    pub requests: Cell<u64>,
}

impl Gateway {
    /// Compiles the declarative config; fails on anything the config crate cannot see (a route
    /// regex the router rejects), which `sluice check` reports through [`crate::check`].
    pub fn build(
        decl: &DeclarativeConfig,
        settings: Settings,
        worker_id: usize,
        life: Rc<Lifecycle>,
    ) -> Result<Gateway, String> {
        let services: Vec<Service> = decl.services.iter().map(|s| service(decl, s)).collect();
        let specs: Vec<RouteSpec> = decl.routes.iter().map(route_spec).collect();
        let router = Router::new(&specs).map_err(|e| e.to_string())?;
        let routes = decl
            .routes
            .iter()
            .map(|r| RouteEntry {
                service: r
                    .service_id
                    .and_then(|id| decl.services.iter().position(|s| s.id == id)),
                preserve_host: r.preserve_host,
            })
            .collect();
        Ok(Gateway {
            router,
            routes,
            services,
            pool: Pool::new(settings.keepalive.clone()),
            resolver: Resolver::new(DNS_TTL),
            settings,
            life,
            worker_id,
            hostname: nix::unistd::gethostname()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_default(),
            requests: Cell::new(0),
        })
    }

    /// Routes a request (Kong's router); `None` means no route matched.
    pub fn find(&self, req: &Request<Incoming>, conn: &ConnInfo) -> Option<Found<'_>> {
        self.requests.set(self.requests.get() + 1);
        let uri = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
        let host = req
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok());
        let info = RequestInfo {
            method: req.method().as_str(),
            uri,
            host: host.or_else(|| req.uri().authority().map(|a| a.as_str())),
            scheme: conn.scheme,
            sni: None,
            headers: req.headers(),
            client: conn.client,
            local: conn.local,
        };
        let m = self.router.find(&info)?;
        let route = &self.routes[m.route()];
        let service = route.service.map(|i| &self.services[i]);
        Some(Found {
            service,
            preserve_host: route.preserve_host,
            upstream_uri: m.upstream_uri(service.and_then(|s| s.path.as_deref())),
            stripped_prefix: m.prefix().map(str::to_owned),
        })
    }

    /// Whether this worker is shutting down (responses then close their connections).
    pub fn draining(&self) -> bool {
        self.life.phase() != Phase::Serving
    }
}

impl Service {
    /// The `Host` header for a request to `target` when the route does not preserve the client's:
    /// the upstream's `host_header`, else the target, with its port unless it is the default.
    pub fn host_header(&self, target: &Target) -> String {
        if let Some(h) = &self.host_header {
            return h.clone();
        }
        let host = if target.host.contains(':') {
            format!("[{}]", target.host)
        } else {
            target.host.clone()
        };
        if target.port == 80 {
            host
        } else {
            format!("{host}:{}", target.port)
        }
    }
}

fn service(decl: &DeclarativeConfig, s: &sluice_conf::Service) -> Service {
    let upstream = decl.upstream_by_name(&s.host);
    let targets = match upstream {
        Some(u) => u
            .targets
            .iter()
            .map(|t| Target {
                host: t.host.clone(),
                port: t.port,
                weight: u32::from(t.weight),
            })
            .collect(),
        None => vec![Target {
            host: s.host.clone(),
            port: s.port,
            weight: 1,
        }],
    };
    Service {
        name: s.name.clone().unwrap_or_else(|| s.id.to_string()),
        path: s.path.clone(),
        connect_timeout: Duration::from_millis(s.connect_timeout.into()),
        read_timeout: Duration::from_millis(s.read_timeout.into()),
        retries: s.retries,
        balancer: Balancer::new(targets),
        host_header: upstream.and_then(|u| u.host_header.clone()),
    }
}

fn route_spec(r: &sluice_conf::Route) -> RouteSpec {
    RouteSpec {
        id: r.id.to_string(),
        name: r.name.clone(),
        protocols: r
            .protocols
            .iter()
            .map(|p: &Protocol| p.as_str().to_owned())
            .collect(),
        methods: r.methods.clone(),
        hosts: r.hosts.clone(),
        paths: r.paths.clone(),
        headers: r
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        snis: r.snis.clone(),
        regex_priority: r.regex_priority,
        strip_path: r.strip_path,
        ..RouteSpec::default()
    }
}
