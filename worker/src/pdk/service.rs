//! `kong.service`, `kong.service.request` and `kong.service.response`: where the request goes,
//! what it looks like upstream, and what the upstream answered.

use std::cell::RefMut;

use bytes::Bytes;
use http::Method;
use mlua::{Function, Lua, LuaSerdeExt, Table, Value};

use super::phases::{ACCESS, RESPONSE_READ, REWRITE_ACCESS};
use super::{def, headers, namespace, request_in};
use crate::runloop::{Phase, Phases};

const BUFFERING: Phases = Phases::of(&[Phase::Rewrite, Phase::Access]);
const SERVICE_BODY: Phases = Phases::of(&[
    Phase::Response,
    Phase::HeaderFilter,
    Phase::BodyFilter,
    Phase::Log,
]);

pub fn install(lua: &Lua, kong: &Table) -> mlua::Result<()> {
    let service = namespace(lua, kong, "service")?;
    def(
        lua,
        &service,
        "set_target",
        |_, (host, port): (String, i64)| {
            let ctx = request_in(ACCESS)?;
            let port = u16::try_from(port).ok().filter(|p| *p > 0).ok_or_else(|| {
                mlua::Error::runtime("port must be an integer between 0 and 65535")
            })?;
            ctx.upstream.borrow_mut().target = Some((host, port));
            Ok(())
        },
    )?;
    def(lua, &service, "set_upstream", |lua, name: String| {
        let ctx = request_in(ACCESS)?;
        let known: Table = lua.named_registry_value("sluice.upstreams")?;
        if known.get::<Value>(name.as_str())?.is_nil() {
            return Ok((
                Value::Nil,
                Value::String(
                    lua.create_string(format!("could not find an Upstream named '{name}'"))?,
                ),
            ));
        }
        let mut changes = ctx.upstream.borrow_mut();
        changes.upstream = Some(name);
        changes.target = None;
        Ok((Value::Boolean(true), Value::Nil))
    })?;

    let request = namespace(lua, &service, "request")?;
    def(lua, &request, "enable_buffering", |_, ()| {
        request_in(BUFFERING)?.upstream.borrow_mut().buffered = true;
        Ok(())
    })?;
    def(lua, &request, "set_scheme", |_, scheme: String| {
        let ctx = request_in(REWRITE_ACCESS)?;
        if scheme != "http" && scheme != "https" {
            return Err(mlua::Error::runtime(
                "invalid scheme: ".to_string() + &scheme,
            ));
        }
        ctx.upstream.borrow_mut().scheme = Some(scheme);
        Ok(())
    })?;
    def(lua, &request, "set_path", |_, path: String| {
        let ctx = request_in(REWRITE_ACCESS)?;
        if !path.starts_with('/') {
            return Err(mlua::Error::runtime("path must start with /"));
        }
        ctx.upstream.borrow_mut().path = Some(path);
        Ok(())
    })?;
    def(lua, &request, "set_raw_query", |_, query: String| {
        request_in(REWRITE_ACCESS)?.upstream.borrow_mut().query = Some(query);
        Ok(())
    })?;
    def(lua, &request, "set_method", |_, method: String| {
        let ctx = request_in(REWRITE_ACCESS)?;
        let m = Method::from_bytes(method.as_bytes())
            .map_err(|_| mlua::Error::runtime(format!("invalid method: {method}")))?;
        ctx.upstream.borrow_mut().method = Some(m);
        Ok(())
    })?;
    def(lua, &request, "set_query", |lua, args: Table| {
        let ctx = request_in(REWRITE_ACCESS)?;
        let encode: Function = lua.globals().get::<Table>("ngx")?.get("encode_args")?;
        let query: String = encode.call(args)?;
        ctx.upstream.borrow_mut().query = Some(query);
        Ok(())
    })?;
    headers::def_set(lua, &request, REWRITE_ACCESS, |ctx| {
        RefMut::map(ctx.req.borrow_mut(), |r| &mut r.headers)
    })?;
    def(
        lua,
        &request,
        "add_header",
        |_, (name, value): (Value, Value)| {
            let ctx = request_in(REWRITE_ACCESS)?;
            let (name, values) = (headers::name(&name)?, headers::values(&value)?);
            let mut req = ctx.req.borrow_mut();
            for v in values {
                req.headers.append(name.clone(), v);
            }
            Ok(())
        },
    )?;
    def(lua, &request, "clear_header", |_, name: Value| {
        let ctx = request_in(REWRITE_ACCESS)?;
        let name = headers::name(&name)?;
        ctx.req.borrow_mut().headers.remove(name);
        Ok(())
    })?;
    def(lua, &request, "set_headers", |_, table: Table| {
        let ctx = request_in(REWRITE_ACCESS)?;
        let mut req = ctx.req.borrow_mut();
        for pair in table.pairs::<Value, Value>() {
            let (name, value) = pair?;
            headers::set(
                &mut req.headers,
                headers::name(&name)?,
                headers::values(&value)?,
            );
        }
        Ok(())
    })?;
    def(lua, &request, "set_raw_body", |_, body: mlua::LuaString| {
        let ctx = request_in(REWRITE_ACCESS)?;
        let mut req = ctx.req.borrow_mut();
        req.body = None;
        req.raw_body = Some(Bytes::copy_from_slice(&body.as_bytes()));
        Ok(())
    })?;
    def(
        lua,
        &request,
        "set_body",
        |lua, (args, mime): (Table, Option<String>)| {
            let ctx = request_in(REWRITE_ACCESS)?;
            let mime = mime.unwrap_or_else(|| {
                let req = ctx.req.borrow();
                req.headers
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("application/json")
                    .to_string()
            });
            let base = mime
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            let body: mlua::LuaString = if base == "application/x-www-form-urlencoded" {
                lua.globals()
                    .get::<Table>("ngx")?
                    .get::<Function>("encode_args")?
                    .call(args)?
            } else if base == "application/json" || base.ends_with("+json") {
                super::require(lua, "cjson")?
                    .get::<Function>("encode")?
                    .call(args)?
            } else {
                return Ok((
                    Value::Nil,
                    Value::String(lua.create_string(format!("unsupported content type '{base}'"))?),
                ));
            };
            let mut req = ctx.req.borrow_mut();
            req.body = None;
            req.raw_body = Some(Bytes::copy_from_slice(&body.as_bytes()));
            if let Ok(v) = http::HeaderValue::from_str(&mime) {
                req.headers.insert(http::header::CONTENT_TYPE, v);
            }
            Ok((Value::Boolean(true), Value::Nil))
        },
    )?;

    let response = namespace(lua, &service, "response")?;
    def(lua, &response, "get_status", |_, ()| {
        let ctx = request_in(RESPONSE_READ)?;
        let status = ctx.resp.borrow().upstream_status;
        Ok(status.map(|s| s.as_u16()))
    })?;
    def(lua, &response, "get_headers", |lua, max: Option<usize>| {
        let ctx = request_in(RESPONSE_READ)?;
        let r = ctx.resp.borrow();
        headers::to_table(
            lua,
            &r.upstream_headers,
            max.unwrap_or(headers::DEFAULT_MAX),
        )
    })?;
    def(
        lua,
        &response,
        "get_header",
        |lua, name: mlua::LuaString| {
            let ctx = request_in(RESPONSE_READ)?;
            let r = ctx.resp.borrow();
            headers::first(lua, &r.upstream_headers, &name.to_str()?)
        },
    )?;
    def(lua, &response, "get_raw_body", |lua, ()| {
        let ctx = request_in(SERVICE_BODY)?;
        let r = ctx.resp.borrow();
        match &r.upstream_body {
            Some(b) => Ok(Value::String(lua.create_string(b)?)),
            None => Ok(Value::Nil),
        }
    })?;
    def(lua, &response, "get_body", |lua, ()| {
        let ctx = request_in(SERVICE_BODY)?;
        let r = ctx.resp.borrow();
        let Some(body) = &r.upstream_body else {
            return Ok((Value::Nil, Value::Nil));
        };
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(v) => Ok((lua.to_value(&v)?, Value::Nil)),
            Err(_) => Ok((
                Value::Nil,
                Value::String(lua.create_string("invalid json body")?),
            )),
        }
    })?;
    Ok(())
}
