//! OpenResty's table extensions: `table.new`, `table.clear` (built into LuaJIT 2.1 as
//! requireable modules) and `table.isempty`, `table.nkeys`, `table.isarray`, `table.clone`
//! (OpenResty-only, polyfilled in Lua so LuaJIT can still compile callers). Each is both a
//! field of `table` and a module (`require "table.nkeys"`).

use mlua::{Function, Lua, Result, Table};

const EXTENSIONS: [&str; 4] = ["isempty", "nkeys", "isarray", "clone"];

pub(crate) fn install(lua: &Lua) -> Result<()> {
    let globals = lua.globals();
    let table: Table = globals.raw_get("table")?;
    for builtin in ["new", "clear"] {
        let f: Function = lua.unpack(crate::require(lua, &format!("table.{builtin}"))?)?;
        table.raw_set(builtin, f)?;
    }
    let ext: Table = lua
        .load(include_str!("modules/table_ext.lua"))
        .set_name("=table_ext.lua")
        .eval()?;
    let preload: Table = globals.raw_get::<Table>("package")?.raw_get("preload")?;
    for name in EXTENSIONS {
        let f: Function = ext.raw_get(name)?;
        table.raw_set(name, &f)?;
        preload.raw_set(
            format!("table.{name}"),
            lua.create_function(move |_, ()| Ok(f.clone()))?,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::testing::{run, vm};

    #[test]
    fn builtins_and_extensions_are_fields_and_modules() {
        let lua = vm();
        run(
            &lua,
            r##"
            for _, name in ipairs { "new", "clear", "isempty", "nkeys", "isarray", "clone" } do
              assert(type(table[name]) == "function", name)
              assert(require("table." .. name) == table[name], name)
            end
            local t = table.new(4, 2)
            t[1], t.x = 1, 2
            table.clear(t)
            assert(next(t) == nil)
        "##,
        );
    }

    #[test]
    fn extensions_follow_openresty() {
        let lua = vm();
        run(
            &lua,
            r##"
            local isempty, nkeys = require "table.isempty", require "table.nkeys"
            local isarray, clone = require "table.isarray", require "table.clone"
            assert(isempty({}) and isempty({nil, dog = nil}))
            assert(not isempty({"a"}) and not isempty({nil, 3}) and not isempty({cat = 3}))
            assert(nkeys({}) == 0 and nkeys({"a", nil, "b"}) == 2)
            assert(nkeys({dog = 3, cat = 4, bird = nil}) == 2 and nkeys({"a", dog = 3}) == 2)
            assert(isarray({}) and isarray({"a", true, 3.14}) and isarray({[3] = 1, [-1] = 2}))
            assert(not isarray({dog = 3}) and not isarray({[1.5] = 1}) and not isarray({1, x = 2}))
            local mt = {}
            local src = setmetatable({1, 2, k = {}}, mt)
            local c = clone(src)
            assert(c ~= src and c[1] == 1 and c[2] == 2 and c.k == src.k)
            assert(getmetatable(c) == nil)
            assert(not pcall(isempty, nil))
        "##,
        );
    }
}
