//! Routes that serve `https` but not `http`: a request that did not come over TLS (as the client
//! connection, or `X-Forwarded-Proto` from a trusted proxy, tells) gets Kong's 426, or a redirect
//! to the https URL with the route's `https_redirect_status_code`.

use http::header::{CONNECTION, LOCATION, UPGRADE};
use http::{HeaderMap, HeaderValue, StatusCode};

use super::{json_exit_with, RequestCtx};
use crate::gateway::Gateway;
use crate::proxy::strip_port;

/// Answers the request when its route needs https and it is not; `true` when it did.
pub fn refused(gw: &Gateway, ctx: &RequestCtx) -> bool {
    let Some(code) = ctx.route.get().and_then(|r| gw.https_only(r)) else {
        return false;
    };
    let trusted = gw.settings.is_trusted(ctx.conn.client.ip());
    let forwarded = |name| {
        let req = ctx.req.borrow();
        let value = req.headers.get(name)?.to_str().ok()?.to_owned();
        trusted.then_some(value)
    };
    let proto = forwarded("x-forwarded-proto");
    if proto.as_deref().unwrap_or(ctx.conn.scheme) == "https" {
        return false;
    }
    let mut headers = HeaderMap::new();
    if code == StatusCode::UPGRADE_REQUIRED {
        headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
        headers.insert(UPGRADE, HeaderValue::from_static("TLS/1.2, HTTP/1.1"));
        json_exit_with(ctx, code, "Please use HTTPS protocol", headers);
        return true;
    }
    let host = forwarded("x-forwarded-host").or_else(|| {
        let req = ctx.req.borrow();
        let host = req.headers.get(http::header::HOST)?.to_str().ok()?;
        Some(strip_port(host).to_ascii_lowercase())
    });
    let uri = ctx
        .req
        .borrow()
        .uri
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    let location = format!("https://{}{uri}", host.unwrap_or_default());
    if let Ok(value) = HeaderValue::try_from(location) {
        headers.insert(LOCATION, value);
    }
    ctx.exit(code, None, Some(headers));
    true
}
