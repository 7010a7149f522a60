//! `ngx.worker` (this worker's id, the worker count, pid, shutdown flag) and `ngx.config`.

use mlua::{Lua, Result, Table};

use crate::vm::WorkerInfo;

/// lua-nginx-module 0.10.26 and nginx 1.25.3, the versions OpenResty 1.25.3.x (Kong 3.9) ships.
const NGX_LUA_VERSION: i64 = 10026;
const NGINX_VERSION: i64 = 1025003;

pub(super) fn install(lua: &Lua, ngx: &Table) -> Result<()> {
    let worker = lua.create_table()?;
    worker.raw_set(
        "id",
        lua.create_function(|lua, ()| Ok(lua.app_data_ref::<WorkerInfo>().and_then(|w| w.id)))?,
    )?;
    worker.raw_set(
        "count",
        lua.create_function(|lua, ()| Ok(lua.app_data_ref::<WorkerInfo>().map_or(1, |w| w.count)))?,
    )?;
    worker.raw_set("pid", lua.create_function(|_, ()| Ok(std::process::id()))?)?;
    worker.raw_set(
        "exiting",
        lua.create_function(|lua, ()| {
            Ok(lua
                .app_data_ref::<WorkerInfo>()
                .is_some_and(|w| w.exiting.get()))
        })?,
    )?;
    ngx.raw_set("worker", worker)?;

    let config = lua.create_table()?;
    config.raw_set("subsystem", "http")?;
    config.raw_set("ngx_lua_version", NGX_LUA_VERSION)?;
    config.raw_set("nginx_version", NGINX_VERSION)?;
    config.raw_set("debug", false)?;
    config.raw_set(
        "prefix",
        lua.create_function(|lua, ()| {
            Ok(lua
                .app_data_ref::<WorkerInfo>()
                .map(|w| w.prefix.clone())
                .unwrap_or_default())
        })?,
    )?;
    config.raw_set("nginx_configure", lua.create_function(|_, ()| Ok(""))?)?;
    ngx.raw_set("config", config)
}

#[cfg(test)]
mod tests {
    use crate::testing::{run, vm_with};
    use crate::{set_worker_exiting, VmOptions};

    #[test]
    fn worker_and_config() {
        let lua = vm_with(VmOptions {
            worker_id: Some(2),
            worker_count: 4,
            prefix: "/usr/local/kong/".into(),
            ..VmOptions::default()
        });
        run(
            &lua,
            r##"
            assert(ngx.worker.id() == 2 and ngx.worker.count() == 4)
            assert(ngx.worker.pid() > 0 and ngx.worker.exiting() == false)
            assert(ngx.config.subsystem == "http" and ngx.config.debug == false)
            assert(ngx.config.ngx_lua_version == 10026 and ngx.config.nginx_version == 1025003)
            assert(ngx.config.prefix() == "/usr/local/kong/")
        "##,
        );
        set_worker_exiting(&lua, true);
        run(&lua, "assert(ngx.worker.exiting() == true)");
        let outside = vm_with(VmOptions {
            worker_id: None,
            ..VmOptions::default()
        });
        run(&outside, "assert(ngx.worker.id() == nil)");
    }
}
