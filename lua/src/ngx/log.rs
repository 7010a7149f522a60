//! `ngx.log(level, ...)` and `print(...)`: nginx-lua's message formatting, written to the VM's
//! log sink with a `[lua] file.lua:12: func(): ` prefix naming the caller.

use mlua::{Lua, MultiValue, Result, Table, Value};
use sluice_log::Level;

use crate::args::bad_argument;
use crate::log_sink;

pub(super) fn install(lua: &Lua, ngx: &Table) -> Result<()> {
    ngx.raw_set(
        "log",
        lua.create_function(|lua, args: MultiValue| {
            let mut args = args.into_iter();
            let level = args.next().unwrap_or(Value::Nil);
            let level = match level {
                Value::Integer(n) => n,
                Value::Number(n) => n as i64,
                other => {
                    let msg = format!("number expected, got {}", other.type_name());
                    return Err(bad_argument(1, "log", &msg));
                }
            };
            let level = sink_level(level)
                .ok_or_else(|| bad_argument(1, "log", &format!("bad log level: {level}")))?;
            write(lua, level, "log", 2, args)
        })?,
    )?;
    lua.globals().raw_set(
        "print",
        lua.create_function(|lua, args: MultiValue| {
            write(lua, Level::Notice, "print", 1, args.into_iter())
        })?,
    )
}

/// nginx's numeric level (`ngx.ERR` = 4) as a log level; `ngx.STDERR` logs as `emerg`.
fn sink_level(level: i64) -> Option<Level> {
    Some(match level {
        0 | 1 => Level::Emerg,
        2 => Level::Alert,
        3 => Level::Crit,
        4 => Level::Error,
        5 => Level::Warn,
        6 => Level::Notice,
        7 => Level::Info,
        8 => Level::Debug,
        _ => return None,
    })
}

fn write(
    lua: &Lua,
    level: Level,
    func: &str,
    first_arg: usize,
    args: impl Iterator<Item = Value>,
) -> Result<()> {
    let sink = log_sink(lua);
    if !sink.enabled(level) {
        return Ok(());
    }
    let mut msg = caller_prefix(lua);
    for (i, arg) in args.enumerate() {
        append_arg(lua, &mut msg, arg, first_arg + i, func)?;
    }
    sink.write(level, &String::from_utf8_lossy(&msg));
    Ok(())
}

/// `[lua] handler.lua:12: access(): ` for the Lua function calling `ngx.log`.
fn caller_prefix(lua: &Lua) -> Vec<u8> {
    let mut prefix = b"[lua] ".to_vec();
    lua.inspect_stack(1, |frame| {
        let source = frame.source();
        let src = source.short_src.as_deref().unwrap_or("?");
        let file = src.rsplit('/').next().unwrap_or(src);
        let line = frame.current_line().map_or(-1, |l| l as i64);
        prefix.extend_from_slice(format!("{file}:{line}: ").as_bytes());
        if source.what == "Lua" {
            if let Some(name) = frame.names().name {
                prefix.extend_from_slice(format!("{name}(): ").as_bytes());
            }
        }
    });
    prefix
}

fn append_arg(lua: &Lua, msg: &mut Vec<u8>, arg: Value, n: usize, func: &str) -> Result<()> {
    match arg {
        Value::String(s) => msg.extend_from_slice(&s.as_bytes()),
        Value::Integer(_) | Value::Number(_) => {
            msg.extend_from_slice(&crate::args::tostring(lua, arg)?.as_bytes())
        }
        Value::Nil => msg.extend_from_slice(b"nil"),
        Value::Boolean(b) => msg.extend_from_slice(if b { b"true" } else { b"false" }),
        Value::LightUserData(p) if p.0.is_null() => msg.extend_from_slice(b"null"),
        Value::Table(t) => {
            let has_tostring = t
                .metatable()
                .map(|mt| mt.raw_get::<Value>("__tostring"))
                .transpose()?
                .is_some_and(|f| !f.is_nil());
            if !has_tostring {
                let text = "expected table to have __tostring metamethod";
                return Err(bad_argument(n, func, text));
            }
            msg.extend_from_slice(&crate::args::tostring(lua, Value::Table(t))?.as_bytes());
        }
        other => {
            let text = format!(
                "string, number, boolean, or nil expected, got {}",
                other.type_name()
            );
            return Err(bad_argument(n, func, &text));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use sluice_log::Level;

    use crate::testing::{eval, vm_capturing};

    #[test]
    fn formats_arguments_like_nginx_lua() {
        let (lua, sink) = vm_capturing();
        eval::<()>(
            &lua,
            r##"
            local function access()
              ngx.log(ngx.ERR, "a", 1, " ", 2.5, nil, true, false, ngx.null,
                      setmetatable({}, { __tostring = function() return "T" end }))
            end
            access()
            ngx.log(ngx.DEBUG, "dbg")
            print("hello ", 42)
        "##,
        );
        let lines = sink.0.borrow();
        assert_eq!(lines[0].0, Level::Error);
        assert_eq!(
            lines[0].1,
            "[lua] test:3: access(): a1 2.5niltruefalsenullT"
        );
        assert_eq!(lines[1], (Level::Debug, "[lua] test:7: dbg".to_owned()));
        assert_eq!(
            lines[2],
            (Level::Notice, "[lua] test:8: hello 42".to_owned())
        );
    }

    #[test]
    fn rejects_bad_levels_and_values() {
        let (lua, _sink) = vm_capturing();
        let err = |code: &str| lua.load(code).exec().unwrap_err().to_string();
        assert!(err("ngx.log(99, 'x')").contains("bad argument #1 to 'log' (bad log level: 99)"));
        assert!(err("ngx.log('x')").contains("number expected, got string"));
        assert!(err("ngx.log(ngx.ERR, {})")
            .contains("bad argument #2 to 'log' (expected table to have __tostring metamethod)"));
        assert!(err("ngx.log(ngx.ERR, print)")
            .contains("string, number, boolean, or nil expected, got function"));
    }
}
