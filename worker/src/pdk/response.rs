//! `kong.response`: the response to the client: its status and headers (set before or after the
//! upstream answers), its body chunks in `body_filter`, and short-circuits (`exit`, `error`).

use std::cell::RefMut;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use mlua::{Function, Lua, Table, Value};

use super::phases::{BODY_FILTER, RESPONSE_READ, RESPONSE_WRITE};
use super::{def, headers, namespace, request_in};
use crate::proxy::errors::default_message;
use crate::runloop::{Phase, Phases};

const EXIT: Phases = Phases::of(&[
    Phase::Rewrite,
    Phase::Access,
    Phase::Response,
    Phase::HeaderFilter,
]);

pub fn install(lua: &Lua, kong: &Table) -> mlua::Result<()> {
    let t = namespace(lua, kong, "response")?;
    def(lua, &t, "get_status", |_, ()| {
        let ctx = request_in(RESPONSE_READ)?;
        let status = ctx.resp.borrow().status;
        Ok(status.map(|s| s.as_u16()))
    })?;
    def(lua, &t, "get_source", |_, ()| {
        let ctx = request_in(RESPONSE_READ)?;
        let source = ctx.resp.borrow().source;
        Ok(source.name())
    })?;
    def(lua, &t, "get_header", |lua, name: mlua::LuaString| {
        let ctx = request_in(RESPONSE_READ)?;
        let r = ctx.resp.borrow();
        headers::first(lua, &r.headers, &name.to_str()?)
    })?;
    def(lua, &t, "get_headers", |lua, max: Option<usize>| {
        let ctx = request_in(RESPONSE_READ)?;
        let r = ctx.resp.borrow();
        headers::to_table(lua, &r.headers, max.unwrap_or(headers::DEFAULT_MAX))
    })?;
    def(lua, &t, "set_status", |_, status: Value| {
        let ctx = request_in(RESPONSE_WRITE)?;
        ctx.resp.borrow_mut().status = Some(status_code(&status, 100)?);
        Ok(())
    })?;
    headers::def_set(lua, &t, RESPONSE_WRITE, |ctx| {
        RefMut::map(ctx.resp.borrow_mut(), |r| &mut r.headers)
    })?;
    def(lua, &t, "add_header", |_, (name, value): (Value, Value)| {
        let ctx = request_in(RESPONSE_WRITE)?;
        let (name, values) = (headers::name(&name)?, headers::values(&value)?);
        let mut r = ctx.resp.borrow_mut();
        for v in values {
            r.headers.append(name.clone(), v);
        }
        Ok(())
    })?;
    def(lua, &t, "clear_header", |_, name: Value| {
        let ctx = request_in(RESPONSE_WRITE)?;
        let name = headers::name(&name)?;
        let mut r = ctx.resp.borrow_mut();
        r.headers.remove(&name);
        r.cleared.push(name);
        Ok(())
    })?;
    def(lua, &t, "set_headers", |_, table: Table| {
        let ctx = request_in(RESPONSE_WRITE)?;
        let mut r = ctx.resp.borrow_mut();
        for pair in table.pairs::<Value, Value>() {
            let (name, value) = pair?;
            let (name, values) = (headers::name(&name)?, headers::values(&value)?);
            headers::set(&mut r.headers, name, values);
        }
        Ok(())
    })?;
    def(lua, &t, "get_raw_body", |lua, ()| {
        let ctx = request_in(BODY_FILTER)?;
        let mut arg = ctx.body_arg.borrow_mut();
        if let Some(chunk) = arg.chunk.take() {
            arg.buffered.extend_from_slice(&chunk);
        }
        if !arg.eof {
            return Ok(Value::Nil);
        }
        let body = arg.buffered.split().freeze();
        arg.chunk = Some(body.clone());
        Ok(Value::String(lua.create_string(&body)?))
    })?;
    def(lua, &t, "set_raw_body", |_, body: mlua::LuaString| {
        let ctx = request_in(BODY_FILTER)?;
        let mut arg = ctx.body_arg.borrow_mut();
        // Kong sends "\n" for an empty body, as nginx needs a non-empty last chunk.
        let body = if body.as_bytes().is_empty() {
            Bytes::from_static(b"\n")
        } else {
            Bytes::copy_from_slice(&body.as_bytes())
        };
        arg.chunk = Some(body);
        arg.eof = true;
        arg.ended = true;
        arg.buffered.clear();
        Ok(())
    })?;
    t.set(
        "exit",
        lua.create_async_function(
            |lua, (status, body, hdrs): (Value, Value, Option<Table>)| async move {
                let ctx = request_in(EXIT)?;
                let status = status_code(&status, 100)?;
                let mut headers = headers_arg(hdrs)?;
                let body = match body {
                    Value::Nil => None,
                    Value::String(s) => Some(Bytes::copy_from_slice(&s.as_bytes())),
                    Value::Table(t) => {
                        let encoded = json_encode(&lua, t)?;
                        if !headers.contains_key(http::header::CONTENT_TYPE) {
                            headers.insert(
                                http::header::CONTENT_TYPE,
                                http::HeaderValue::from_static("application/json; charset=utf-8"),
                            );
                        }
                        Some(Bytes::copy_from_slice(&encoded.as_bytes()))
                    }
                    _ => return Err(mlua::Error::runtime("body must be a nil, string or table")),
                };
                finish_exit(&ctx, status, body, headers).await
            },
        )?,
    )?;
    t.set(
        "error",
        lua.create_async_function(
            |lua, (status, message, hdrs): (Value, Value, Option<Table>)| async move {
                let ctx = request_in(EXIT)?;
                let status = status_code(&status, 400)?;
                let mut headers = headers_arg(hdrs)?;
                let message = match message {
                    Value::Nil => default_message(status),
                    Value::String(s) => s.to_string_lossy(),
                    Value::Table(t) => json_encode(&lua, t)?.to_string_lossy(),
                    _ => {
                        return Err(mlua::Error::runtime(
                            "message must be a nil, a string or a table",
                        ))
                    }
                };
                // The caller's Content-Type wins; otherwise the request's Accept header decides.
                let content_type = match headers.get(http::header::CONTENT_TYPE) {
                    Some(v) => v.clone(),
                    None => {
                        let accept = ctx
                            .req
                            .borrow()
                            .headers
                            .get(http::header::ACCEPT)
                            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
                        let tools: Table = super::require(&lua, "kong.tools.http")?;
                        let mime: String =
                            tools.get::<Function>("get_response_type")?.call(accept)?;
                        http::HeaderValue::from_str(&mime).map_err(mlua::Error::external)?
                    }
                };
                let body = error_body(content_type.to_str().unwrap_or(""), &message);
                headers.insert(http::header::CONTENT_TYPE, content_type);
                finish_exit(&ctx, status, Some(Bytes::from(body)), headers).await?;
                ctx.resp.borrow_mut().source = crate::runloop::ctx::Source::Error;
                Ok(())
            },
        )?,
    )?;
    Ok(())
}

/// `cjson.encode(t)`, as Kong encodes table bodies and messages.
fn json_encode(lua: &Lua, t: Table) -> mlua::Result<mlua::LuaString> {
    let cjson: Table = super::require(lua, "cjson")?;
    cjson.get::<Function>("encode")?.call(t)
}

/// Kong's error page for a MIME type (its templates without the request id, which Sluice does
/// not assign); JSON for any type without a template.
fn error_body(mime: &str, message: &str) -> String {
    let base = mime.split(';').next().unwrap_or("").trim();
    match base {
        "text/html" => format!(
            "<!doctype html>\n<html>\n  <head>\n    <meta charset=\"utf-8\">\n    \
             <title>Error</title>\n  </head>\n  <body>\n    <h1>Error</h1>\n    \
             <p>{message}.</p>\n  </body>\n</html>\n"
        ),
        "application/xml" => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<error>\n  \
             <message>{message}</message>\n</error>\n"
        ),
        "text/plain" => format!("{message}\n"),
        _ => serde_json::json!({ "message": message }).to_string(),
    }
}

/// Records the exit; in a phase that may yield, ends the handler by never resuming it (the
/// runloop abandons the coroutine), as Kong's `exit` yields out of the plugin.
async fn finish_exit(
    ctx: &crate::runloop::RequestCtx,
    status: StatusCode,
    body: Option<Bytes>,
    headers: HeaderMap,
) -> mlua::Result<()> {
    if ctx.phase.get() == Phase::HeaderFilter {
        if body.is_some() {
            return Err(mlua::Error::runtime(
                "attempt to set body in header_filter phase",
            ));
        }
        let mut r = ctx.resp.borrow_mut();
        r.status = Some(status);
        for (name, value) in &headers {
            r.headers.insert(name.clone(), value.clone());
        }
        return Ok(());
    }
    ctx.exit(status, body, Some(headers));
    std::future::pending::<()>().await;
    Ok(())
}

/// The optional headers table of `exit` and `error`.
fn headers_arg(table: Option<Table>) -> mlua::Result<HeaderMap> {
    let mut map = HeaderMap::new();
    for pair in table.iter().flat_map(|t| t.pairs::<Value, Value>()) {
        let (name, value) = pair?;
        headers::set(&mut map, headers::name(&name)?, headers::values(&value)?);
    }
    Ok(map)
}

/// A status code argument, at least `min`.
fn status_code(value: &Value, min: u16) -> mlua::Result<StatusCode> {
    let n = match value {
        Value::Integer(i) => *i,
        Value::Number(n) if n.fract() == 0.0 => *n as i64,
        _ => return Err(mlua::Error::runtime("code must be a number")),
    };
    if n < i64::from(min) || n > 599 {
        return Err(mlua::Error::runtime(format!(
            "code must be a number between {min} and 599"
        )));
    }
    StatusCode::from_u16(n as u16).map_err(|_| mlua::Error::runtime("code must be a number"))
}

#[cfg(test)]
mod tests {
    use super::error_body;

    #[test]
    fn error_pages_follow_the_mime_type() {
        assert_eq!(
            error_body("application/json; charset=utf-8", "No \"key\""),
            r#"{"message":"No \"key\""}"#
        );
        assert_eq!(
            error_body("text/plain; charset=utf-8", "Forbidden"),
            "Forbidden\n"
        );
        assert!(error_body("text/html; charset=utf-8", "Forbidden")
            .contains("<h1>Error</h1>\n    <p>Forbidden.</p>"));
        assert!(error_body("application/xml", "Forbidden")
            .ends_with("<error>\n  <message>Forbidden</message>\n</error>\n"));
        assert_eq!(
            error_body("application/problem+json", "x"),
            r#"{"message":"x"}"#,
            "no template: JSON"
        );
    }
}
