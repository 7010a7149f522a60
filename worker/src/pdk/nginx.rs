//! The request-scoped parts of `ngx` that plugins use directly: `ngx.var`, `ngx.req`, `ngx.arg`,
//! `ngx.header`, `ngx.exit`, `ngx.sleep` and `ngx.get_phase` (`ngx.timer` is [`super::timer`]).

use std::cell::Cell;
use std::time::Duration;

use http::StatusCode;
use mlua::{Function, Lua, Table, Value};

use super::phases::{BODY_FILTER, REQUEST, REQUEST_BODY, REWRITE_ACCESS};
use super::{def, headers, namespace, request_in};
use crate::runloop::ctx::current;
use crate::runloop::Phase;

thread_local! {
    /// The phase of plugin code running outside any request: `init_worker` until the worker
    /// serves, then `timer` (timers are the only such code).
    static OUTSIDE: Cell<Phase> = const { Cell::new(Phase::InitWorker) };
}

/// Marks the end of `init_worker` for `ngx.get_phase`.
pub fn worker_started() {
    OUTSIDE.with(|p| p.set(Phase::Timer));
}

pub fn install(lua: &Lua, ngx: &Table) -> mlua::Result<()> {
    def(lua, ngx, "get_phase", |_, ()| {
        Ok(current()
            .map_or_else(|| OUTSIDE.with(Cell::get), |c| c.phase.get())
            .name())
    })?;
    ngx.set(
        "sleep",
        lua.create_async_function(|_, seconds: f64| async move {
            if !(0.0..=31_536_000.0).contains(&seconds) {
                return Err(mlua::Error::runtime("invalid sleep duration"));
            }
            tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
            Ok(())
        })?,
    )?;
    ngx.set(
        "exit",
        lua.create_async_function(|_, status: i64| async move {
            let Some(ctx) = current() else {
                return Err(mlua::Error::runtime("no request found"));
            };
            if status == 0 {
                return Ok(());
            }
            let code = u16::try_from(status)
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok());
            let code = code.ok_or_else(|| {
                mlua::Error::runtime(format!(
                    "bad argument #1 to 'exit' (invalid status {status})"
                ))
            })?;
            ctx.exit(code, None, None);
            if matches!(
                ctx.phase.get(),
                Phase::Rewrite | Phase::Access | Phase::Response
            ) {
                std::future::pending::<()>().await;
            }
            Ok(())
        })?,
    )?;
    install_var(lua, ngx)?;
    install_req(lua, ngx)?;
    install_arg(lua, ngx)?;
    super::timer::install(lua, ngx)
}

/// `ngx.var.NAME`: nginx's variables that plugins read, computed from the request.
fn install_var(lua: &Lua, ngx: &Table) -> mlua::Result<()> {
    let var = proxy_table(
        lua,
        lua.create_function(|lua, (_, name): (Table, String)| {
            let Some(ctx) = current() else {
                return Ok(Value::Nil);
            };
            let req = ctx.req.borrow();
            let text =
                |s: String| -> mlua::Result<Value> { Ok(Value::String(lua.create_string(s)?)) };
            let host_header = req
                .headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok());
            let v = match name.as_str() {
                "request_uri" => text(
                    req.uri
                        .path_and_query()
                        .map_or_else(|| req.uri.path().to_string(), |pq| pq.to_string()),
                )?,
                // nginx's `$uri` is the decoded, normalized path (Kong's normalization here:
                // reserved characters stay encoded, as Kong's router sees them).
                "uri" => {
                    let raw = req.uri.path();
                    text(
                        sluice_router::uri::normalize(raw, true)
                            .map_or(raw.to_string(), |p| p.into_owned()),
                    )?
                }
                "args" | "query_string" => req
                    .uri
                    .query()
                    .map_or(Ok(Value::Nil), |q| text(q.to_string()))?,
                "is_args" => text(if req.uri.query().is_some() { "?" } else { "" }.to_string())?,
                "request_method" => text(req.method.to_string())?,
                "scheme" => text(ctx.conn.scheme.to_string())?,
                "https" => text(if ctx.conn.scheme == "https" { "on" } else { "" }.to_string())?,
                "ssl_server_name" => ctx
                    .conn
                    .sni
                    .as_ref()
                    .map_or(Ok(Value::Nil), |sni| text(sni.clone()))?,
                "host" => text(host_header.map_or_else(
                    || ctx.conn.local.ip().to_string(),
                    |h| {
                        h.rsplit_once(':')
                            .map_or(h, |(h, _)| h)
                            .to_ascii_lowercase()
                    },
                ))?,
                "http_host" => host_header.map_or(Ok(Value::Nil), |h| text(h.to_string()))?,
                "server_addr" => text(ctx.conn.local.ip().to_string())?,
                "server_port" => text(ctx.conn.local.port().to_string())?,
                "remote_addr" | "realip_remote_addr" => text(ctx.conn.client.ip().to_string())?,
                "remote_port" | "realip_remote_port" => text(ctx.conn.client.port().to_string())?,
                "binary_remote_addr" => {
                    Value::String(lua.create_string(match ctx.conn.client.ip() {
                        std::net::IpAddr::V4(a) => a.octets().to_vec(),
                        std::net::IpAddr::V6(a) => a.octets().to_vec(),
                    })?)
                }
                "server_protocol" => text(format!("{:?}", req.version))?,
                "content_type" => req
                    .headers
                    .get(http::header::CONTENT_TYPE)
                    .map_or(Ok(Value::Nil), |v| {
                        text(String::from_utf8_lossy(v.as_bytes()).into_owned())
                    })?,
                "content_length" => req
                    .headers
                    .get(http::header::CONTENT_LENGTH)
                    .map_or(Ok(Value::Nil), |v| {
                        text(String::from_utf8_lossy(v.as_bytes()).into_owned())
                    })?,
                "request_time" => text(format!("{:.3}", ctx.started.elapsed().as_secs_f64()))?,
                "status" => text(
                    ctx.resp
                        .borrow()
                        .status
                        .map_or(0, |s| s.as_u16())
                        .to_string(),
                )?,
                "upstream_status" => ctx
                    .resp
                    .borrow()
                    .upstream_status
                    .map_or(Ok(Value::Nil), |s| text(s.as_u16().to_string()))?,
                "bytes_sent" | "body_bytes_sent" => text(ctx.bytes_sent.get().to_string())?,
                "upstream_uri" => ctx.upstream_uri().map_or(Ok(Value::Nil), text)?,
                "connection" => text(ctx.conn.serial.to_string())?,
                "connection_requests" => text(ctx.conn.requests.get().to_string())?,
                "hostname" => text(
                    nix::unistd::gethostname()
                        .map(|h| h.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                )?,
                other => {
                    if let Some(h) = other.strip_prefix("http_") {
                        headers::first(lua, &req.headers, h)?
                    } else if let Some(h) = other.strip_prefix("upstream_http_") {
                        headers::first(lua, &ctx.resp.borrow().upstream_headers, h)?
                    } else if let Some(h) = other.strip_prefix("sent_http_") {
                        headers::first(lua, &ctx.resp.borrow().headers, h)?
                    } else if let Some(arg) = other.strip_prefix("arg_") {
                        let t = super::args::decode(lua, req.uri.query().unwrap_or(""), 0)?;
                        match t.get::<Value>(arg)? {
                            Value::Table(list) => list.get::<Value>(1)?,
                            v => v,
                        }
                    } else if let Some(name) = other.strip_prefix("cookie_") {
                        cookie(lua, &req.headers, name)?
                    } else {
                        Value::Nil
                    }
                }
            };
            Ok(v)
        })?,
        lua.create_function(|_, (_, name, value): (Table, String, Value)| {
            let ctx = request_in(REWRITE_ACCESS)?;
            match (name.as_str(), value) {
                ("upstream_uri", Value::String(s)) => {
                    let s = s.to_string_lossy();
                    let mut changes = ctx.upstream.borrow_mut();
                    match s.split_once('?') {
                        Some((p, q)) => {
                            changes.path = Some(p.to_string());
                            changes.query = Some(q.to_string());
                        }
                        None => changes.path = Some(s),
                    }
                    Ok(())
                }
                (other, _) => Err(mlua::Error::runtime(format!(
                    "variable \"{other}\" not changeable"
                ))),
            }
        })?,
    )?;
    ngx.set("var", var)
}

fn cookie(lua: &Lua, headers: &http::HeaderMap, name: &str) -> mlua::Result<Value> {
    for v in headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
    {
        for pair in v.split(';') {
            if let Some((k, val)) = pair.trim().split_once('=') {
                if k == name {
                    return Ok(Value::String(lua.create_string(val)?));
                }
            }
        }
    }
    Ok(Value::Nil)
}

/// `ngx.req`: the request API plugins use besides the PDK.
fn install_req(lua: &Lua, ngx: &Table) -> mlua::Result<()> {
    let req = namespace(lua, ngx, "req")?;
    let kong: Table = lua.globals().get("kong")?;
    let kreq: Table = kong.get("request")?;
    let sreq: Table = kong.get::<Table>("service")?.get("request")?;
    req.set("get_headers", kreq.get::<Function>("get_headers")?)?;
    req.set("get_method", kreq.get::<Function>("get_method")?)?;
    req.set("get_uri_args", kreq.get::<Function>("get_query")?)?;
    req.set("set_header", sreq.get::<Function>("set_header")?)?;
    req.set("clear_header", sreq.get::<Function>("clear_header")?)?;
    req.set("set_method", sreq.get::<Function>("set_method")?)?;
    req.set("set_uri_args", sreq.get::<Function>("set_query")?)?;
    def(lua, &req, "start_time", |_, ()| {
        Ok(request_in(REQUEST)?.start_time_ms / 1000.0)
    })?;
    def(lua, &req, "http_version", |_, ()| {
        let v = request_in(REQUEST)?.req.borrow().version;
        Ok(if v == http::Version::HTTP_10 {
            1.0
        } else if v == http::Version::HTTP_2 {
            2.0
        } else {
            1.1
        })
    })?;
    def(
        lua,
        &req,
        "set_uri",
        |_, (uri, _jump): (String, Option<bool>)| {
            request_in(REWRITE_ACCESS)?.upstream.borrow_mut().path = Some(uri);
            Ok(())
        },
    )?;
    req.set(
        "read_body",
        lua.create_async_function(|_, ()| async move {
            let ctx = request_in(REQUEST_BODY)?;
            super::request::read_body(&ctx)
                .await
                .map_err(mlua::Error::runtime)?;
            Ok(())
        })?,
    )?;
    def(lua, &req, "get_body_data", |lua, ()| {
        let ctx = request_in(REQUEST_BODY)?;
        let body = ctx.req.borrow().raw_body.clone();
        body.map(|b| lua.create_string(&b)).transpose()
    })?;
    def(lua, &req, "get_post_args", |lua, max: Option<usize>| {
        let ctx = request_in(REQUEST_BODY)?;
        let body = ctx.req.borrow().raw_body.clone().unwrap_or_default();
        super::args::decode(
            lua,
            &String::from_utf8_lossy(&body),
            max.unwrap_or(headers::DEFAULT_MAX),
        )
    })?;
    Ok(())
}

/// `ngx.arg[1]` (the chunk) and `ngx.arg[2]` (end of body) in `body_filter`.
fn install_arg(lua: &Lua, ngx: &Table) -> mlua::Result<()> {
    let arg = proxy_table(
        lua,
        lua.create_function(|lua, (_, i): (Table, i64)| {
            let ctx = request_in(BODY_FILTER)?;
            let a = ctx.body_arg.borrow();
            match i {
                1 => Ok(Value::String(
                    lua.create_string(a.chunk.as_deref().unwrap_or(b""))?,
                )),
                2 => Ok(Value::Boolean(a.eof)),
                _ => Ok(Value::Nil),
            }
        })?,
        lua.create_function(|_, (_, i, value): (Table, i64, Value)| {
            let ctx = request_in(BODY_FILTER)?;
            let mut a = ctx.body_arg.borrow_mut();
            match (i, value) {
                (1, Value::String(s)) => {
                    a.chunk = Some(bytes::Bytes::copy_from_slice(&s.as_bytes()))
                }
                (1, Value::Nil) => a.chunk = None,
                (2, Value::Boolean(eof)) => {
                    a.eof = eof;
                    a.ended |= eof;
                }
                _ => return Err(mlua::Error::runtime("bad ngx.arg assignment")),
            }
            Ok(())
        })?,
    )?;
    ngx.set("arg", arg)
}

/// `ngx.header.NAME`: the response headers, read and set (nil clears), like `kong.response`.
pub fn header_proxy(lua: &Lua) -> mlua::Result<Table> {
    proxy_table(
        lua,
        lua.create_function(|lua, (_, name): (Table, String)| {
            let Some(ctx) = current() else {
                return Ok(Value::Nil);
            };
            let r = ctx.resp.borrow();
            headers::first(lua, &r.headers, &name)
        })?,
        lua.create_function(|_, (_, name, value): (Table, Value, Value)| {
            let ctx = current().ok_or_else(|| mlua::Error::runtime("no request found"))?;
            let name = headers::name(&name)?;
            let mut r = ctx.resp.borrow_mut();
            if value.is_nil() {
                r.headers.remove(&name);
                r.cleared.push(name);
            } else {
                headers::set(&mut r.headers, name, headers::values(&value)?);
            }
            Ok(())
        })?,
    )
}

/// A table whose reads and writes go to Rust: `ngx.var`, `ngx.arg`, `ngx.header`.
fn proxy_table(lua: &Lua, index: Function, newindex: Function) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let mt = lua.create_table()?;
    mt.set("__index", index)?;
    mt.set("__newindex", newindex)?;
    t.set_metatable(Some(mt))?;
    Ok(t)
}
