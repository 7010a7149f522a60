//! HTTP/2 from clients (`http2` listeners): nginx's limits for the connection, the executor that
//! runs its streams on the worker's thread, and each request put in the shape the rest of the
//! worker (and the HTTP/1.1 upstream) expects.

use std::future::Future;

use http::header::{COOKIE, HOST};
use http::uri::Parts;
use http::{HeaderValue, Request, Uri};
use hyper_util::server::conn::auto::Http2Builder;

/// nginx's `http2_max_concurrent_streams` default.
const MAX_CONCURRENT_STREAMS: u32 = 128;

/// Spawns hyper's per-stream tasks on the worker's thread, as requests hold `Rc`s.
#[derive(Clone, Copy)]
pub struct LocalExec;

impl<F: Future + 'static> hyper::rt::Executor<F> for LocalExec {
    fn execute(&self, fut: F) {
        tokio::task::spawn_local(fut);
    }
}

/// Applies the limits: nginx's stream count, and the request head size HTTP/1.1 allows
/// (a larger header list gets 431 from h2, as a larger head does from HTTP/1.1).
pub fn limit(builder: &mut Http2Builder<'_, LocalExec>, max_header_bytes: usize) {
    builder
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
        .max_header_list_size(u32::try_from(max_header_bytes).unwrap_or(u32::MAX));
}

/// Gives an HTTP/2 request what an HTTP/1.1 one has, as nginx does: `Host` from `:authority`
/// (RFC 9113 §8.3.1), the target in origin form (so routing, the PDK and the access log see the
/// path they see over HTTP/1.1) and one `Cookie` header where h2 may split it (§8.2.3).
pub fn as_http1<B>(req: &mut Request<B>) {
    let uri = std::mem::take(req.uri_mut());
    let mut parts = Parts::from(uri);
    if let Some(authority) = parts.authority.take() {
        if let Ok(host) = HeaderValue::from_str(authority.as_str()) {
            req.headers_mut().insert(HOST, host);
        }
    }
    parts.scheme = None;
    *req.uri_mut() = Uri::from_parts(parts).unwrap_or_default();
    join_cookies(req.headers_mut());
}

fn join_cookies(headers: &mut http::HeaderMap) {
    if headers.get_all(COOKIE).iter().nth(1).is_none() {
        return;
    }
    let joined: Vec<&[u8]> = headers
        .get_all(COOKIE)
        .iter()
        .map(|v| v.as_bytes())
        .collect();
    if let Ok(value) = HeaderValue::from_bytes(&joined.join(&b"; "[..])) {
        headers.insert(COOKIE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An h2 request for `uri` with `headers`, after [`as_http1`].
    fn as_received(uri: &str, headers: &[(http::HeaderName, &'static str)]) -> Request<()> {
        let mut req = Request::builder()
            .version(http::Version::HTTP_2)
            .uri(uri)
            .body(())
            .unwrap();
        for (name, value) in headers {
            req.headers_mut()
                .append(name, HeaderValue::from_static(value));
        }
        as_http1(&mut req);
        req
    }

    #[test]
    fn authority_becomes_host_and_the_target_origin_form() {
        let req = as_received("https://api.test:8443/a/b?x=1", &[(HOST, "other.test")]);
        assert_eq!(req.uri(), "/a/b?x=1");
        assert_eq!(req.headers()[HOST], "api.test:8443");
        assert_eq!(req.version(), http::Version::HTTP_2);
        // Without `:authority`, the Host header stays.
        let req = as_received("/only/path", &[(HOST, "api.test")]);
        assert_eq!(req.uri(), "/only/path");
        assert_eq!(req.headers()[HOST], "api.test");
    }

    #[test]
    fn split_cookies_are_joined() {
        let req = as_received(
            "http://api.test/",
            &[(COOKIE, "a=1"), (COOKIE, "b=2"), (COOKIE, "c=3")],
        );
        let cookies: Vec<_> = req.headers().get_all(COOKIE).iter().collect();
        assert_eq!(cookies, ["a=1; b=2; c=3"]);
        let req = as_received("http://api.test/", &[(COOKIE, "a=1")]);
        assert_eq!(req.headers()[COOKIE], "a=1");
    }
}
