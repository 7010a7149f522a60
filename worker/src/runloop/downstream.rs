//! The phases that run as the response leaves: `body_filter` on every chunk (with nginx's
//! `ngx.arg` model, which `kong.response.get_raw_body`/`set_raw_body` build on) and `log` once
//! the body is done, in its own task so it never delays the client. Lua filters run in line;
//! a chain with an external plugin's filter waits for its plugin server on each chunk.

use std::rc::Rc;

use bytes::{Bytes, BytesMut};

use super::ctx::RequestCtx;
use super::{drive, Phase};
use crate::gateway::Gateway;
use crate::plugins::Code;
use crate::proxy::body::{Filtered, OnEnd, ResponseBody};

/// The chunk `body_filter` handlers see and replace: `ngx.arg[1]` and `ngx.arg[2]`.
#[derive(Default)]
pub struct BodyArg {
    pub chunk: Option<Bytes>,
    pub eof: bool,
    /// `set_raw_body` ended the body: later chunks are dropped.
    pub ended: bool,
    /// What `kong.response.get_raw_body` has held back so far.
    pub buffered: BytesMut,
}

/// Hooks the `body_filter` and `log` handlers of `instances` onto a response body.
pub fn attach(
    body: ResponseBody,
    gw: &Rc<Gateway>,
    ctx: &Rc<RequestCtx>,
    instances: Vec<usize>,
) -> ResponseBody {
    let plugins = gw.plugins.as_ref().expect("plugins present");
    if !plugins.any_has(&instances, &[Phase::BodyFilter, Phase::Log]) {
        return body;
    }
    let filters: Vec<usize> = instances
        .iter()
        .copied()
        .filter(|&i| plugins.filters_body(&[i]))
        .collect();
    let logs = instances
        .iter()
        .any(|&i| plugins.handlers[plugins.instances[i].handler].has(Phase::Log));
    // The log task is spawned only when some handler has a `log` method.
    let body = if logs {
        body.on_end(Box::new(LogPhase {
            gw: gw.clone(),
            ctx: ctx.clone(),
            instances,
        }))
    } else {
        body
    };
    if filters.is_empty() {
        return body;
    }
    let external = filters.iter().any(|&i| {
        let h = plugins.instances[i].handler;
        matches!(plugins.handlers[h].code, Code::External { .. })
    });
    let filters: Rc<[usize]> = filters.into();
    let (gw, ctx) = (gw.clone(), ctx.clone());
    body.with_filter(Box::new(move |chunk, eof| {
        {
            let mut arg = ctx.body_arg.borrow_mut();
            if arg.ended {
                return Filtered::Now(Bytes::new());
            }
            arg.chunk = Some(chunk);
            arg.eof = eof;
        }
        let take = |ctx: &RequestCtx| ctx.body_arg.borrow_mut().chunk.take().unwrap_or_default();
        if !external {
            let plugins = gw.plugins.as_ref().expect("plugins present");
            for &i in filters.iter() {
                drive::run_sync(plugins, &ctx, Phase::BodyFilter, i);
            }
            return Filtered::Now(take(&ctx));
        }
        let (gw, ctx, filters) = (gw.clone(), ctx.clone(), filters.clone());
        Filtered::Later(Box::pin(async move {
            let plugins = gw.plugins.as_ref().expect("plugins present");
            for &i in filters.iter() {
                drive::run(plugins, &ctx, Phase::BodyFilter, i).await;
            }
            take(&ctx)
        }))
    }))
}

struct LogPhase {
    gw: Rc<Gateway>,
    ctx: Rc<RequestCtx>,
    instances: Vec<usize>,
}

impl OnEnd for LogPhase {
    fn on_end(self: Box<Self>, bytes_sent: u64) {
        self.ctx.bytes_sent.set(bytes_sent);
        tokio::task::spawn_local(async move {
            let Some(plugins) = self.gw.plugins.as_ref() else {
                return;
            };
            for &i in &self.instances {
                drive::run(plugins, &self.ctx, Phase::Log, i).await;
            }
        });
    }
}
