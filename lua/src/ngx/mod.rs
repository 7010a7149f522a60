//! The request-independent part of OpenResty's `ngx` table.

mod codec;
mod constants;
mod log;
mod re;
mod shared;
mod time;
mod uri;
mod worker;

use mlua::{Lua, Result, Table, Value};

pub(crate) use codec::{decode_nginx, hex};

use crate::VmOptions;

/// Builds the `ngx` table (the caller makes it the global).
pub(crate) fn install(lua: &Lua, opts: &VmOptions) -> Result<Table> {
    let ngx = lua.create_table()?;
    ngx.raw_set("null", Value::NULL)?;
    constants::install(&ngx)?;
    log::install(lua, &ngx)?;
    time::install(lua, &ngx)?;
    codec::install(lua, &ngx)?;
    uri::install(lua, &ngx)?;
    re::install(lua, &ngx)?;
    worker::install(lua, &ngx)?;
    shared::install(lua, &ngx, &opts.shared_dicts)?;
    Ok(ngx)
}
