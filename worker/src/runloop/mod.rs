//! The request lifecycle (Kong's runloop): rewrite (global plugins) → route → access (plugins
//! resolved one by one, so consumer-scoped ones see the consumer an auth plugin set) → upstream,
//! buffered for the response phase when a plugin needs it → header_filter → body_filter while the
//! body streams → log, after the response is sent.

mod access;
pub mod ctx;
mod downstream;
pub(crate) mod drive;
mod https;
mod phase;

use std::rc::Rc;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, SERVER};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;

pub use ctx::RequestCtx;
pub use phase::{Phase, Phases};

use crate::access_log::Entry;
use crate::gateway::Gateway;
use crate::plugins::Plugins;
use crate::proxy::body::{Body, ResponseBody};
use crate::proxy::errors::{default_message, json_error};
use crate::proxy::{self, ConnInfo};
use ctx::Source;

/// Serves one client request end to end. Never fails: every problem becomes a Kong-style
/// response, and the access log line and `log` handlers run once the response has been sent.
pub async fn handle(
    gw: Rc<Gateway>,
    conn: Rc<ConnInfo>,
    req: Request<Incoming>,
) -> Response<ResponseBody> {
    let (parts, body) = req.into_parts();
    let ctx = RequestCtx::new(conn, parts, body);
    let mut entry = Entry::new(&ctx);
    let plugins = gw.plugins.as_ref().filter(|p| !p.is_empty());

    if let Some(p) = plugins {
        for &i in p.globals(Phase::Rewrite) {
            if ctx.exited.get() {
                break;
            }
            if !drive::run(p, &ctx, Phase::Rewrite, i).await {
                unexpected_error(&ctx);
            }
        }
    }
    let mut collected = None;
    let resp = if ctx.exited.get() {
        exit_response(&ctx)
    } else if !gw.route(&ctx) {
        json_exit(
            &ctx,
            StatusCode::NOT_FOUND,
            "no Route matched with those values",
        );
        exit_response(&ctx)
    } else if https::refused(&gw, &ctx) {
        exit_response(&ctx)
    } else {
        if let Some(p) = plugins {
            collected = Some(access::run(&gw, p, &ctx).await);
        }
        if ctx.exited.get() {
            exit_response(&ctx)
        } else {
            proxy::forward(&gw, &ctx, plugins.is_some(), &mut entry).await
        }
    };
    let downstream: Vec<usize> = match (plugins, collected) {
        (Some(_), Some(c)) => c,
        (Some(p), None) => p.globals_any_downstream(),
        _ => Vec::new(),
    };
    let resp = match plugins {
        Some(p)
            if ctx.upstream.borrow().buffered && ctx.resp.borrow().source == Source::Service =>
        {
            response_phase(p, &ctx, &downstream, resp).await
        }
        _ => resp,
    };
    let mut resp = header_filter(&gw, plugins, &ctx, &downstream, resp).await;
    fix_content_length(
        &mut resp,
        plugins.is_some_and(|p| p.filters_body(&downstream)),
    );
    entry.status = resp.status().as_u16();
    let read_timeout = entry.read_timeout;
    let (parts, body) = resp.into_parts();
    let mut body = ResponseBody::new(body).on_end(Box::new(entry.started_at(ctx.started)));
    if let Some(t) = read_timeout {
        body = body.with_read_timeout(t);
    }
    if plugins.is_some() {
        body = downstream::attach(body, &gw, &ctx, downstream);
    }
    Response::from_parts(parts, body)
}

/// Keeps `Content-Length` true to the body plugins left: exact for a body the gateway made, absent
/// when `body_filter` handlers may change a streamed one (it is then sent chunked).
fn fix_content_length(resp: &mut Response<Body>, filtered: bool) {
    let len = match resp.body() {
        Body::Full(Some(b)) => Some(b.len()),
        Body::Empty => Some(0),
        _ => None,
    };
    match len {
        Some(len) if !filtered => {
            resp.headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from(len));
        }
        _ if filtered => {
            resp.headers_mut().remove(CONTENT_LENGTH);
        }
        _ => {}
    }
}

/// A Lua error in a handler: Kong answers 500 with its generic message (the handler's error is
/// in the error log).
fn unexpected_error(ctx: &RequestCtx) {
    json_exit(
        ctx,
        StatusCode::INTERNAL_SERVER_ERROR,
        &default_message(StatusCode::INTERNAL_SERVER_ERROR),
    );
    ctx.resp.borrow_mut().source = Source::Error;
}

/// A short-circuit with Kong's `{"message": ...}` JSON body.
pub fn json_exit(ctx: &RequestCtx, status: StatusCode, message: &str) {
    json_exit_with(ctx, status, message, http::HeaderMap::new());
}

/// [`json_exit`] with more response headers.
fn json_exit_with(
    ctx: &RequestCtx,
    status: StatusCode,
    message: &str,
    mut headers: http::HeaderMap,
) {
    let body = Bytes::from(serde_json::json!({ "message": message }).to_string());
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    ctx.exit(status, Some(body), Some(headers));
}

/// The response `kong.response.exit` (or the gateway itself) asked for.
fn exit_response(ctx: &RequestCtx) -> Response<Body> {
    let mut resp_state = ctx.resp.borrow_mut();
    let status = resp_state.status.unwrap_or(StatusCode::OK);
    let mut resp = match resp_state.body.take() {
        Some(body) => {
            let mut r = Response::new(Body::full(body.clone()));
            r.headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
            r
        }
        None => Response::new(Body::Empty),
    };
    *resp.status_mut() = status;
    resp
}

/// The `response` phase: the upstream body is read whole, handlers see it through
/// `kong.service.response` and may replace status, headers and body.
async fn response_phase(
    p: &Plugins,
    ctx: &Rc<RequestCtx>,
    downstream: &[usize],
    resp: Response<Body>,
) -> Response<Body> {
    let (parts, body) = resp.into_parts();
    let bytes = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            sluice_log::error!("reading the upstream response failed: {e}");
            return json_error(
                StatusCode::BAD_GATEWAY,
                &default_message(StatusCode::BAD_GATEWAY),
            );
        }
    };
    ctx.resp.borrow_mut().upstream_body = Some(bytes.clone());
    let mut resp = Response::from_parts(parts, Body::full(bytes));
    ctx.take_response_head(&mut resp);
    for &i in downstream {
        if ctx.exited.get() {
            break;
        }
        if !drive::run(p, ctx, Phase::Response, i).await {
            unexpected_error(ctx);
        }
    }
    if ctx.exited.get() {
        return exit_response(ctx);
    }
    ctx.give_response_head(resp)
}

/// The `header_filter` phase, and the headers the gateway adds (`Server` on its own responses,
/// `Connection: close` to HTTP/1.1 clients while draining; HTTP/2 ones get GOAWAY).
async fn header_filter(
    gw: &Gateway,
    plugins: Option<&Plugins>,
    ctx: &Rc<RequestCtx>,
    downstream: &[usize],
    mut resp: Response<Body>,
) -> Response<Body> {
    ctx.take_response_head(&mut resp);
    if let Some(p) = plugins {
        for &i in downstream {
            drive::run(p, ctx, Phase::HeaderFilter, i).await;
        }
    }
    let mut resp = ctx.give_response_head(resp);
    let source = ctx.resp.borrow().source;
    let headers = resp.headers_mut();
    if source != Source::Service {
        if gw.settings.headers.server {
            headers.insert(SERVER, HeaderValue::from_static(crate::SERVER_TOKEN));
        }
        if gw.settings.headers.response_latency {
            headers.insert(
                "x-kong-response-latency",
                proxy::millis(ctx.started.elapsed()),
            );
        }
    }
    if gw.draining() && ctx.req.borrow().version != http::Version::HTTP_2 {
        headers.insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    if plugins.is_some_and(|p| p.any_has(downstream, &[Phase::BodyFilter, Phase::Log])) {
        // body_filter and log handlers read the headers as sent, as Kong's do (`ngx.header`).
        ctx.resp.borrow_mut().headers = resp.headers().clone();
    }
    resp
}
