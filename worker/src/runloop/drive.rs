//! Running plugin handlers: each call in a coroutine driven by the worker's runtime, so a handler
//! that sleeps or waits never blocks other requests, with the request set as current on every
//! poll. `kong.response.exit` in a yielding phase parks its coroutine forever; the driver sees the
//! request has exited and abandons the coroutine, which ends the handler as Kong's yield does.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::ctx::{with_current, RequestCtx};
use super::Phase;
use crate::plugins::Plugins;

/// Polls a plugin's Lua call with `ctx` current; finishes early once the request has exited.
struct Driven<F> {
    ctx: Rc<RequestCtx>,
    call: Pin<Box<F>>,
}

impl<F: Future<Output = mlua::Result<()>>> Future for Driven<F> {
    type Output = mlua::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<mlua::Result<()>> {
        let this = &mut *self;
        let ctx = this.ctx.clone();
        match with_current(&ctx, || this.call.as_mut().poll(cx)) {
            Poll::Pending if ctx.exited.get() => Poll::Ready(Ok(())),
            other => other,
        }
    }
}

/// Runs one instance's handler for a phase that may yield (`rewrite`, `access`, `response`).
/// Returns `false` if the handler raised an error (logged here, with the plugin named).
pub async fn run_async(
    plugins: &Plugins,
    ctx: &Rc<RequestCtx>,
    phase: Phase,
    instance: usize,
) -> bool {
    let inst = &plugins.instances[instance];
    let handler = &plugins.handlers[inst.handler];
    let Some(f) = handler.get(phase) else {
        return true;
    };
    enter(ctx, phase, plugins, instance);
    let call = f.call_async::<()>((handler.table.clone(), inst.conf.clone()));
    let result = Driven {
        ctx: ctx.clone(),
        call: Box::pin(call),
    }
    .await;
    report(result, phase, &handler.name)
}

/// Runs one instance's handler for a phase that must not yield (filters and `log`).
pub fn run_sync(plugins: &Plugins, ctx: &Rc<RequestCtx>, phase: Phase, instance: usize) -> bool {
    let inst = &plugins.instances[instance];
    let handler = &plugins.handlers[inst.handler];
    let Some(f) = handler.get(phase) else {
        return true;
    };
    enter(ctx, phase, plugins, instance);
    let result = with_current(ctx, || {
        f.call::<()>((handler.table.clone(), inst.conf.clone()))
    });
    report(result, phase, &handler.name)
}

fn enter(ctx: &RequestCtx, phase: Phase, plugins: &Plugins, instance: usize) {
    ctx.phase.set(phase);
    let inst = &plugins.instances[instance];
    let mut state = ctx.lua.borrow_mut();
    state.plugin = Some((inst.handler, plugins.handlers[inst.handler].name.clone()));
    state.plugin_id = Some(inst.id.clone());
}

fn report(result: mlua::Result<()>, phase: Phase, plugin: &str) -> bool {
    match result {
        Ok(()) => true,
        Err(e) => {
            sluice_log::error!("[{plugin}] failed to run the {} phase: {e}", phase.name());
            false
        }
    }
}
