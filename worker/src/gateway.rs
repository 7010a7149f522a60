//! One configuration generation as the request path uses it: the compiled router, the services
//! with their balancers, the upstream connection pool. Built once per worker; a reload starts new
//! workers with a new `Gateway`.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use std::collections::HashMap;

use http::HeaderValue;
use sluice_conf::{DeclarativeConfig, Protocol};
use sluice_router::{RequestInfo, RouteSpec, Router};

use crate::plugins::{Plugins, Scope};
use crate::proxy::balancer::{Balancer, Resolver, Target};
use crate::proxy::pool::{Pool, Timeouts};
use crate::runloop::RequestCtx;
use crate::server::{Lifecycle, Phase};
use crate::settings::Settings;
use crate::tls::{Connector, Connectors};

/// How long resolved host names are reused.
const DNS_TTL: Duration = Duration::from_secs(30);

/// A service as the proxy needs it, timeouts as durations and its peers behind a balancer.
pub struct Service {
    pub id: String,
    pub name: String,
    pub path: Option<String>,
    pub timeouts: Timeouts,
    /// Protocol `https` (or `grpcs`): upstream connections are TLS.
    pub https: bool,
    /// How its TLS connections are made (verified when `tls_verify` is on).
    pub tls: Connector,
    pub retries: u16,
    pub balancer: Rc<Balancer>,
    /// The upstream's `host_header`, which replaces the target's name in `Host`.
    pub host_header: Option<HeaderValue>,
}

struct RouteEntry {
    service: Option<usize>,
    preserve_host: bool,
    id: String,
    /// For a route serving https but not http: its `https_redirect_status_code`.
    https_only: Option<http::StatusCode>,
}

/// What routing decided for one request (kept on the request for the PDK and the proxy).
pub struct Matched {
    /// The path to request upstream (escaped, without query), per Kong's `strip_path` rules.
    pub upstream_path: String,
    /// The request's query string, `Some("")` for a bare `?`.
    pub query: Option<String>,
    /// What `strip_path` removed, for `X-Forwarded-Prefix`.
    pub stripped_prefix: Option<String>,
    pub preserve_host: bool,
    pub captures: Option<sluice_router::UriCaptures>,
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
    /// The generation's plugins; `None` when none is configured (no Lua on the request path).
    pub plugins: Option<Plugins>,
    /// Upstreams by name (`kong.service.set_upstream`); services using one share its balancer.
    pub upstreams: HashMap<String, Rc<Balancer>>,
    /// The shared dicts, for the status endpoint.
    pub zones: Vec<std::sync::Arc<sluice_shdict::Zone>>,
    /// Consumer id to the ids of its groups, by group name (Kong's tie-break).
    consumer_groups: HashMap<String, Vec<String>>,
}

impl Gateway {
    /// Compiles the declarative config; fails on anything the config crate cannot see (a route
    /// regex the router rejects), which `sluice check` reports through [`crate::check`].
    pub fn build(
        loaded: &crate::Loaded,
        settings: Settings,
        worker_id: usize,
        life: Rc<Lifecycle>,
        lua: Option<mlua::Lua>,
        zones: &sluice_shdict::ZoneSet,
    ) -> Result<Gateway, String> {
        let config = &loaded.config;
        let decl = &config.declarative;
        let upstreams: HashMap<String, Rc<Balancer>> = decl
            .upstreams
            .iter()
            .map(|u| {
                let targets = u
                    .targets
                    .iter()
                    .map(|t| Target::new(t.host.clone(), t.port, u32::from(t.weight)));
                (u.name.clone(), Rc::new(Balancer::new(targets.collect())))
            })
            .collect();
        let verifying = decl
            .services
            .iter()
            .any(|s| s.tls_verify == Some(true) && s.ca_certificate_ids.is_empty());
        let connectors = Connectors::new(&config.node.lua_ssl_trusted_certificate, verifying)?;
        let services: Vec<Service> = decl
            .services
            .iter()
            .map(|s| service(decl, s, &upstreams, &connectors))
            .collect::<Result<_, _>>()?;
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
                id: r.id.to_string(),
                https_only: (r.protocols.contains(&Protocol::Https)
                    && !r.protocols.contains(&Protocol::Http))
                .then(|| http::StatusCode::from_u16(r.https_redirect_status_code).ok())
                .flatten(),
            })
            .collect();
        let plugins = match lua {
            Some(lua) => Some(
                Plugins::load(lua, config, &loaded.served).map_err(|errors| errors.join("\n"))?,
            ),
            None => None,
        };
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
            plugins,
            consumer_groups: consumer_groups(decl),
            upstreams,
            zones: zones.iter().cloned().collect(),
        })
    }

    /// Routes a request (Kong's router); on a match, records the route and what it implies on
    /// the request. `false` means no route matched.
    pub fn route(&self, ctx: &RequestCtx) -> bool {
        self.requests.set(self.requests.get() + 1);
        let req = ctx.req.borrow();
        let uri = req.uri.path_and_query().map_or("/", |pq| pq.as_str());
        let host = req
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok());
        let info = RequestInfo {
            method: req.method.as_str(),
            uri,
            host: host.or_else(|| req.uri.authority().map(|a| a.as_str())),
            scheme: ctx.conn.scheme,
            sni: ctx.conn.sni.as_deref(),
            headers: &req.headers,
            client: ctx.conn.client,
            local: ctx.conn.local,
        };
        let Some(m) = self.router.find(&info) else {
            return false;
        };
        let route = &self.routes[m.route()];
        let service_path = route.service.and_then(|i| self.services[i].path.as_deref());
        *ctx.matched.borrow_mut() = Some(Matched {
            upstream_path: m.upstream_path(service_path),
            query: m.query().map(str::to_owned),
            stripped_prefix: m.prefix().map(str::to_owned),
            preserve_host: route.preserve_host,
            captures: m.uri_captures().cloned(),
        });
        ctx.route.set(Some(m.route()));
        true
    }

    /// The `https_redirect_status_code` of a route that serves https only.
    pub fn https_only(&self, route: usize) -> Option<http::StatusCode> {
        self.routes[route].https_only
    }

    /// The service of a matched route.
    pub fn service_of(&self, route: usize) -> Option<&Service> {
        self.routes[route].service.map(|i| &self.services[i])
    }

    /// What plugin lookup keys on for this request right now.
    pub fn scope(&self, ctx: &RequestCtx) -> Scope<'_> {
        let route = ctx.route.get().map(|r| &self.routes[r]);
        let consumer = ctx.consumer_id.borrow().clone();
        let groups = consumer
            .as_ref()
            .and_then(|c| self.consumer_groups.get(c))
            .map_or(&[][..], Vec::as_slice);
        Scope {
            route: route.map(|r| r.id.as_str()),
            service: route
                .and_then(|r| r.service)
                .map(|s| self.services[s].id.as_str()),
            consumer,
            groups,
        }
    }

    /// Whether this worker is shutting down (responses then close their connections).
    pub fn draining(&self) -> bool {
        self.life.phase() != Phase::Serving
    }
}

impl Service {
    /// The `Host` header for a request to `target` when the route does not preserve the client's:
    /// the upstream's `host_header`, else the target, with its port unless it is the default
    /// one of the scheme (80 for http, 443 for https).
    pub fn host_header(&self, target: &Target, https: bool) -> HeaderValue {
        self.host_header
            .as_ref()
            .unwrap_or_else(|| target.host_header(https))
            .clone()
    }
}

fn service(
    decl: &DeclarativeConfig,
    s: &sluice_conf::Service,
    upstreams: &HashMap<String, Rc<Balancer>>,
    connectors: &Connectors,
) -> Result<Service, String> {
    let upstream = decl.upstream_by_name(&s.host);
    let balancer = match upstreams.get(&s.host) {
        Some(b) => b.clone(),
        None => Rc::new(Balancer::new(vec![Target::new(s.host.clone(), s.port, 1)])),
    };
    Ok(Service {
        id: s.id.to_string(),
        name: s.name.clone().unwrap_or_else(|| s.id.to_string()),
        path: s.path.clone(),
        timeouts: Timeouts {
            connect: Duration::from_millis(s.connect_timeout.into()),
            write: Duration::from_millis(s.write_timeout.into()),
            read: Duration::from_millis(s.read_timeout.into()),
        },
        https: matches!(s.protocol, Protocol::Https | Protocol::Grpcs),
        tls: connectors.for_service(
            s,
            s.client_certificate_id
                .or(upstream.and_then(|u| u.client_certificate_id)),
            decl,
        )?,
        retries: s.retries,
        balancer,
        host_header: upstream
            .and_then(|u| u.host_header.as_deref())
            .and_then(|h| HeaderValue::from_str(h).ok()),
    })
}

/// Each consumer's group ids, ordered by group name.
fn consumer_groups(decl: &DeclarativeConfig) -> HashMap<String, Vec<String>> {
    let mut map: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for m in &decl.consumer_group_consumers {
        if let Some(g) = decl
            .consumer_groups
            .iter()
            .find(|g| g.id == m.consumer_group_id)
        {
            map.entry(m.consumer_id.to_string())
                .or_default()
                .push((g.name.clone(), g.id.to_string()));
        }
    }
    map.into_iter()
        .map(|(c, mut groups)| {
            groups.sort();
            (c, groups.into_iter().map(|(_, id)| id).collect())
        })
        .collect()
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
