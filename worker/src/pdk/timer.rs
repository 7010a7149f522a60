//! `ngx.timer`: callbacks run as coroutines on the worker's runtime, `premature` (false) first.
//! When the worker stops gracefully, OpenResty's contract holds: every pending timer fires at
//! once with `premature = true` (so plugins can flush what they buffer), `every` timers stop, and
//! new timers are refused with "process exiting".

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use mlua::{Function, Lua, MultiValue, Table, Value};
use tokio::sync::{watch, Notify};

use super::{def, namespace};

/// The worker's timers (one runtime per worker thread).
struct Timers {
    /// Flips to true when the worker starts exiting.
    exiting: watch::Sender<bool>,
    /// Timers waiting for their delay.
    pending: Cell<usize>,
    /// Callbacks running now.
    running: Cell<usize>,
    /// Signalled whenever no timer is left.
    idle: Rc<Notify>,
}

thread_local! {
    static TIMERS: Timers = Timers {
        exiting: watch::channel(false).0,
        pending: Cell::new(0),
        running: Cell::new(0),
        idle: Rc::new(Notify::new()),
    };
}

pub fn install(lua: &Lua, ngx: &Table) -> mlua::Result<()> {
    let timer = namespace(lua, ngx, "timer")?;
    def(
        lua,
        &timer,
        "at",
        |lua, (delay, f, args): (f64, Function, MultiValue)| spawn(lua, delay, f, args, false),
    )?;
    def(
        lua,
        &timer,
        "every",
        |lua, (interval, f, args): (f64, Function, MultiValue)| {
            if interval <= 0.0 {
                return Err(mlua::Error::runtime(
                    "bad argument #1 to 'every' (interval must be positive)",
                ));
            }
            spawn(lua, interval, f, args, true)
        },
    )?;
    def(lua, &timer, "running_count", |_, ()| {
        Ok(TIMERS.with(|t| t.running.get()))
    })?;
    def(lua, &timer, "pending_count", |_, ()| {
        Ok(TIMERS.with(|t| t.pending.get()))
    })?;
    Ok(())
}

/// Starts the graceful stop of the worker's timers: pending ones fire now, prematurely, and
/// `ngx.worker.exiting()` becomes true.
pub fn shutdown(lua: &Lua) {
    sluice_lua::set_worker_exiting(lua, true);
    TIMERS.with(|t| t.exiting.send_replace(true));
}

/// Resolves once no timer is pending or running.
pub async fn idle() {
    loop {
        let busy = TIMERS.with(|t| (t.pending.get() + t.running.get() > 0).then(|| t.idle.clone()));
        match busy {
            // Nothing runs between the check and `notified()`, so no wakeup is missed.
            Some(idle) => idle.notified().await,
            None => return,
        }
    }
}

/// `ngx.timer.at`/`every`: `true`, or `nil, "process exiting"` once the worker is stopping.
fn spawn(
    lua: &Lua,
    delay: f64,
    f: Function,
    args: MultiValue,
    repeat: bool,
) -> mlua::Result<(Value, Value)> {
    if !(0.0..=31_536_000.0).contains(&delay) {
        return Err(mlua::Error::runtime("bad argument #1 (invalid delay)"));
    }
    let Some(mut exiting) = TIMERS.with(|t| (!*t.exiting.borrow()).then(|| t.exiting.subscribe()))
    else {
        return Ok((
            Value::Nil,
            Value::String(lua.create_string("process exiting")?),
        ));
    };
    let delay = Duration::from_secs_f64(delay);
    count(|t| &t.pending, 1);
    tokio::task::spawn_local(async move {
        loop {
            let premature = tokio::select! {
                _ = tokio::time::sleep(delay) => false,
                _ = exiting.wait_for(|e| *e) => true,
            };
            count(|t| &t.pending, -1);
            count(|t| &t.running, 1);
            let mut call_args = vec![Value::Boolean(premature)];
            call_args.extend(args.iter().cloned());
            if let Err(e) = f.call_async::<()>(MultiValue::from_vec(call_args)).await {
                sluice_log::error!("timer callback failed: {e}");
            }
            count(|t| &t.running, -1);
            if !repeat || premature || *exiting.borrow() {
                return;
            }
            count(|t| &t.pending, 1);
        }
    });
    Ok((Value::Boolean(true), Value::Nil))
}

/// Adjusts one counter, waking [`idle`] waiters when no timer is left.
fn count(counter: impl Fn(&Timers) -> &Cell<usize>, delta: isize) {
    TIMERS.with(|t| {
        let c = counter(t);
        c.set(c.get().saturating_add_signed(delta));
        if t.pending.get() + t.running.get() == 0 {
            t.idle.notify_waiters();
        }
    });
}
