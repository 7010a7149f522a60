//! `kong.request`: the client's request as received (and as plugins changed its headers).

use http_body_util::BodyExt;
use mlua::{Either, Function, Lua, LuaSerdeExt, Table, Value};

use super::phases::{REQUEST, REQUEST_BODY};
use super::{args, def, def_strings, headers, namespace, request_in};
use crate::proxy::strip_port;

pub fn install(lua: &Lua, kong: &Table) -> mlua::Result<()> {
    let t = namespace(lua, kong, "request")?;
    def(lua, &t, "get_scheme", |_, ()| {
        Ok(request_in(REQUEST)?.conn.scheme)
    })?;
    def(lua, &t, "get_host", |_, ()| {
        let ctx = request_in(REQUEST)?;
        Ok(host_and_port(&ctx).0)
    })?;
    def(lua, &t, "get_port", |_, ()| {
        Ok(request_in(REQUEST)?.conn.local.port())
    })?;
    def(lua, &t, "get_forwarded_scheme", |lua, ()| {
        let ctx = request_in(REQUEST)?;
        Ok(forwarded(lua, &ctx, "x-forwarded-proto")
            .unwrap_or_else(|| ctx.conn.scheme.to_string())
            .to_ascii_lowercase())
    })?;
    def(lua, &t, "get_forwarded_host", |lua, ()| {
        let ctx = request_in(REQUEST)?;
        let host = forwarded(lua, &ctx, "x-forwarded-host")
            .map(|h| h.split(',').next().unwrap_or("").trim().to_string());
        Ok(match host {
            Some(h) => strip_port(&h).to_ascii_lowercase(),
            None => host_and_port(&ctx).0,
        })
    })?;
    def(lua, &t, "get_forwarded_port", |lua, ()| {
        let ctx = request_in(REQUEST)?;
        let port =
            forwarded(lua, &ctx, "x-forwarded-port").and_then(|p| p.trim().parse::<u16>().ok());
        Ok(port.unwrap_or(ctx.conn.local.port()))
    })?;
    def(lua, &t, "get_forwarded_path", |lua, ()| {
        let ctx = request_in(REQUEST)?;
        Ok(forwarded(lua, &ctx, "x-forwarded-path")
            .unwrap_or_else(|| ctx.req.borrow().uri.path().to_string()))
    })?;
    def(lua, &t, "get_forwarded_prefix", |lua, ()| {
        let ctx = request_in(REQUEST)?;
        let prefix = forwarded(lua, &ctx, "x-forwarded-prefix");
        Ok(prefix.or_else(|| {
            ctx.matched
                .borrow()
                .as_ref()
                .and_then(|m| m.stripped_prefix.clone())
        }))
    })?;
    def(lua, &t, "get_http_version", |_, ()| {
        let v = request_in(REQUEST)?.req.borrow().version;
        Ok(match v {
            http::Version::HTTP_10 => 1.0,
            http::Version::HTTP_2 => 2.0,
            http::Version::HTTP_09 => 0.9,
            _ => 1.1,
        })
    })?;
    def(lua, &t, "get_method", |_, ()| {
        Ok(request_in(REQUEST)?.req.borrow().method.to_string())
    })?;
    def(lua, &t, "get_path", |_, ()| {
        let ctx = request_in(REQUEST)?;
        let raw = ctx.req.borrow().uri.path().to_string();
        Ok(sluice_router::uri::normalize(&raw, true).map_or(raw.clone(), |p| p.into_owned()))
    })?;
    def(lua, &t, "get_raw_path", |_, ()| {
        Ok(request_in(REQUEST)?.req.borrow().uri.path().to_string())
    })?;
    def(lua, &t, "get_path_with_query", |_, ()| {
        let ctx = request_in(REQUEST)?;
        let req = ctx.req.borrow();
        Ok(req
            .uri
            .path_and_query()
            .map_or_else(|| req.uri.path().to_string(), |pq| pq.to_string()))
    })?;
    def(lua, &t, "get_raw_query", |_, ()| {
        Ok(request_in(REQUEST)?
            .req
            .borrow()
            .uri
            .query()
            .unwrap_or("")
            .to_string())
    })?;
    def(lua, &t, "get_query_arg", |lua, name: String| {
        let ctx = request_in(REQUEST)?;
        let query = ctx.req.borrow().uri.query().unwrap_or("").to_string();
        let t = args::decode(lua, &query, headers::DEFAULT_MAX)?;
        match t.get::<Value>(name)? {
            Value::Table(list) => list.get::<Value>(1),
            v => Ok(v),
        }
    })?;
    def(lua, &t, "get_query", |lua, max: Option<usize>| {
        let ctx = request_in(REQUEST)?;
        let query = ctx.req.borrow().uri.query().unwrap_or("").to_string();
        args::decode(lua, &query, max_arg(max)?)
    })?;
    def_strings(
        lua,
        &t,
        "get_header",
        1,
        |lua, name: mlua::BString| get_header(lua, &name),
        |lua, name: mlua::LuaString| get_header(lua, &name.as_bytes()),
    )?;
    def(lua, &t, "get_headers", |lua, max: Option<usize>| {
        let ctx = request_in(REQUEST)?;
        let req = ctx.req.borrow();
        Ok(headers::to_table(lua, &req.headers, max_arg(max)?)?.0)
    })?;
    t.set(
        "get_raw_body",
        lua.create_async_function(|lua, _max: Option<usize>| async move {
            let ctx = request_in(REQUEST_BODY)?;
            match read_body(&ctx).await {
                Ok(bytes) => Ok((Value::String(lua.create_string(&bytes)?), Value::Nil)),
                Err(e) => Ok((Value::Nil, Value::String(lua.create_string(e)?))),
            }
        })?,
    )?;
    t.set(
        "get_body",
        lua.create_async_function(
            |lua, (mime, max): (Option<String>, Option<usize>)| async move {
                let ctx = request_in(REQUEST_BODY)?;
                let content_type = mime.unwrap_or_else(|| {
                    let req = ctx.req.borrow();
                    req.headers
                        .get(http::header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string()
                });
                let body = match read_body(&ctx).await {
                    Ok(b) => b,
                    Err(e) => {
                        return Ok((Value::Nil, Value::String(lua.create_string(e)?), Value::Nil))
                    }
                };
                decode_body(
                    &lua,
                    &content_type,
                    &body,
                    max.unwrap_or(headers::DEFAULT_MAX),
                )
            },
        )?,
    )?;
    def(lua, &t, "get_start_time", |_, ()| {
        Ok(request_in(REQUEST)?.start_time_ms)
    })?;
    def(lua, &t, "get_uri_captures", |lua, ()| {
        let ctx = request_in(REQUEST)?;
        let captures = lua.create_table()?;
        let (unnamed, named) = (lua.create_table()?, lua.create_table()?);
        if let Some(c) = ctx
            .matched
            .borrow()
            .as_ref()
            .and_then(|m| m.captures.as_ref())
        {
            for (i, v) in c.unnamed.iter().enumerate() {
                let v = match v {
                    Some(s) => Value::String(lua.create_string(s)?),
                    None => Value::Boolean(false),
                };
                unnamed.raw_set(i, v)?;
            }
            for (k, v) in &c.named {
                named.raw_set(k.as_str(), v.as_str())?;
            }
        }
        captures.set("unnamed", unnamed)?;
        captures.set("named", named)?;
        Ok(captures)
    })?;
    Ok(())
}

/// Kong's check on `max_headers` / `max_args` arguments.
fn max_arg(max: Option<usize>) -> mlua::Result<usize> {
    match max {
        None => Ok(headers::DEFAULT_MAX),
        Some(n) if (1..=1000).contains(&n) => Ok(n),
        Some(_) => Err(mlua::Error::runtime("max_args must be >= 1 and <= 1000")),
    }
}

/// The Host header's host (lower-case) and port, or the listener's.
fn host_and_port(ctx: &crate::runloop::RequestCtx) -> (String, u16) {
    let req = ctx.req.borrow();
    let host = req
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri.authority().map(|a| a.to_string()))
        .unwrap_or_else(|| ctx.conn.local.ip().to_string());
    (
        strip_port(&host).to_ascii_lowercase(),
        ctx.conn.local.port(),
    )
}

/// An `X-Forwarded-*` header, believed only from `trusted_ips` (Kong's rule).
fn forwarded(lua: &Lua, ctx: &crate::runloop::RequestCtx, name: &str) -> Option<String> {
    let trusted = crate::pdk::node::trusted(lua, ctx.conn.client.ip());
    if !trusted {
        return None;
    }
    let req = ctx.req.borrow();
    req.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Reads the whole request body once; later calls (and the proxy) use the copy.
pub async fn read_body(ctx: &crate::runloop::RequestCtx) -> Result<bytes::Bytes, String> {
    if let Some(b) = ctx.req.borrow().raw_body.clone() {
        return Ok(b);
    }
    let incoming = ctx.req.borrow_mut().body.take();
    let bytes = match incoming {
        Some(body) => body
            .collect()
            .await
            .map_err(|e| format!("failed to read the request body: {e}"))?
            .to_bytes(),
        None => bytes::Bytes::new(),
    };
    ctx.req.borrow_mut().raw_body = Some(bytes.clone());
    Ok(bytes)
}

/// `kong.request.get_body`: by content type, `(body, nil, mimetype)` or `(nil, err, mimetype)`.
fn decode_body(
    lua: &Lua,
    content_type: &str,
    body: &[u8],
    max: usize,
) -> mlua::Result<(Value, Value, Value)> {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let mime_value = Value::String(lua.create_string(&mime)?);
    let err = |msg: &str| -> mlua::Result<(Value, Value, Value)> {
        Ok((
            Value::Nil,
            Value::String(lua.create_string(msg)?),
            Value::String(lua.create_string(&mime)?),
        ))
    };
    if mime == "application/json" || mime.ends_with("+json") {
        return match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(v @ serde_json::Value::Object(_)) | Ok(v @ serde_json::Value::Array(_)) => {
                Ok((lua.to_value(&v)?, Value::Nil, mime_value))
            }
            Ok(_) => err("invalid json body"),
            Err(_) => err("invalid json body"),
        };
    }
    if mime == "application/x-www-form-urlencoded" {
        let text = String::from_utf8_lossy(body);
        return Ok((
            Value::Table(args::decode(lua, &text, max)?),
            Value::Nil,
            mime_value,
        ));
    }
    if mime == "multipart/form-data" {
        // As Kong: `multipart(body, content_type):get_all()`.
        let multipart = super::require(lua, "multipart")?;
        let new: Function = multipart.get("new")?;
        let parsed: Table = new.call((lua.create_string(body)?, content_type))?;
        let get_all: Function = parsed.get("get_all")?;
        let form: Value = get_all.call(parsed)?;
        return Ok((form, Value::Nil, mime_value));
    }
    if mime.is_empty() {
        return err("missing content type");
    }
    err(&format!("unsupported content type '{mime}'"))
}

/// `kong.request.get_header`.
fn get_header(lua: &Lua, name: &[u8]) -> mlua::Result<Option<Either<String, mlua::LuaString>>> {
    let ctx = request_in(REQUEST)?;
    let req = ctx.req.borrow();
    headers::first_text(lua, &req.headers, headers::utf8(name)?)
}
