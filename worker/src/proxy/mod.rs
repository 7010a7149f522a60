//! The request path after accept: route → (plugins) → upstream → response.

pub mod balancer;
pub mod body;
pub mod errors;
mod forward;
pub mod pool;

use std::net::SocketAddr;
use std::rc::Rc;

use std::time::Duration;

use http::header::{HOST, SERVER, VIA};
use http::{HeaderValue, Request, Response, StatusCode, Uri, Version};
use hyper::body::Incoming;
use tokio::time::Instant;

use crate::access_log::Entry;
use crate::gateway::{Found, Gateway};
use body::{Body, ResponseBody};
use errors::{json_error, kong_error};
use pool::{Failed, UpstreamError};

/// What the gateway knows about the client connection a request came on.
pub struct ConnInfo {
    pub client: SocketAddr,
    pub local: SocketAddr,
    pub scheme: &'static str,
}

/// Serves one client request end to end. Never fails: every problem becomes a Kong-style
/// response, and the access log line is written when the response body ends.
pub async fn handle(
    gw: Rc<Gateway>,
    conn: Rc<ConnInfo>,
    req: Request<Incoming>,
) -> Response<ResponseBody> {
    let started = Instant::now();
    let mut entry = Entry::new(&req, &conn);
    let mut resp = match gw.find(&req, &conn) {
        None => json_error(StatusCode::NOT_FOUND, "no Route matched with those values"),
        Some(found) => proxy(&gw, &conn, req, &found, started, &mut entry).await,
    };
    let headers = resp.headers_mut();
    if entry.upstream_status.is_none() {
        // Made by the gateway itself (Kong's `server_tokens` and `latency_tokens`).
        if gw.settings.headers.server {
            headers.insert(SERVER, HeaderValue::from_static(crate::SERVER_TOKEN));
        }
        if gw.settings.headers.response_latency {
            headers.insert("x-kong-response-latency", millis(started.elapsed()));
        }
    }
    if gw.draining() {
        headers.insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    entry.status = resp.status().as_u16();
    let read_timeout = entry.read_timeout;
    let (parts, body) = resp.into_parts();
    let mut body = ResponseBody::new(body).on_end(Box::new(entry.started_at(started)));
    if let Some(t) = read_timeout {
        body = body.with_read_timeout(t);
    }
    Response::from_parts(parts, body)
}

async fn proxy(
    gw: &Gateway,
    conn: &ConnInfo,
    req: Request<Incoming>,
    found: &Found<'_>,
    started: Instant,
    entry: &mut Entry,
) -> Response<Body> {
    let Some(service) = found.service else {
        return json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "no Service found with those values",
        );
    };
    let (mut req, client_host) = upstream_request(gw, conn, req, found);
    let proxy_latency = started.elapsed();
    let upstream_started = Instant::now();
    let mut tries = 0;
    let result = loop {
        let Some(target) = service.balancer.pick() else {
            sluice_log::error!(
                "failure to get a peer from the ring-balancer for service {}",
                service.name
            );
            return json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "failure to get a peer from the ring-balancer",
            );
        };
        let peer = match gw.resolver.resolve(&target.host, target.port).await {
            Ok(peer) => peer,
            Err(e) => {
                sluice_log::error!("name resolution of {} failed: {e}", target.host);
                return json_error(StatusCode::SERVICE_UNAVAILABLE, "name resolution failed");
            }
        };
        let host = match (&client_host, found.preserve_host) {
            (Some(client_host), true) => client_host.clone(),
            _ => service.host_header(target),
        };
        forward::set_host(req.headers_mut(), &host);
        match gw
            .pool
            .send(peer, req, service.connect_timeout, service.read_timeout)
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
                conn.client
            );
            match error {
                UpstreamError::Timeout => kong_error(StatusCode::GATEWAY_TIMEOUT),
                UpstreamError::Connect(_) | UpstreamError::Protocol(_) => {
                    kong_error(StatusCode::BAD_GATEWAY)
                }
            }
        }
        Ok(resp) => {
            entry.upstream_status = Some(resp.status().as_u16());
            entry.read_timeout = Some(service.read_timeout);
            let (mut parts, body) = resp.into_parts();
            forward::strip_hop_by_hop(&mut parts.headers);
            let (h, on) = (&mut parts.headers, &gw.settings.headers);
            if on.upstream_latency {
                h.insert("x-kong-upstream-latency", millis(upstream_latency));
            }
            if on.proxy_latency {
                h.insert("x-kong-proxy-latency", millis(proxy_latency));
            }
            if on.upstream_status {
                h.insert(
                    "x-kong-upstream-status",
                    HeaderValue::from(entry.upstream_status.unwrap_or(0)),
                );
            }
            if on.via {
                h.append(VIA, HeaderValue::from_static(crate::VIA_TOKEN));
            }
            Response::from_parts(parts, Body::Stream(body))
        }
    }
}

/// The request as it goes upstream: rewritten path, forwarding headers, same body. Returns the
/// client's Host too (`Host` itself is set per peer, as the target may change on retry).
fn upstream_request(
    gw: &Gateway,
    conn: &ConnInfo,
    req: Request<Incoming>,
    found: &Found,
) -> (Request<Body>, Option<String>) {
    let (mut parts, body) = req.into_parts();
    let client_host = request_host(&parts.headers, &parts.uri);
    forward::strip_hop_by_hop(&mut parts.headers);
    let client_ip = conn.client.ip().to_string();
    forward::add_forwarded(
        &mut parts.headers,
        &forward::Forwarded {
            client_ip: &client_ip,
            scheme: conn.scheme,
            host: client_host.as_deref().map_or("", strip_port),
            local_port: conn.local.port(),
            path: parts.uri.path(),
            stripped_prefix: found.stripped_prefix.as_deref(),
            trusted: gw.settings.is_trusted(conn.client.ip()),
        },
        gw.settings
            .headers
            .via
            .then(|| HeaderValue::from_static(crate::VIA_TOKEN)),
    );
    parts.uri =
        Uri::try_from(found.upstream_uri.as_str()).unwrap_or_else(|_| Uri::from_static("/"));
    parts.version = Version::HTTP_11;
    let body = if http_body::Body::is_end_stream(&body) {
        Body::Empty
    } else {
        Body::Stream(body)
    };
    (Request::from_parts(parts, body), client_host)
}

/// The host the client asked for: the Host header, or the authority of an absolute URI.
fn request_host(headers: &http::HeaderMap, uri: &Uri) -> Option<String> {
    headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| uri.authority().map(|a| a.to_string()))
}

fn millis(d: Duration) -> HeaderValue {
    HeaderValue::from(d.as_millis() as u64)
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_inclusive(']').next().unwrap_or(host);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}
