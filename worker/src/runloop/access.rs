//! The access phase: Kong's collecting iterator. Plugins are taken one at a time, each resolved
//! to its most specific instance *when its turn comes*, so a consumer authenticated by an earlier
//! plugin selects the consumer-scoped instances of later ones. Resolved instances are collected for
//! the downstream phases even after a short-circuit.
//!
//! With dynamic `ordering` (Kong Enterprise's feature, here with consumer scoping too), plugins
//! are walked by priority and each one's pending dependencies (`after` names it lists, and
//! plugins whose `before` names it) run just before it: Kong's default `legacy` algorithm,
//! re-evaluated at every step with the instances known at that moment.

use std::rc::Rc;

use super::ctx::RequestCtx;
use super::{drive, unexpected_error, Phase};
use crate::gateway::Gateway;
use crate::plugins::{Plugins, Scope};

pub async fn run(gw: &Gateway, p: &Plugins, ctx: &Rc<RequestCtx>) -> Vec<usize> {
    let n = p.handlers.len();
    let mut done = vec![false; n];
    let mut collected = Vec::new();
    let mut scope = gw.scope(ctx);
    while let Some((h, inst)) = next(p, &done, &scope) {
        done[h] = true;
        let Some(inst) = inst else { continue };
        collected.push(inst);
        if p.handlers[h].has(Phase::Response) {
            // Kong buffers the upstream response when a matched plugin has a `response` handler.
            ctx.upstream.borrow_mut().buffered = true;
        }
        if ctx.exited.get() || !p.handlers[h].has(Phase::Access) {
            continue;
        }
        if !drive::run(p, ctx, Phase::Access, inst).await {
            unexpected_error(ctx);
        }
        if scope.consumer.as_deref() != ctx.consumer_id.borrow().as_deref() {
            scope = gw.scope(ctx);
        }
    }
    collected
}

/// The next handler to consider and its instance in `scope`, if it has one.
fn next(p: &Plugins, done: &[bool], scope: &Scope) -> Option<(usize, Option<usize>)> {
    let pending = (0..p.handlers.len()).filter(|&h| !done[h]);
    if !p.any_ordering {
        let h = pending.into_iter().next()?;
        return Some((h, p.resolve(h, scope)));
    }
    let live: Vec<(usize, usize)> = pending
        .clone()
        .filter_map(|h| p.resolve(h, scope).map(|i| (h, i)))
        .collect();
    let name = |h: usize| &*p.handlers[h].name;
    // The highest-priority live plugin that must run before `h`, if any.
    let predecessor = |&(h, i): &(usize, usize)| {
        let inst = &p.instances[i];
        live.iter().copied().find(|&(o, oi)| {
            o != h
                && (inst.after.iter().any(|a| a == name(o))
                    || p.instances[oi].before.iter().any(|b| b == name(h)))
        })
    };
    let mut pick = live.first().copied();
    // Follow the dependency chain down; a cycle stops after as many steps as there are plugins.
    for _ in 0..live.len() {
        match pick.as_ref().and_then(predecessor) {
            Some(dep) => pick = Some(dep),
            None => break,
        }
    }
    match pick {
        Some((h, i)) => Some((h, Some(i))),
        // Nothing left applies: finish the walk so the remaining handlers are marked done.
        None => pending.into_iter().next().map(|h| (h, None)),
    }
}
