//! The Lua side of validation. Kong's `match` family are Lua patterns, and `custom_validator`,
//! `custom_entity_check`, `check` and shorthand `func`s are Lua functions: all run on the VM
//! the schema came from (a schema read from JSON gets a private VM the first time it needs one).

use crate::raw::Raw;
use mlua::{Function, Lua, LuaSerdeExt, MultiValue, Table, Value as LuaValue};
use serde_json::Value;
use std::cell::OnceCell;

pub(crate) struct Vm<'a> {
    lua: &'a OnceCell<Lua>,
    find: OnceCell<Result<Function, String>>,
}

impl<'a> Vm<'a> {
    pub(crate) fn new(lua: &'a OnceCell<Lua>) -> Self {
        Vm {
            lua,
            find: OnceCell::new(),
        }
    }

    fn lua(&self) -> &Lua {
        self.lua.get_or_init(Lua::new)
    }

    /// `value:match(pattern)` is truthy (`string.find` has the same truth value).
    pub(crate) fn matches(&self, value: &str, pattern: &str) -> Result<bool, String> {
        let find = self
            .find
            .get_or_init(|| {
                let string: Table = self.lua().globals().get("string").map_err(message)?;
                string.get("find").map_err(message)
            })
            .as_ref()
            .map_err(Clone::clone)?;
        let found: LuaValue = find.call((value, pattern)).map_err(message)?;
        Ok(truthy(&found))
    }

    /// Kong's `is_regex`: `ngx.re.match` compiles the pattern. Without `ngx.re` in this VM the
    /// value is accepted (TODO: a VM without the PDK cannot judge PCRE syntax).
    pub(crate) fn is_regex(&self, value: &str) -> Result<bool, String> {
        let re_match = self
            .lua()
            .load("return ngx and ngx.re and ngx.re.match")
            .eval::<Option<Function>>()
            .map_err(message)?;
        let Some(re_match) = re_match else {
            return Ok(true);
        };
        let (_, err): (LuaValue, LuaValue) =
            re_match.call(("any string", value)).map_err(message)?;
        Ok(matches!(err, LuaValue::Nil))
    }

    /// Calls a validator-style function: `ok, err = f(value)`.
    pub(crate) fn verdict(&self, f: &Function, args: &[&Value]) -> Result<Verdict, String> {
        let results = self.call(f, args)?;
        let mut results = results.into_iter();
        let ok = results.next().is_some_and(|v| truthy(&v));
        let err = results.next().and_then(describe);
        let err2 = results.next().and_then(describe);
        Ok(Verdict { ok, err, err2 })
    }

    /// Calls a shorthand `func(value)`; its result as JSON (`None` for nil).
    pub(crate) fn map(&self, f: &Function, value: &Value) -> Result<Option<Value>, String> {
        let first = self.call(f, &[value])?.into_iter().next();
        match first {
            None | Some(LuaValue::Nil) => Ok(None),
            Some(v) => Raw::from_lua(v)?.to_json().map(Some),
        }
    }

    fn call(&self, f: &Function, args: &[&Value]) -> Result<MultiValue, String> {
        let lua = self.lua();
        let args = args
            .iter()
            .map(|v| lua.to_value(v))
            .collect::<mlua::Result<MultiValue>>()
            .map_err(message)?;
        f.call(args).map_err(message)
    }
}

/// What a validator returned.
#[derive(Debug)]
pub(crate) struct Verdict {
    pub ok: bool,
    /// Usually a message; a schema's `check` may return a table of them.
    pub err: Option<Value>,
    /// A third result: the message to use instead of the check's own (Kong's `err2`).
    pub err2: Option<Value>,
}

impl Verdict {
    pub(crate) fn message(&self) -> Option<String> {
        self.err.as_ref().map(crate::text::value)
    }
}

fn truthy(v: &LuaValue) -> bool {
    !matches!(v, LuaValue::Nil | LuaValue::Boolean(false))
}

/// An error value as data (a function or other Lua object by its description).
fn describe(v: LuaValue) -> Option<Value> {
    match v {
        LuaValue::Nil => None,
        other => Some(
            Raw::from_lua(other)
                .and_then(|r| r.to_json())
                .unwrap_or_else(Value::String),
        ),
    }
}

/// A Lua error's message without mlua's wrapping and traceback.
pub(crate) fn message(e: mlua::Error) -> String {
    let text = match &e {
        mlua::Error::RuntimeError(m) | mlua::Error::SyntaxError { message: m, .. } => m.clone(),
        mlua::Error::CallbackError { cause, .. } => return message((**cause).clone()),
        other => other.to_string(),
    };
    text.lines().next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patterns_are_lua_patterns() {
        let cell = OnceCell::new();
        let vm = Vm::new(&cell);
        assert!(vm.matches("GET", "^%u+$").unwrap());
        assert!(!vm.matches("get", "^%u+$").unwrap());
        assert!(vm.matches("a.b", "%.").unwrap());
        assert!(vm
            .matches("x", "[")
            .unwrap_err()
            .contains("malformed pattern"));
    }

    #[test]
    fn functions_are_called_with_json_as_lua() {
        let cell = OnceCell::from(Lua::new());
        let vm = Vm::new(&cell);
        let lua = cell.get().unwrap();
        let f: Function = lua
            .load("return function(t) if t.n > 1 then return true end return nil, 'n is ' .. t.n, 'custom' end")
            .eval()
            .unwrap();
        let v = vm.verdict(&f, &[&json!({"n": 1})]).unwrap();
        assert!(!v.ok);
        assert_eq!(v.message().as_deref(), Some("n is 1"));
        assert_eq!(v.err2, Some(json!("custom")));
        assert!(vm.verdict(&f, &[&json!({"n": 2})]).unwrap().ok);
        let boom: Function = lua
            .load("return function() error('boom') end")
            .eval()
            .unwrap();
        assert!(vm.verdict(&boom, &[]).unwrap_err().ends_with("boom"));
        let map: Function = lua
            .load("return function(v) return { redis = { host = v } } end")
            .eval()
            .unwrap();
        assert_eq!(
            vm.map(&map, &json!("h")).unwrap(),
            Some(json!({"redis": {"host": "h"}}))
        );
    }

    #[test]
    fn without_ngx_re_any_regex_passes() {
        let cell = OnceCell::new();
        assert!(Vm::new(&cell).is_regex("(").unwrap());
    }
}
