//! `kong.client`: who is calling: address, port, and the consumer an auth plugin identified.

use mlua::{Lua, Table, Value};

use super::phases::{ACCESS, AFTER_ACCESS, REQUEST};
use super::{def, namespace, request_in};

pub fn install(lua: &Lua, kong: &Table) -> mlua::Result<()> {
    let t = namespace(lua, kong, "client")?;
    def(lua, &t, "get_ip", |_, ()| {
        Ok(request_in(REQUEST)?.conn.client.ip().to_string())
    })?;
    def(lua, &t, "get_port", |_, ()| {
        Ok(request_in(REQUEST)?.conn.client.port())
    })?;
    def(lua, &t, "get_forwarded_ip", |lua, ()| {
        let ctx = request_in(REQUEST)?;
        Ok(forwarded_ip(lua, &ctx).unwrap_or_else(|| ctx.conn.client.ip().to_string()))
    })?;
    def(lua, &t, "get_forwarded_port", |lua, ()| {
        let ctx = request_in(REQUEST)?;
        let trusted = super::node::trusted(lua, ctx.conn.client.ip());
        let req = ctx.req.borrow();
        let port = trusted
            .then(|| {
                req.headers
                    .get("x-forwarded-port")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|p| p.trim().parse::<u16>().ok())
            })
            .flatten();
        Ok(port.unwrap_or(ctx.conn.client.port()))
    })?;
    def(
        lua,
        &t,
        "get_protocol",
        |_, _allow_terminated: Option<bool>| Ok(request_in(AFTER_ACCESS)?.conn.scheme),
    )?;
    def(lua, &t, "get_consumer", |_, ()| {
        Ok(request_in(AFTER_ACCESS)?.lua.borrow().consumer.clone())
    })?;
    def(lua, &t, "get_credential", |_, ()| {
        Ok(request_in(AFTER_ACCESS)?.lua.borrow().credential.clone())
    })?;
    def(
        lua,
        &t,
        "authenticate",
        |_, (consumer, credential): (Option<Table>, Option<Table>)| {
            let ctx = request_in(ACCESS)?;
            if consumer.is_none() && credential.is_none() {
                return Err(mlua::Error::runtime(
                    "either credential or consumer must be provided",
                ));
            }
            let id = match &consumer {
                Some(c) => Some(
                    c.get::<String>("id")
                        .map_err(|_| mlua::Error::runtime("consumer must have an id"))?,
                ),
                None => None,
            };
            *ctx.consumer_id.borrow_mut() = id;
            let mut state = ctx.lua.borrow_mut();
            state.consumer = consumer;
            state.credential = credential;
            Ok(())
        },
    )?;
    def(
        lua,
        &t,
        "load_consumer",
        |lua, (key, by_username): (String, Option<bool>)| {
            request_in(AFTER_ACCESS)?;
            let consumers: Table = lua.named_registry_value("sluice.consumers")?;
            let by_id: Table = consumers.get("by_id")?;
            let found = match by_id.get::<Value>(key.as_str())? {
                Value::Nil if by_username == Some(true) => consumers
                    .get::<Table>("by_username")?
                    .get::<Value>(key.as_str())?,
                v => v,
            };
            Ok(found)
        },
    )?;
    Ok(())
}

/// The client address `X-Forwarded-For` gives, believed only from `trusted_ips`.
fn forwarded_ip(lua: &Lua, ctx: &crate::runloop::RequestCtx) -> Option<String> {
    if !super::node::trusted(lua, ctx.conn.client.ip()) {
        return None;
    }
    let req = ctx.req.borrow();
    let xff = req.headers.get("x-forwarded-for")?.to_str().ok()?;
    xff.split(',')
        .next()
        .map(|ip| ip.trim().to_string())
        .filter(|ip| !ip.is_empty())
}
