//! Test helpers: fresh VMs and a log sink that records lines.

use std::cell::RefCell;
use std::rc::Rc;

use mlua::{FromLuaMulti, Lua};
use sluice_log::Level;

use crate::{new_vm, LogSink, VmOptions};

/// A log sink keeping every line (all levels enabled).
#[derive(Default)]
pub(crate) struct Captured(pub RefCell<Vec<(Level, String)>>);

impl LogSink for Captured {
    fn enabled(&self, _level: Level) -> bool {
        true
    }

    fn write(&self, level: Level, msg: &str) {
        self.0.borrow_mut().push((level, msg.to_owned()));
    }
}

pub(crate) fn vm_with(opts: VmOptions) -> Lua {
    new_vm(&opts).expect("VM starts")
}

/// A VM whose log lines land in the returned sink.
pub(crate) fn vm_capturing() -> (Lua, Rc<Captured>) {
    let sink = Rc::new(Captured::default());
    let lua = vm_with(VmOptions {
        log: sink.clone(),
        ..VmOptions::default()
    });
    (lua, sink)
}

pub(crate) fn vm() -> Lua {
    vm_capturing().0
}

/// Runs a chunk and converts its results, panicking with the Lua error on failure.
pub(crate) fn eval<R: FromLuaMulti>(lua: &Lua, code: &str) -> R {
    match lua.load(code).set_name("=test").eval() {
        Ok(r) => r,
        Err(e) => panic!("Lua error: {e}\nin:\n{code}"),
    }
}

/// Runs a chunk of `assert`s.
pub(crate) fn run(lua: &Lua, code: &str) {
    eval::<()>(lua, code)
}
