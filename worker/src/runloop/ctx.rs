//! The state of one request as the plugins see and change it. The PDK reads and writes it; the
//! runloop turns it into the upstream request and the client response.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, Uri, Version};
use hyper::body::Incoming;
use mlua::Table;
use tokio::time::Instant;

use super::phase::Phase;
use crate::proxy::ConnInfo;

thread_local! {
    /// The request whose plugin code is running right now. Set around every call into Lua (and
    /// every poll of a plugin coroutine), so PDK functions find their request without arguments,
    /// the way `ngx.ctx` does in OpenResty.
    static CURRENT: RefCell<Option<Rc<RequestCtx>>> = const { RefCell::new(None) };
}

/// Runs `f` with `ctx` as the current request, restoring the previous one afterwards (timers and
/// nested calls).
pub fn with_current<R>(ctx: &Rc<RequestCtx>, f: impl FnOnce() -> R) -> R {
    let previous = CURRENT.with(|c| c.replace(Some(ctx.clone())));
    let r = f();
    CURRENT.with(|c| *c.borrow_mut() = previous);
    r
}

/// The current request, if plugin code is running for one.
pub fn current() -> Option<Rc<RequestCtx>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// The client's request, as received and as plugins change it (`kong.service.request.*` edits the
/// same headers, as `ngx.req.set_header` does in nginx).
pub struct ClientRequest {
    pub method: Method,
    pub uri: Uri,
    pub version: Version,
    pub headers: HeaderMap,
    /// The body until something reads it whole (`kong.request.get_raw_body`).
    pub body: Option<Incoming>,
    /// The body once read (or replaced by `kong.service.request.set_raw_body`).
    pub raw_body: Option<Bytes>,
}

/// What plugins changed about the request that goes upstream (`kong.service.*`).
#[derive(Default)]
pub struct UpstreamChanges {
    pub scheme: Option<String>,
    pub path: Option<String>,
    pub query: Option<String>,
    pub method: Option<Method>,
    pub target: Option<(String, u16)>,
    pub upstream: Option<String>,
    /// A plugin has a `response` handler, or asked for buffering: the upstream body is read
    /// whole before the response phase.
    pub buffered: bool,
}

/// Where the response comes from (`kong.response.get_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Service,
    Exit,
    Error,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Service => "service",
            Source::Exit => "exit",
            Source::Error => "error",
        }
    }
}

/// The response as it will be sent; plugins' header changes made before it exists (in access)
/// are kept here and applied over the upstream's.
pub struct ResponseState {
    pub status: Option<StatusCode>,
    pub headers: HeaderMap,
    /// Headers cleared by plugins before the upstream answered.
    pub cleared: Vec<http::HeaderName>,
    pub source: Source,
    /// A body set by `kong.response.exit` (or made for an error).
    pub body: Option<Bytes>,
    /// The upstream's status and headers, for `kong.service.response.*`.
    pub upstream_status: Option<StatusCode>,
    pub upstream_headers: HeaderMap,
    /// The upstream body, when the response was buffered.
    pub upstream_body: Option<Bytes>,
}

/// The Lua side of a request: `ngx.ctx`, `kong.ctx.shared`, one `kong.ctx.plugin` table per
/// plugin, the authenticated consumer and credential, and which plugin is running.
#[derive(Default)]
pub struct LuaState {
    pub ngx_ctx: Option<Table>,
    pub shared: Option<Table>,
    pub plugin_ctx: HashMap<usize, Table>,
    pub consumer: Option<Table>,
    pub credential: Option<Table>,
    /// The plugin whose handler is running, for `kong.log`'s prefix and `kong.ctx.plugin`.
    pub plugin: Option<(usize, Rc<str>)>,
    /// The running plugin instance's id (`kong.plugin.get_id`).
    pub plugin_id: Option<Rc<str>>,
    /// Values `kong.log.set_serialize_value` added to the log record.
    pub serialize_extra: Option<Table>,
}

pub struct RequestCtx {
    pub phase: Cell<Phase>,
    pub conn: Rc<ConnInfo>,
    pub started: Instant,
    /// Milliseconds since the epoch (`kong.request.get_start_time`).
    pub start_time_ms: f64,
    pub req: RefCell<ClientRequest>,
    /// Index of the matched route, once routed.
    pub route: Cell<Option<usize>>,
    /// What the router derived: upstream path, stripped prefix, captures.
    pub matched: RefCell<Option<crate::gateway::Matched>>,
    pub upstream: RefCell<UpstreamChanges>,
    pub resp: RefCell<ResponseState>,
    /// `kong.response.exit` was called: the rest of the phase and the upstream call are skipped.
    pub exited: Cell<bool>,
    /// The consumer's id, which plugin scoping keys on.
    pub consumer_id: RefCell<Option<String>>,
    pub lua: RefCell<LuaState>,
    /// `ngx.arg` during `body_filter`.
    pub body_arg: RefCell<super::downstream::BodyArg>,
    /// Body bytes sent to the client, known once the response is done (`log` phase).
    pub bytes_sent: Cell<u64>,
}

impl RequestCtx {
    /// The path and query sent upstream (nginx's `$upstream_uri` with its query): the matched
    /// route's upstream path and the client's query, as plugins changed them; `None` before a
    /// route matched, unless a plugin set the path.
    pub fn upstream_uri(&self) -> Option<String> {
        let changes = self.upstream.borrow();
        let matched = self.matched.borrow();
        let matched = matched.as_ref();
        let path = changes
            .path
            .as_deref()
            .or(matched.map(|m| m.upstream_path.as_str()))?;
        let query = changes
            .query
            .as_deref()
            .or(matched.and_then(|m| m.query.as_deref()));
        Some(match query {
            Some(q) => format!("{path}?{q}"),
            None => path.to_string(),
        })
    }

    pub fn new(conn: Rc<ConnInfo>, parts: http::request::Parts, body: Incoming) -> Rc<RequestCtx> {
        let start_time_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_millis() as f64);
        Rc::new(RequestCtx {
            phase: Cell::new(Phase::Rewrite),
            conn,
            started: Instant::now(),
            start_time_ms,
            req: RefCell::new(ClientRequest {
                method: parts.method,
                uri: parts.uri,
                version: parts.version,
                headers: parts.headers,
                body: Some(body),
                raw_body: None,
            }),
            route: Cell::new(None),
            matched: RefCell::new(None),
            upstream: RefCell::new(UpstreamChanges::default()),
            resp: RefCell::new(ResponseState {
                status: None,
                headers: HeaderMap::new(),
                cleared: Vec::new(),
                source: Source::Service,
                body: None,
                upstream_status: None,
                upstream_headers: HeaderMap::new(),
                upstream_body: None,
            }),
            exited: Cell::new(false),
            consumer_id: RefCell::new(None),
            lua: RefCell::new(LuaState::default()),
            body_arg: RefCell::new(Default::default()),
            bytes_sent: Cell::new(0),
        })
    }
}

impl RequestCtx {
    /// Records a short-circuit response (`kong.response.exit`, or the gateway's own 404/500).
    pub fn exit(&self, status: StatusCode, body: Option<Bytes>, headers: Option<HeaderMap>) {
        self.exited.set(true);
        let mut r = self.resp.borrow_mut();
        r.status = Some(status);
        r.source = Source::Exit;
        r.body = body;
        if let Some(headers) = headers {
            merge(&mut r.headers, headers);
        }
    }

    /// Moves a response's status and headers into the request state, so plugins read and change
    /// them; headers plugins set before the response existed are applied over it.
    pub fn take_response_head<B>(&self, resp: &mut http::Response<B>) {
        let mut r = self.resp.borrow_mut();
        let mut headers = std::mem::take(resp.headers_mut());
        for name in r.cleared.drain(..) {
            headers.remove(name);
        }
        merge(&mut headers, std::mem::take(&mut r.headers));
        r.headers = headers;
        if r.status.is_none() || r.source == Source::Service {
            r.status = Some(resp.status());
        }
    }

    /// Puts the (possibly changed) status and headers back on the response.
    pub fn give_response_head<B>(&self, mut resp: http::Response<B>) -> http::Response<B> {
        let mut r = self.resp.borrow_mut();
        *resp.headers_mut() = std::mem::take(&mut r.headers);
        if let Some(status) = r.status {
            *resp.status_mut() = status;
        }
        resp
    }
}

/// Sets every header of `from` on `into`, replacing same-named ones (`kong.response.set_header`).
fn merge(into: &mut HeaderMap, from: HeaderMap) {
    let mut last = None;
    for (name, value) in from {
        match name {
            Some(name) => {
                into.insert(name.clone(), value);
                last = Some(name);
            }
            None => {
                if let Some(name) = &last {
                    into.append(name.clone(), value);
                }
            }
        }
    }
}
