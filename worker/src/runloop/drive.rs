//! Running plugin handlers. A Lua handler that may yield runs in a coroutine driven by the
//! worker's runtime, so a handler that sleeps or waits never blocks other requests, with the
//! request set as current on every poll. `kong.response.exit` in a yielding phase parks its
//! coroutine forever; the driver sees the request has exited and abandons the coroutine, which
//! ends the handler as Kong's yield does. An external plugin's phase is one event conversation
//! with its plugin server, each PDK call driven the same way.

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::ctx::{with_current, RequestCtx};
use super::Phase;
use crate::plugins::{Code, Plugins};

/// Polls a Lua call with `ctx` current; finishes early (with the default value) once the call
/// made the request exit.
pub struct Driven<F> {
    ctx: Rc<RequestCtx>,
    /// The request had exited before the call: only a new exit ends it early.
    exited_before: bool,
    call: Pin<Box<F>>,
}

/// Drives `call` for `ctx`'s request.
pub fn driven<F>(ctx: &Rc<RequestCtx>, call: F) -> Driven<F> {
    Driven {
        ctx: ctx.clone(),
        exited_before: ctx.exited.get(),
        call: Box::pin(call),
    }
}

impl<T: Default, F: Future<Output = mlua::Result<T>>> Future for Driven<F> {
    type Output = mlua::Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<mlua::Result<T>> {
        let this = &mut *self;
        let ctx = this.ctx.clone();
        match with_current(&ctx, || this.call.as_mut().poll(cx)) {
            Poll::Pending if ctx.exited.get() && !this.exited_before => {
                Poll::Ready(Ok(T::default()))
            }
            other => other,
        }
    }
}

/// Runs one instance's handler for `phase`. Lua handlers may yield in `rewrite`, `access` and
/// `response` only (the filters and `log` run to completion, as in nginx). Returns `false` if the
/// handler failed (logged here, with the plugin named).
pub async fn run(plugins: &Plugins, ctx: &Rc<RequestCtx>, phase: Phase, instance: usize) -> bool {
    let inst = &plugins.instances[instance];
    let handler = &plugins.handlers[inst.handler];
    match &handler.code {
        Code::Lua { .. } if !phase.may_yield() => run_sync(plugins, ctx, phase, instance),
        Code::Lua { .. } => {
            let Some((table, f)) = handler.get(phase) else {
                return true;
            };
            enter(ctx, phase, plugins, instance);
            let call = f.call_async::<()>((table, &inst.conf));
            report(driven(ctx, call).await, phase, &handler.name)
        }
        Code::External { client, .. } => {
            let (Some(conf), Some(api), true) = (&inst.external, &plugins.api, handler.has(phase))
            else {
                return true;
            };
            enter(ctx, phase, plugins, instance);
            let result = client
                .run_event(conf, phase.name(), &mut api.dispatch(ctx))
                .await;
            report(result, phase, &handler.name)
        }
    }
}

/// Runs one Lua instance's handler for a phase that must not yield (filters and `log`).
pub fn run_sync(plugins: &Plugins, ctx: &Rc<RequestCtx>, phase: Phase, instance: usize) -> bool {
    let inst = &plugins.instances[instance];
    let handler = &plugins.handlers[inst.handler];
    let Some((table, f)) = handler.get(phase) else {
        return true;
    };
    enter(ctx, phase, plugins, instance);
    let result = with_current(ctx, || f.call::<()>((table, &inst.conf)));
    report(result, phase, &handler.name)
}

fn enter(ctx: &RequestCtx, phase: Phase, plugins: &Plugins, instance: usize) {
    ctx.phase.set(phase);
    let inst = &plugins.instances[instance];
    let mut state = ctx.lua.borrow_mut();
    state.plugin = Some((inst.handler, plugins.handlers[inst.handler].name.clone()));
    state.plugin_id = Some(inst.id.clone());
}

fn report<T, E: Display>(result: Result<T, E>, phase: Phase, plugin: &str) -> bool {
    match result {
        Ok(_) => true,
        Err(e) => {
            sluice_log::error!("[{plugin}] failed to run the {} phase: {e}", phase.name());
            false
        }
    }
}
