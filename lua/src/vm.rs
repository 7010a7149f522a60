//! Creating the worker's VM and reaching the tables the worker fills in later.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;

use mlua::{Function, Lua, LuaOptions, Result, StdLib, Table, Value};
use sluice_shdict::Zone;

use crate::log::{ErrorLog, LogSink};

/// What a worker's VM is built from.
pub struct VmOptions {
    /// Kong's `lua_package_path`: `;`-separated templates; `;;` stands for LuaJIT's default.
    pub lua_package_path: String,
    /// Kong's `lua_package_cpath`, same rules.
    pub lua_package_cpath: String,
    /// `ngx.worker.id()`: 0-based, `None` outside a worker (e.g. `sluice check`).
    pub worker_id: Option<u32>,
    /// `ngx.worker.count()`.
    pub worker_count: u32,
    /// `ngx.config.prefix()`: the node's prefix directory.
    pub prefix: String,
    /// Where `ngx.log` and `print` write.
    pub log: Rc<dyn LogSink>,
    /// The `lua_shared_dict` zones this process maps, exposed as `ngx.shared.<name>`.
    pub shared_dicts: Vec<Arc<Zone>>,
}

impl Default for VmOptions {
    fn default() -> Self {
        VmOptions {
            lua_package_path: "./?.lua;./?/init.lua;;".to_owned(),
            lua_package_cpath: ";;".to_owned(),
            worker_id: Some(0),
            worker_count: 1,
            prefix: "./".to_owned(),
            log: Rc::new(ErrorLog),
            shared_dicts: Vec::new(),
        }
    }
}

/// This process's worker identity, read by `ngx.worker.*` and `ngx.config.prefix`.
pub(crate) struct WorkerInfo {
    pub id: Option<u32>,
    pub count: u32,
    pub prefix: String,
    pub exiting: Cell<bool>,
}

/// The VM's log sink, kept as app data.
struct Sink(Rc<dyn LogSink>);

const NGX_KEY: &str = "sluice.ngx";
const KONG_KEY: &str = "sluice.kong";

/// Creates a worker's VM: LuaJIT with every standard library (including `ffi`, `jit` and
/// `debug`) and C modules from `lua_package_cpath`, with the environment Kong plugins expect.
pub fn new_vm(opts: &VmOptions) -> Result<Lua> {
    let lua = unrestricted_lua();
    lua.set_app_data(WorkerInfo {
        id: opts.worker_id,
        count: opts.worker_count,
        prefix: opts.prefix.clone(),
        exiting: Cell::new(false),
    });
    lua.set_app_data(Sink(opts.log.clone()));
    set_package_paths(&lua, opts)?;
    crate::tablex::install(&lua)?;
    let ngx = crate::ngx::install(&lua, opts)?;
    lua.set_named_registry_value(NGX_KEY, &ngx)?;
    lua.globals().raw_set("ngx", ngx)?;
    crate::cjson::install(&lua)?;
    crate::native::install(&lua)?;
    crate::modules::install(&lua)?;
    let kong = lua.create_table()?;
    lua.set_named_registry_value(KONG_KEY, &kong)?;
    lua.globals().raw_set("kong", kong)?;
    // Kong's node caches, over its standard dicts (absent in a VM without shared dicts), and
    // `_KONG`, which Kong sets to `kong.meta` (plugins build their realm from `_KONG._NAME`).
    lua.load(
        "local cache = require 'kong.cache'\n\
         kong.cache = cache.new { shm_name = 'kong_db_cache' }\n\
         kong.core_cache = cache.new { shm_name = 'kong_core_db_cache' }\n\
         _KONG = require 'kong.meta'",
    )
    .set_name("=kong.cache")
    .exec()?;
    Ok(lua)
}

/// Finished handler coroutines kept for reuse (`call_async` runs each handler in one): creating a
/// coroutine per handler call costs more than the typical handler itself.
const THREAD_POOL: usize = 256;

/// LuaJIT without mlua's sandbox: plugins use `ffi` (lrucache, file-log), `debug.traceback`,
/// and may ship C modules (lpeg, lua-cjson builds) that `lua_package_cpath` points to.
#[allow(unsafe_code)]
fn unrestricted_lua() -> Lua {
    // SAFETY: `unsafe_new_with` creates an ordinary VM; it is "unsafe" only because Lua code in
    // it may then load `ffi`/`debug`/C modules and so break Rust's guarantees itself. That is
    // the contract OpenResty gives plugin code, which we run as trusted configuration.
    unsafe { Lua::unsafe_new_with(StdLib::ALL, LuaOptions::new().thread_pool_size(THREAD_POOL)) }
}

fn set_package_paths(lua: &Lua, opts: &VmOptions) -> Result<()> {
    let package: Table = lua.globals().raw_get("package")?;
    for (key, configured) in [
        ("path", &opts.lua_package_path),
        ("cpath", &opts.lua_package_cpath),
    ] {
        let default: String = package.raw_get(key)?;
        package.raw_set(key, expand_path(configured, &default))?;
    }
    Ok(())
}

/// Expands nginx-lua's `;;` (the built-in default) and drops empty entries.
fn expand_path(configured: &str, default: &str) -> String {
    let replaced = configured.replace(";;", &format!(";{default};"));
    replaced
        .split(';')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(";")
}

/// `require(name)` through the VM's own `require` (so `package.loaded` caching applies).
pub fn require(lua: &Lua, name: &str) -> Result<Value> {
    let require: Function = lua.globals().raw_get("require")?;
    require.call(name)
}

/// The `ngx` table, for installing the request-scoped API (`ngx.var`, `ngx.ctx`, ...).
pub fn ngx_table(lua: &Lua) -> Result<Table> {
    lua.named_registry_value(NGX_KEY)
}

/// The `kong` global, for installing the PDK and `kong.configuration`.
pub fn kong_table(lua: &Lua) -> Result<Table> {
    lua.named_registry_value(KONG_KEY)
}

/// The log sink this VM was created with.
pub fn log_sink(lua: &Lua) -> Rc<dyn LogSink> {
    match lua.app_data_ref::<Sink>() {
        Some(sink) => sink.0.clone(),
        None => Rc::new(ErrorLog),
    }
}

/// Sets what `ngx.worker.exiting()` returns (true once the worker is shutting down).
pub fn set_worker_exiting(lua: &Lua, exiting: bool) {
    if let Some(info) = lua.app_data_ref::<WorkerInfo>() {
        info.exiting.set(exiting);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{vm, vm_with};

    #[test]
    fn double_semicolon_is_the_default_path() {
        assert_eq!(
            expand_path("/a/?.lua;;", "./?.lua;/b/?.lua"),
            "/a/?.lua;./?.lua;/b/?.lua"
        );
        assert_eq!(expand_path(";;/a/?.lua", "/d/?.lua"), "/d/?.lua;/a/?.lua");
        assert_eq!(expand_path("/a/?.lua", "/d/?.lua"), "/a/?.lua");
    }

    #[test]
    fn require_finds_modules_on_lua_package_path() {
        let dir = std::env::temp_dir().join(format!("sluice-lua-path-{}", std::process::id()));
        let plugin_dir = dir.join("kong/plugins/hello");
        std::fs::create_dir_all(&plugin_dir).unwrap();
        std::fs::write(
            plugin_dir.join("handler.lua"),
            "return { PRIORITY = 10, VERSION = '1.0.0', greet = function() return 'hi' end }",
        )
        .unwrap();
        let lua = vm_with(VmOptions {
            lua_package_path: format!("{}/?.lua;;", dir.display()),
            ..VmOptions::default()
        });
        let handler = require(&lua, "kong.plugins.hello.handler").unwrap();
        let Value::Table(handler) = handler else {
            panic!("handler is not a table")
        };
        assert_eq!(handler.get::<i64>("PRIORITY").unwrap(), 10);
        let path: String = lua.load("return package.path").eval().unwrap();
        assert!(
            path.starts_with(&format!("{}/?.lua;", dir.display())),
            "{path}"
        );
        let missing = require(&lua, "kong.plugins.nope.handler").unwrap_err();
        assert!(missing
            .to_string()
            .contains("module 'kong.plugins.nope.handler' not found"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn luajit_with_ffi_jit_and_the_globals_plugins_expect() {
        let lua = vm();
        let ok: bool = lua
            .load(
                r##"
                local ffi = require "ffi"
                ffi.cdef "int getpid(void);"
                assert(ffi.C.getpid() > 0)
                assert(jit and jit.version:find("LuaJIT 2.1"))
                assert(type(require("jit.util")) == "table")
                assert(type(debug.traceback) == "function")
                assert(type(require("bit").band) == "function")
                assert(type(require("string.buffer").new) == "function")
                assert(type(kong) == "table" and type(ngx) == "table")
                return true
            "##,
            )
            .eval()
            .unwrap();
        assert!(ok);
        assert_eq!(
            ngx_table(&lua).unwrap().to_pointer(),
            lua.globals().get::<Table>("ngx").unwrap().to_pointer()
        );
        kong_table(&lua)
            .unwrap()
            .set("configuration", lua.create_table().unwrap())
            .unwrap();
        let has_conf: bool = lua
            .load("return type(kong.configuration) == 'table'")
            .eval()
            .unwrap();
        assert!(has_conf);
    }
}
