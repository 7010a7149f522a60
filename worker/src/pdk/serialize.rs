//! `kong.log.serialize()`: Kong's standard log record of a finished request, which logging plugins
//! (http-log, file-log, ...) send as they are.

use mlua::{Lua, Table, Value};

use super::headers;
use crate::runloop::RequestCtx;

pub fn record(lua: &Lua, ctx: &RequestCtx) -> mlua::Result<Table> {
    let req = ctx.req.borrow();
    let resp = ctx.resp.borrow();
    let rec = lua.create_table()?;

    let request = lua.create_table()?;
    let path_query = req
        .uri
        .path_and_query()
        .map_or_else(|| req.uri.path().to_string(), |pq| pq.to_string());
    let host = req
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    request.set("uri", path_query.as_str())?;
    request.set(
        "url",
        format!("{}://{}{}", ctx.conn.scheme, host, path_query),
    )?;
    request.set(
        "querystring",
        super::args::decode(lua, req.uri.query().unwrap_or(""), 0)?,
    )?;
    request.set("method", req.method.as_str())?;
    let (req_headers, _) = headers::to_table(lua, &req.headers, 0)?;
    if !req_headers.raw_get::<Value>("authorization")?.is_nil() {
        req_headers.raw_set("authorization", "REDACTED")?;
    }
    request.set("headers", req_headers)?;
    request.set("size", req.raw_body.as_ref().map_or(0, |b| b.len()))?;
    rec.set("request", request)?;

    rec.set("upstream_uri", ctx.upstream_uri())?;
    rec.set("upstream_status", resp.upstream_status.map(|s| s.as_u16()))?;

    let response = lua.create_table()?;
    response.set("status", resp.status.map(|s| s.as_u16()))?;
    response.set("headers", headers::to_table(lua, &resp.headers, 0)?.0)?;
    response.set("size", ctx.bytes_sent.get())?;
    rec.set("response", response)?;

    let latencies = lua.create_table()?;
    let total = ctx.started.elapsed().as_millis() as u64;
    latencies.set("request", total)?;
    latencies.set("kong", total)?;
    latencies.set("proxy", -1)?;
    rec.set("latencies", latencies)?;
    rec.set("tries", lua.create_table()?)?;
    rec.set("client_ip", ctx.conn.client.ip().to_string())?;
    rec.set("started_at", ctx.start_time_ms as i64)?;
    rec.set("source", resp.source.name())?;

    if let Some(r) = ctx.route.get() {
        let route: Table = lua
            .named_registry_value::<Table>("sluice.routes")?
            .get(r + 1)?;
        if let Value::Table(service) = route.get::<Value>("service")? {
            let id: String = service.get("id")?;
            rec.set(
                "service",
                lua.named_registry_value::<Table>("sluice.services")?
                    .get::<Value>(id)?,
            )?;
        }
        rec.set("route", route)?;
    }
    let state = ctx.lua.borrow();
    rec.set("consumer", state.consumer.clone())?;
    if let Some(credential) = &state.credential {
        let entity = lua.create_table()?;
        entity.set("id", credential.get::<Value>("id")?)?;
        entity.set("consumer_id", credential.get::<Value>("consumer_id")?)?;
        rec.set("authenticated_entity", entity)?;
    }
    if let Some(extra) = &state.serialize_extra {
        for pair in extra.pairs::<String, Value>() {
            let (key, value) = pair?;
            set_path(lua, &rec, &key, value)?;
        }
    }
    Ok(rec)
}

/// Sets `a.b.c` in nested tables, creating them as needed (`set_serialize_value`'s dotted keys).
fn set_path(lua: &Lua, root: &Table, path: &str, value: Value) -> mlua::Result<()> {
    let mut t = root.clone();
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            return t.set(part, value);
        }
        t = match t.get::<Value>(part)? {
            Value::Table(next) => next,
            _ => {
                let next = lua.create_table()?;
                t.set(part, &next)?;
                next
            }
        };
    }
    Ok(())
}
