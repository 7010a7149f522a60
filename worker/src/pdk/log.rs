//! `kong.log`: the error log with the running plugin's name as prefix, plus `serialize` (the
//! standard log record that logging plugins send) and `set_serialize_value`.

use mlua::{Function, Lua, MultiValue, Table, Value, Variadic};
use sluice_log::Level;

use super::phases::LOG;
use super::{def, namespace, request_in};
use crate::runloop::ctx::current;

const LEVELS: [(&str, Level); 8] = [
    ("debug", Level::Debug),
    ("info", Level::Info),
    ("notice", Level::Notice),
    ("warn", Level::Warn),
    ("err", Level::Error),
    ("crit", Level::Crit),
    ("alert", Level::Alert),
    ("emerg", Level::Emerg),
];

pub fn install(lua: &Lua, kong: &Table) -> mlua::Result<()> {
    let t = namespace(lua, kong, "log")?;
    for (name, level) in LEVELS {
        t.set(
            name,
            lua.create_function(move |lua, args: MultiValue| write(lua, level, args))?,
        )?;
    }
    let mt = lua.create_table()?;
    mt.set(
        "__call",
        lua.create_function(|lua, (_, args): (Value, MultiValue)| write(lua, Level::Notice, args))?,
    )?;
    t.set_metatable(Some(mt))?;
    let inspect = lua.create_table()?;
    let inspect_mt = lua.create_table()?;
    inspect_mt.set(
        "__call",
        lua.create_function(|_, (_, args): (Value, Variadic<Value>)| {
            let text: Vec<String> = args.iter().map(|v| dump(v, 0)).collect();
            log_line(Level::Notice, &text.join(" "));
            Ok(())
        })?,
    )?;
    inspect.set_metatable(Some(inspect_mt))?;
    def(lua, &inspect, "on", |_, ()| Ok(()))?;
    def(lua, &inspect, "off", |_, ()| Ok(()))?;
    t.set("inspect", inspect)?;
    def(lua, &t, "deprecation", |lua, args: MultiValue| {
        write(lua, Level::Warn, args)
    })?;
    def(
        lua,
        &t,
        "set_serialize_value",
        |lua, (key, value, opts): (String, Value, Option<Table>)| {
            let ctx = request_in(super::phases::REQUEST)?;
            let mode: String = opts
                .and_then(|o| o.get::<Option<String>>("mode").ok().flatten())
                .unwrap_or_else(|| "set".into());
            let mut state = ctx.lua.borrow_mut();
            let extra = super::ctx::lazily(lua, &mut state.serialize_extra)?;
            let exists = !extra.get::<Value>(key.as_str())?.is_nil();
            match mode.as_str() {
                "set" => extra.set(key, value),
                "add" if !exists => extra.set(key, value),
                "replace" if exists => extra.set(key, value),
                "add" | "replace" => Ok(()),
                _ => Err(mlua::Error::runtime(
                    "mode must be 'set', 'add' or 'replace'",
                )),
            }
        },
    )?;
    def(lua, &t, "serialize", |lua, ()| {
        let ctx = request_in(LOG)?;
        super::serialize::record(lua, &ctx)
    })?;
    Ok(())
}

/// One log line from Lua arguments, concatenated as `ngx.log` does.
fn write(lua: &Lua, level: Level, args: MultiValue) -> mlua::Result<()> {
    if !sluice_log::enabled(level) {
        return Ok(());
    }
    let tostring: Function = lua.globals().get("tostring")?;
    let mut msg = String::new();
    for v in args {
        let s: mlua::LuaString = tostring.call(v)?;
        msg.push_str(&s.to_string_lossy());
    }
    log_line(level, &msg);
    Ok(())
}

fn log_line(level: Level, msg: &str) {
    let plugin =
        current().and_then(|c| c.lua.borrow().plugin.as_ref().map(|(_, name)| name.clone()));
    match plugin {
        Some(name) => sluice_log::log(level, format_args!("[kong] [{name}] {msg}")),
        None => sluice_log::log(level, format_args!("[kong] {msg}")),
    }
}

/// A readable rendering of a Lua value for `kong.log.inspect`.
fn dump(v: &Value, depth: usize) -> String {
    match v {
        Value::String(s) => format!("{:?}", s.to_string_lossy()),
        Value::Table(t) if depth < 4 => {
            let items: Vec<String> = t
                .pairs::<Value, Value>()
                .filter_map(Result::ok)
                .map(|(k, v)| format!("{} = {}", dump(&k, depth + 1), dump(&v, depth + 1)))
                .collect();
            format!("{{ {} }}", items.join(", "))
        }
        other => other.to_string().unwrap_or_else(|_| format!("{other:?}")),
    }
}
