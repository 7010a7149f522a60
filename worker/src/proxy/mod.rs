//! Sending the request upstream as the plugins left it, and streaming the answer back.

pub mod balancer;
pub mod body;
pub mod errors;
mod forward;
pub mod pool;
mod write_timeout;

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use http::header::{HOST, VIA};
use http::{HeaderName, HeaderValue, Request, Response, StatusCode, Uri, Version};
use tokio::time::Instant;

use crate::access_log::Entry;
use crate::gateway::Gateway;
use crate::runloop::ctx::Source;
use crate::runloop::RequestCtx;
use body::Body;
use errors::{json_error, kong_error};
use pool::{Failed, UpstreamError, UpstreamTls};

static X_KONG_UPSTREAM_LATENCY: HeaderName = HeaderName::from_static("x-kong-upstream-latency");
static X_KONG_PROXY_LATENCY: HeaderName = HeaderName::from_static("x-kong-proxy-latency");
static X_KONG_UPSTREAM_STATUS: HeaderName = HeaderName::from_static("x-kong-upstream-status");

/// What the gateway knows about the client connection a request came on.
pub struct ConnInfo {
    pub client: SocketAddr,
    pub local: SocketAddr,
    /// `https` on an `ssl` listener.
    pub scheme: &'static str,
    /// The server name the client sent in its TLS handshake.
    pub sni: Option<String>,
    /// nginx's `$connection`: this connection's serial number (counted per worker; nginx counts
    /// across workers).
    pub serial: u64,
    /// nginx's `$connection_requests`: requests received on it so far, this one included.
    pub requests: std::cell::Cell<u64>,
    /// The client's address and the local port as header text, for the forwarding headers of
    /// every request on the connection.
    client_ip: HeaderValue,
    local_port: HeaderValue,
}

impl ConnInfo {
    pub fn new(
        client: SocketAddr,
        local: SocketAddr,
        scheme: &'static str,
        sni: Option<String>,
        serial: u64,
    ) -> ConnInfo {
        ConnInfo {
            client,
            local,
            scheme,
            sni,
            serial,
            requests: std::cell::Cell::new(0),
            client_ip: HeaderValue::from_str(&client.ip().to_string())
                .expect("an IP address is header text"),
            local_port: HeaderValue::from(local.port()),
        }
    }

    /// The client's address as text.
    pub fn client_ip_text(&self) -> &str {
        self.client_ip.to_str().unwrap_or_default()
    }
}

/// Proxies the routed request in `ctx` to its service. `keep_request` leaves the client's headers
/// in `ctx` for later phases (when plugins run), at the cost of a copy.
pub async fn forward(
    gw: &Gateway,
    ctx: &Rc<RequestCtx>,
    keep_request: bool,
    entry: &mut Entry,
) -> Response<Body> {
    let Some(service) = ctx.route.get().and_then(|r| gw.service_of(r)) else {
        ctx.resp.borrow_mut().source = Source::Error;
        return json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "no Service found with those values",
        );
    };
    let (mut req, client_host, preserve_host) = upstream_request(gw, ctx, keep_request);
    let proxy_latency = ctx.started.elapsed();
    let upstream_started = Instant::now();
    let mut tries = 0;
    let (target_override, balancer, https) = {
        let changes = ctx.upstream.borrow();
        let balancer = changes
            .upstream
            .as_ref()
            .and_then(|name| gw.upstreams.get(name))
            .unwrap_or(&service.balancer);
        // `kong.service.request.set_scheme` overrides the service's protocol.
        let https = changes
            .scheme
            .as_deref()
            .map_or(service.https, |s| s == "https");
        let target =
            (changes.target.clone()).map(|(host, port)| balancer::Target::new(host, port, 1));
        (target, balancer.clone(), https)
    };
    let result = loop {
        let target = match &target_override {
            Some(target) => target,
            None => match balancer.pick() {
                Some(t) => t,
                None => {
                    sluice_log::error!(
                        "failure to get a peer from the ring-balancer for service {}",
                        service.name
                    );
                    ctx.resp.borrow_mut().source = Source::Error;
                    return json_error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "failure to get a peer from the ring-balancer",
                    );
                }
            },
        };
        let peer = match gw.resolver.resolve(target).await {
            Ok(peer) => peer,
            Err(e) => {
                sluice_log::error!("name resolution of {} failed: {e}", target.host);
                ctx.resp.borrow_mut().source = Source::Error;
                return json_error(StatusCode::SERVICE_UNAVAILABLE, "name resolution failed");
            }
        };
        let host = match (&client_host, preserve_host) {
            (Some(client_host), true) => client_host.clone(),
            _ => service.host_header(target, https),
        };
        // The SNI is the Host sent upstream, as Kong's `proxy_ssl_name $upstream_host`.
        let tls = if https {
            match crate::tls::server_name(host.to_str().unwrap_or_default()) {
                Ok(name) => Some(UpstreamTls {
                    connector: &service.tls,
                    name,
                }),
                Err(e) => {
                    sluice_log::error!("{e} for TLS to upstream {peer}");
                    ctx.resp.borrow_mut().source = Source::Error;
                    return kong_error(StatusCode::BAD_GATEWAY);
                }
            }
        } else {
            None
        };
        forward::set_host(req.headers_mut(), host);
        match gw
            .pool
            .send(peer, tls.as_ref(), req, service.timeouts)
            .await
        {
            Ok(resp) => break Ok(resp),
            Err(Failed {
                error,
                unsent: Some(unsent),
            }) if tries < service.retries => {
                sluice_log::warn!("{error} while connecting to upstream {peer}, retrying");
                tries += 1;
                req = unsent;
            }
            Err(Failed { error, .. }) => break Err((peer, error)),
        }
    };
    let upstream_latency = upstream_started.elapsed();
    entry.upstream_latency = Some(upstream_latency);
    match result {
        Err((peer, error)) => {
            sluice_log::error!(
                "{error} while proxying to upstream {peer}, client: {}",
                ctx.conn.client
            );
            ctx.resp.borrow_mut().source = Source::Error;
            match error {
                UpstreamError::Timeout => kong_error(StatusCode::GATEWAY_TIMEOUT),
                UpstreamError::Connect(_) | UpstreamError::Tls(_) | UpstreamError::Protocol(_) => {
                    kong_error(StatusCode::BAD_GATEWAY)
                }
            }
        }
        Ok(resp) => {
            entry.upstream_status = Some(resp.status().as_u16());
            entry.read_timeout = Some(service.timeouts.read);
            let (mut parts, body) = resp.into_parts();
            forward::strip_hop_by_hop(&mut parts.headers);
            {
                let mut r = ctx.resp.borrow_mut();
                r.upstream_status = Some(parts.status);
                if keep_request {
                    r.upstream_headers = parts.headers.clone();
                }
            }
            let (h, on) = (&mut parts.headers, &gw.settings.headers);
            if on.upstream_latency {
                h.insert(X_KONG_UPSTREAM_LATENCY.clone(), millis(upstream_latency));
            }
            if on.proxy_latency {
                h.insert(X_KONG_PROXY_LATENCY.clone(), millis(proxy_latency));
            }
            if on.upstream_status {
                h.insert(
                    X_KONG_UPSTREAM_STATUS.clone(),
                    HeaderValue::from(parts.status.as_u16()),
                );
            }
            if on.via {
                // The hop from the upstream, which speaks HTTP/1.1 (Kong's `proxy_http_version`).
                h.append(VIA, forward::via(Version::HTTP_11));
            }
            Response::from_parts(parts, Body::Stream(body))
        }
    }
}

/// The request as it goes upstream: path and query (router and plugins), method, headers with
/// the forwarding ones, body. Returns the client's Host too, and whether the route preserves it
/// (`Host` itself is set per peer, as the target may change on retry).
fn upstream_request(
    gw: &Gateway,
    ctx: &RequestCtx,
    keep_request: bool,
) -> (Request<Body>, Option<HeaderValue>, bool) {
    let mut req = ctx.req.borrow_mut();
    let changes = ctx.upstream.borrow();
    let matched = ctx.matched.borrow();
    let matched = matched.as_ref();
    let client_host = request_host(&req.headers, &req.uri);
    let mut headers = if keep_request {
        // The client's map, with room for the forwarding headers, goes upstream; the later
        // phases read an exact copy.
        let copy = req.headers.clone();
        std::mem::replace(&mut req.headers, copy)
    } else {
        std::mem::take(&mut req.headers)
    };
    forward::strip_hop_by_hop(&mut headers);
    forward::add_forwarded(
        &mut headers,
        &forward::Forwarded {
            client_ip: &ctx.conn.client_ip,
            scheme: ctx.conn.scheme,
            host: client_host
                .as_ref()
                .and_then(|h| h.to_str().ok())
                .map_or("", strip_port),
            local_port: &ctx.conn.local_port,
            path: req.uri.path(),
            stripped_prefix: matched.and_then(|m| m.stripped_prefix.as_deref()),
            trusted: gw.settings.is_trusted(ctx.conn.client.ip()),
        },
        gw.settings.headers.via.then(|| forward::via(req.version)),
    );
    let uri = ctx.upstream_uri().unwrap_or_else(|| "/".into());
    let body = match (req.raw_body.clone(), req.body.take()) {
        (Some(bytes), _) => {
            headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
            headers.remove(http::header::TRANSFER_ENCODING);
            Body::full(bytes)
        }
        (None, Some(incoming)) if !http_body::Body::is_end_stream(&incoming) => {
            Body::Stream(incoming)
        }
        _ => Body::Empty,
    };
    let mut upstream = Request::new(body);
    *upstream.method_mut() = changes.method.clone().unwrap_or_else(|| req.method.clone());
    *upstream.uri_mut() = Uri::try_from(uri).unwrap_or_else(|_| Uri::from_static("/"));
    *upstream.version_mut() = Version::HTTP_11;
    *upstream.headers_mut() = headers;
    (
        upstream,
        client_host,
        matched.is_some_and(|m| m.preserve_host),
    )
}

/// The host the client asked for: the Host header, or the authority of an absolute URI.
fn request_host(headers: &http::HeaderMap, uri: &Uri) -> Option<HeaderValue> {
    headers
        .get(HOST)
        .filter(|h| h.to_str().is_ok())
        .cloned()
        .or_else(|| {
            uri.authority()
                .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
        })
}

/// A latency header's value in milliseconds. Most are a few, so those come from a table rather
/// than being formatted into a new allocation.
pub fn millis(d: Duration) -> HeaderValue {
    static SMALL: [HeaderValue; 10] = [
        HeaderValue::from_static("0"),
        HeaderValue::from_static("1"),
        HeaderValue::from_static("2"),
        HeaderValue::from_static("3"),
        HeaderValue::from_static("4"),
        HeaderValue::from_static("5"),
        HeaderValue::from_static("6"),
        HeaderValue::from_static("7"),
        HeaderValue::from_static("8"),
        HeaderValue::from_static("9"),
    ];
    let ms = d.as_millis();
    match SMALL.get(ms as usize) {
        Some(v) => v.clone(),
        None => HeaderValue::from(ms as u64),
    }
}

/// `host` without its `:port` (IPv6 keeps its brackets).
pub fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_inclusive(']').next().unwrap_or(host);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}
