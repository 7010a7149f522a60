//! Kong's `headers` and `headers_upstream` properties: which informational headers the gateway
//! adds to responses (and to upstream requests).

use serde::Serialize;

/// The headers switched on; Kong's names, `Server` and `Via` included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ProxyHeaders {
    pub server: bool,
    pub via: bool,
    /// `X-Kong-Proxy-Latency`.
    pub proxy_latency: bool,
    /// `X-Kong-Response-Latency` (responses produced by the gateway itself).
    pub response_latency: bool,
    /// `X-Kong-Admin-Latency`.
    pub admin_latency: bool,
    /// `X-Kong-Upstream-Latency`.
    pub upstream_latency: bool,
    /// `X-Kong-Upstream-Status`.
    pub upstream_status: bool,
    /// `X-Kong-Request-Id`.
    pub request_id: bool,
}

/// Which tokens a property accepts.
pub(crate) enum Scope {
    /// `headers`: every token.
    Downstream,
    /// `headers_upstream`: only `X-Kong-Request-Id`.
    Upstream,
}

/// Parses `off` or a comma-separated token list (case-insensitive, as Kong).
pub(crate) fn parse(s: &str, scope: Scope) -> Result<ProxyHeaders, String> {
    let mut h = ProxyHeaders::default();
    if s == "off" {
        return Ok(h);
    }
    for token in super::values::list(s) {
        let lower = token.to_ascii_lowercase();
        match (&scope, lower.as_str()) {
            (_, "x-kong-request-id") => h.request_id = true,
            (Scope::Downstream, "server_tokens") => (h.server, h.via) = (true, true),
            (Scope::Downstream, "latency_tokens") => {
                h.proxy_latency = true;
                h.response_latency = true;
                h.admin_latency = true;
                h.upstream_latency = true;
            }
            (Scope::Downstream, "server") => h.server = true,
            (Scope::Downstream, "via") => h.via = true,
            (Scope::Downstream, "x-kong-proxy-latency") => h.proxy_latency = true,
            (Scope::Downstream, "x-kong-response-latency") => h.response_latency = true,
            (Scope::Downstream, "x-kong-admin-latency") => h.admin_latency = true,
            (Scope::Downstream, "x-kong-upstream-latency") => h.upstream_latency = true,
            (Scope::Downstream, "x-kong-upstream-status") => h.upstream_status = true,
            (Scope::Downstream, _) => {
                return Err(format!(
                    "invalid header '{token}' (expected off, server_tokens, latency_tokens, \
                     Server, Via, X-Kong-Proxy-Latency, X-Kong-Response-Latency, \
                     X-Kong-Admin-Latency, X-Kong-Upstream-Latency, X-Kong-Upstream-Status \
                     or X-Kong-Request-Id)"
                ))
            }
            (Scope::Upstream, _) => {
                return Err(format!(
                    "invalid header '{token}' (expected off or X-Kong-Request-Id)"
                ))
            }
        }
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kong_default_headers() {
        let h = parse(
            "server_tokens, latency_tokens, X-Kong-Request-Id",
            Scope::Downstream,
        )
        .unwrap();
        assert!(h.server && h.via && h.request_id);
        assert!(h.proxy_latency && h.response_latency && h.admin_latency && h.upstream_latency);
        assert!(!h.upstream_status);
    }

    #[test]
    fn single_tokens_are_case_insensitive() {
        let h = parse("via, x-kong-upstream-status", Scope::Downstream).unwrap();
        assert_eq!(
            h,
            ProxyHeaders {
                via: true,
                upstream_status: true,
                ..ProxyHeaders::default()
            }
        );
        assert_eq!(parse("off", Scope::Downstream), Ok(ProxyHeaders::default()));
    }

    #[test]
    fn upstream_scope_only_takes_request_id() {
        assert!(
            parse("X-Kong-Request-Id", Scope::Upstream)
                .unwrap()
                .request_id
        );
        assert!(parse("Via", Scope::Upstream).unwrap_err().contains("'Via'"));
        assert!(parse("X-Foo", Scope::Downstream)
            .unwrap_err()
            .contains("'X-Foo'"));
    }
}
