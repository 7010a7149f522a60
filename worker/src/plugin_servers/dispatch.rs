//! The gateway's answer to an external plugin's PDK call: the method is looked up by its Kong name
//! (Kong's overrides in `api.lua` first, then the `kong` table, segment by segment), called with
//! the request current, and its first result sent back (Kong 3.x keeps only the first).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use mlua::{Function, Lua, MultiValue, Table, Value as LuaValue};
use rmpv::Value;
use sluice_pluginserver::{PdkDispatch, PdkFuture, PdkReply};

use super::convert::{from_bytes, from_lua, to_lua};
use crate::pdk::headers::DEFAULT_MAX;
use crate::runloop::ctx::with_current;
use crate::runloop::{drive, Phase, RequestCtx};

/// Request headers beyond this many bytes are not sent with an event: the plugin asks for
/// what it reads instead of every event carrying them.
const MAX_SENT_HEADER_BYTES: usize = 8 * 1024;

/// The PDK as external plugins reach it, for one worker's Lua VM.
pub struct Api {
    lua: Lua,
    /// Kong's `exposed_api` overrides, by full method name.
    overrides: Table,
    /// Functions already looked up, by method name.
    cache: RefCell<HashMap<String, Function>>,
}

impl Api {
    pub fn new(lua: &Lua) -> mlua::Result<Api> {
        let overrides = lua
            .load(include_str!("api.lua"))
            .set_name("=plugin_servers/api.lua")
            .eval()?;
        Ok(Api {
            lua: lua.clone(),
            overrides,
            cache: RefCell::default(),
        })
    }

    /// Answers the PDK calls of one event of `ctx`'s request.
    pub fn dispatch<'a>(&'a self, ctx: &'a Rc<RequestCtx>) -> Dispatch<'a> {
        Dispatch { api: self, ctx }
    }

    /// The function a method name designates, if any.
    fn function(&self, method: &str) -> Option<Function> {
        if let Some(f) = self.cache.borrow().get(method) {
            return Some(f.clone());
        }
        let f = match self.overrides.raw_get::<LuaValue>(method) {
            Ok(LuaValue::Function(f)) => f,
            _ => self.walk(method)?,
        };
        self.cache.borrow_mut().insert(method.to_owned(), f.clone());
        Some(f)
    }

    /// `kong.a.b` → `kong["a"]["b"]`, through metatables (as Kong's `index_table`).
    fn walk(&self, method: &str) -> Option<Function> {
        let mut segments = method.split('.');
        if segments.next() != Some("kong") {
            return None;
        }
        let mut value: LuaValue = self.lua.globals().get("kong").ok()?;
        for segment in segments {
            let LuaValue::Table(t) = value else {
                return None;
            };
            value = t.get(segment).ok()?;
        }
        match value {
            LuaValue::Function(f) => Some(f),
            _ => None,
        }
    }
}

pub struct Dispatch<'a> {
    api: &'a Api,
    ctx: &'a Rc<RequestCtx>,
}

impl Dispatch<'_> {
    /// The function and its arguments in Lua, or why not.
    fn prepare(&self, method: &str, args: &[Value]) -> Result<(Function, MultiValue), PdkReply> {
        let f = self
            .api
            .function(method)
            .ok_or_else(|| PdkReply::Raise(format!("no PDK function named {method}")))?;
        let args = args
            .iter()
            .map(|a| to_lua(&self.api.lua, a))
            .collect::<mlua::Result<MultiValue>>()
            .map_err(|e| PdkReply::Raise(e.to_string()))?;
        Ok((f, args))
    }
}

impl PdkDispatch for Dispatch<'_> {
    fn call<'a>(&'a mut self, method: &'a str, args: Vec<Value>) -> PdkFuture<'a> {
        Box::pin(async move {
            let (f, args) = match self.prepare(method, &args) {
                Ok(prepared) => prepared,
                Err(reply) => return reply,
            };
            match drive::driven(self.ctx, f.call_async::<MultiValue>(args)).await {
                Ok(values) => PdkReply::Value(values.front().map_or(Value::Nil, from_lua)),
                Err(e) => PdkReply::Raise(e.to_string()),
            }
        })
    }

    /// A plain call, no coroutine: the PDK's setters and logging never yield (one that did
    /// would raise here, failing the event).
    fn tell(&mut self, method: &str, args: Vec<Value>) -> PdkReply {
        let (f, args) = match self.prepare(method, &args) {
            Ok(prepared) => prepared,
            Err(reply) => return reply,
        };
        match with_current(self.ctx, || f.call::<()>(args)) {
            Ok(()) => PdkReply::Value(Value::Nil),
            Err(e) => PdkReply::Raise(e.to_string()),
        }
    }

    /// In `rewrite` and `access`, where plugins inspect the request, headers go with the event
    /// as `kong.request.get_headers()` returns them: lower-case names, a string per header or
    /// an array of repeated ones. Not more than its default 100 lines, nor huge ones.
    fn request_headers(&self) -> Option<Value> {
        if !matches!(self.ctx.phase.get(), Phase::Rewrite | Phase::Access) {
            return None;
        }
        let req = self.ctx.req.borrow();
        let headers = &req.headers;
        if headers.len() > DEFAULT_MAX {
            return None;
        }
        let mut bytes = 0;
        let mut map = Vec::with_capacity(headers.keys_len());
        for name in headers.keys() {
            let mut values = headers.get_all(name).iter().map(|v| {
                bytes += name.as_str().len() + v.len();
                from_bytes(v.as_bytes())
            });
            let first = values.next().unwrap_or(Value::Nil);
            let value = match values.next() {
                None => first,
                Some(second) => Value::Array([first, second].into_iter().chain(values).collect()),
            };
            map.push((Value::from(name.as_str()), value));
        }
        (bytes <= MAX_SENT_HEADER_BYTES).then_some(Value::Map(map))
    }
}
