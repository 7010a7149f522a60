//! A loaded plugin and its schema: either a `handler.lua` table (Kong's contract: `PRIORITY`,
//! `VERSION`, one method per phase, called as `handler:phase(conf)`), or a plugin a plugin server
//! serves, described by the server's query command.

use std::rc::Rc;

use mlua::{Function, IntoLuaMulti, Lua, Table, Value};
use sluice_pluginserver::info::PluginInfo;
use sluice_pluginserver::Client;
use sluice_schema::PluginSchema;

use crate::runloop::Phase;

/// Where a plugin's phase handlers run.
pub enum Code {
    /// In this worker's Lua VM: the handler table and the phase methods it defines.
    Lua {
        table: Table,
        fns: Vec<(Phase, Function)>,
    },
    /// In a plugin server, over `client`: the phases its dump lists.
    External {
        client: Rc<Client>,
        phases: Vec<Phase>,
    },
}

pub struct Handler {
    pub name: Rc<str>,
    pub priority: i64,
    pub code: Code,
    pub schema: PluginSchema,
    /// The schema forbids this scope (`typedefs.no_consumer` etc.): lookups ignore it.
    pub no_consumer: bool,
    pub no_route: bool,
    pub no_service: bool,
    pub no_consumer_group: bool,
}

impl Handler {
    /// `require "kong.plugins.<name>.handler"` and `...schema`, checked as Kong's loader does.
    pub fn load(lua: &Lua, name: &str) -> Result<Handler, String> {
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            format!("plugin '{name}' cannot be loaded: {what}: {e}")
        };
        let require: Function = lua
            .globals()
            .get("require")
            .map_err(|e| fail("require", &e))?;
        let table: Table = require
            .call(format!("kong.plugins.{name}.handler"))
            .map_err(|e| fail("handler", &e))?;
        let priority = match table.get::<Value>("PRIORITY").map_err(|e| fail("PRIORITY", &e))? {
            Value::Integer(p) => p,
            Value::Number(p) if p.is_finite() && p.fract() == 0.0 => p as i64,
            _ => return Err(format!("Plugin {name} cannot be loaded because its PRIORITY field is not a valid integer number")),
        };
        match table.get::<Value>("VERSION").map_err(|e| fail("VERSION", &e))? {
            Value::String(v) if is_semver(&v.to_string_lossy()) => {}
            _ => return Err(format!("Plugin {name} cannot be loaded because its VERSION field does not follow the \"x.y.z\" format")),
        }
        let mut fns = Vec::new();
        for phase in Phase::ALL {
            if let Ok(Value::Function(f)) = table.get::<Value>(phase.name()) {
                fns.push((phase, f));
            }
        }
        let has = |p: Phase| fns.iter().any(|(q, _)| *q == p);
        if has(Phase::Response) && (has(Phase::HeaderFilter) || has(Phase::BodyFilter)) {
            return Err(format!(
                "Plugin {name} can't be loaded because it implements both `response` and `header_filter` or `body_filter` methods."
            ));
        }
        let schema_table: Table = require
            .call(format!("kong.plugins.{name}.schema"))
            .map_err(|e| fail("schema", &e))?;
        let schema =
            PluginSchema::from_lua(lua, name, schema_table).map_err(|e| fail("schema", &e))?;
        Ok(Handler::new(
            name,
            priority,
            Code::Lua { table, fns },
            schema,
        ))
    }

    /// A plugin served by a plugin server. Phases Sluice has no use for (`certificate`,
    /// `preread`) are ignored; the version is not checked, as Kong does not for external plugins.
    pub fn external(info: &PluginInfo, client: Rc<Client>) -> Result<Handler, String> {
        let phases = Phase::ALL
            .into_iter()
            .filter(|p| info.phases.iter().any(|n| n == p.name()))
            .collect();
        let schema = PluginSchema::from_json(&info.name, &info.schema).map_err(|e| {
            format!(
                "plugin '{}' cannot be loaded: schema from its plugin server: {e}",
                info.name
            )
        })?;
        let code = Code::External { client, phases };
        Ok(Handler::new(&info.name, info.priority, code, schema))
    }

    fn new(name: &str, priority: i64, code: Code, schema: PluginSchema) -> Handler {
        let r = schema.restrictions();
        Handler {
            name: name.into(),
            priority,
            code,
            no_consumer: r.no_consumer,
            no_route: r.no_route,
            no_service: r.no_service,
            no_consumer_group: r.no_consumer_group,
            schema,
        }
    }

    pub fn has(&self, phase: Phase) -> bool {
        match &self.code {
            Code::Lua { fns, .. } => fns.iter().any(|(p, _)| *p == phase),
            Code::External { phases, .. } => phases.contains(&phase),
        }
    }

    /// The Lua method for `phase` and the handler table it is called on.
    pub fn get(&self, phase: Phase) -> Option<(&Table, &Function)> {
        match &self.code {
            Code::Lua { table, fns } => fns
                .iter()
                .find(|(p, _)| *p == phase)
                .map(|(_, f)| (table, f)),
            Code::External { .. } => None,
        }
    }

    /// Calls a phase method that must not yield (`init_worker`, `configure`, the filters, `log`);
    /// a Lua error is logged with its traceback and the gateway goes on, as Kong does.
    pub fn call_sync(&self, phase: Phase, arg: impl IntoLuaMulti) -> bool {
        let Some((table, f)) = self.get(phase) else {
            return true;
        };
        match f.call::<()>((table.clone(), arg)) {
            Ok(()) => true,
            Err(e) => {
                sluice_log::error!(
                    "failed to run {} of plugin '{}': {e}",
                    phase.name(),
                    self.name
                );
                false
            }
        }
    }
}

fn is_semver(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}
