//! The plugins of one configuration generation: loaded handlers (Kong's `handler.lua` contract),
//! their configured instances with validated `conf` tables, and the lookup that picks the one
//! instance of each plugin that applies to a request (Kong's scope precedence).

mod conf;
mod handler;
mod lookup;

use std::collections::HashMap;
use std::rc::Rc;

use mlua::{Lua, Table};
use sluice_conf::{Checked, Plugin as PluginEntity};
use sluice_pluginserver::info::Served;
use sluice_pluginserver::{Client, ClientConfig, InstanceConfig, PluginScope};

pub use handler::{Code, Handler};
pub use lookup::Scope;

use crate::runloop::Phase;

/// One configured plugin instance (a `plugins` entity), ready to run.
pub struct Instance {
    /// Shared with the request state of every call (`kong.plugin.get_id`) without a copy.
    pub id: Rc<str>,
    pub handler: usize,
    /// The `conf` table handlers receive: one stable table per instance per generation (plugins
    /// cache by it).
    pub conf: Table,
    pub route: Option<String>,
    pub service: Option<String>,
    pub consumer: Option<String>,
    pub consumer_group: Option<String>,
    /// Dynamic ordering for the access phase: plugin names this one must run before / after.
    pub before: Vec<String>,
    pub after: Vec<String>,
    /// For a plugin served by a plugin server: what `plugin.StartInstance` sends.
    pub external: Option<InstanceConfig>,
}

/// The worker's Lua VM with the PDK installed, if any plugin is enabled (a gateway without plugins
/// runs no Lua at all). `worker` is `None` for the throwaway VM of a config check.
pub fn vm(
    config: &Checked,
    worker: Option<usize>,
    zones: &sluice_shdict::ZoneSet,
) -> Result<Option<Lua>, String> {
    if config.node.plugins.names.is_empty() {
        return Ok(None);
    }
    let node = &config.node;
    let opts = sluice_lua::VmOptions {
        lua_package_path: node.lua_package_path.clone(),
        lua_package_cpath: node.lua_package_cpath.clone(),
        worker_id: worker.map(|w| w as u32),
        worker_count: node.worker_processes as u32,
        prefix: node.prefix.display().to_string(),
        shared_dicts: zones.iter().cloned().collect(),
        ..Default::default()
    };
    let lua = sluice_lua::new_vm(&opts).map_err(|e| format!("cannot create the Lua VM: {e}"))?;
    sluice_schema::install(&lua).map_err(|e| format!("cannot install the schema library: {e}"))?;
    crate::pdk::install(&lua, config).map_err(|e| format!("cannot install the PDK: {e}"))?;
    Ok(Some(lua))
}

/// A generation's plugins. Handlers are sorted the way Kong runs them: descending `PRIORITY`,
/// ties by name (the later name first).
pub struct Plugins {
    pub lua: Lua,
    pub handlers: Vec<Handler>,
    pub instances: Vec<Instance>,
    lookup: Vec<lookup::Lookup>,
    /// Per phase: global instances of plugins that implement it, in run order.
    globals: HashMap<u32, Vec<usize>>,
    /// Whether any instance uses `ordering` (otherwise the access phase runs by priority alone).
    pub any_ordering: bool,
    /// How external plugins reach the PDK; `None` when no plugin is external.
    pub api: Option<crate::plugin_servers::Api>,
}

impl Plugins {
    /// Loads every enabled plugin (into `lua`, or as served by a plugin server) and validates
    /// every configured instance; returns every problem found, naming the plugin and the entity.
    pub fn load(lua: Lua, config: &Checked, served: &[Served]) -> Result<Plugins, Vec<String>> {
        let mut errors = Vec::new();
        let mut handlers = Vec::new();
        let clients: Vec<Rc<Client>> = served
            .iter()
            .map(|s| {
                let mut config = ClientConfig::new(&s.server.socket);
                config.extensions = s.extensions;
                Rc::new(Client::new(config))
            })
            .collect();
        for name in &config.node.plugins.names {
            let external = served.iter().zip(&clients).find_map(|(s, client)| {
                let info = s.plugins.iter().find(|p| &p.name == name)?;
                Some(Handler::external(info, client.clone()))
            });
            match external.unwrap_or_else(|| Handler::load(&lua, name)) {
                Ok(h) => handlers.push(h),
                Err(e) => errors.push(e),
            }
        }
        handlers.sort_by(|a, b| {
            b.priority
                .cmp(&a.priority)
                .then_with(|| b.name.cmp(&a.name))
        });
        let index: HashMap<&str, usize> = handlers
            .iter()
            .enumerate()
            .map(|(i, h)| (&*h.name, i))
            .collect();
        let mut instances = Vec::new();
        for (i, entity) in config
            .declarative
            .plugins
            .iter()
            .enumerate()
            .filter(|(_, p)| p.enabled)
        {
            let Some(&h) = index.get(entity.name.as_str()) else {
                errors.push(format!(
                    "plugins[{i}]: {} plugin is in use but not enabled",
                    entity.name
                ));
                continue;
            };
            match instance(&lua, &handlers[h], h, i, entity) {
                Ok(inst) => instances.push(inst),
                Err(mut e) => errors.append(&mut e),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let lookup = lookup::Lookup::build(&handlers, &instances);
        let mut globals: HashMap<u32, Vec<usize>> = HashMap::new();
        for phase in Phase::ALL {
            let mut list: Vec<usize> = (0..instances.len())
                .filter(|&i| instances[i].is_global() && handlers[instances[i].handler].has(phase))
                .collect();
            list.sort_by_key(|&i| instances[i].handler);
            globals.insert(phase.bit(), list);
        }
        let any_ordering = instances
            .iter()
            .any(|i| !i.before.is_empty() || !i.after.is_empty());
        let api = match clients.is_empty() {
            true => None,
            false => Some(
                crate::plugin_servers::Api::new(&lua)
                    .map_err(|e| vec![format!("cannot load the external plugin API: {e}")])?,
            ),
        };
        Ok(Plugins {
            api,
            lua,
            handlers,
            instances,
            lookup,
            globals,
            any_ordering,
        })
    }

    /// Global instances that implement `phase`, in run order.
    pub fn globals(&self, phase: Phase) -> &[usize] {
        self.globals.get(&phase.bit()).map_or(&[], Vec::as_slice)
    }

    /// Global instances with a downstream handler, for responses made before access ran (no
    /// route, or a short-circuit in rewrite), as Kong falls back to.
    pub fn globals_any_downstream(&self) -> Vec<usize> {
        let downstream = [
            Phase::Response,
            Phase::HeaderFilter,
            Phase::BodyFilter,
            Phase::Log,
        ];
        let mut list: Vec<usize> = (0..self.instances.len())
            .filter(|&i| {
                let inst = &self.instances[i];
                inst.is_global()
                    && downstream
                        .iter()
                        .any(|&p| self.handlers[inst.handler].has(p))
            })
            .collect();
        list.sort_by_key(|&i| self.instances[i].handler);
        list
    }

    /// Whether any of `instances` has a `body_filter` handler.
    pub fn filters_body(&self, instances: &[usize]) -> bool {
        self.any_has(instances, &[Phase::BodyFilter])
    }

    /// Whether any of `instances` has a handler for one of `phases`.
    pub fn any_has(&self, instances: &[usize], phases: &[Phase]) -> bool {
        instances.iter().any(|&i| {
            let handler = &self.handlers[self.instances[i].handler];
            phases.iter().any(|&p| handler.has(p))
        })
    }

    /// The instance of handler `h` that applies in `scope`, by Kong's precedence.
    pub fn resolve(&self, h: usize, scope: &Scope) -> Option<usize> {
        self.lookup[h].resolve(&self.handlers[h], scope)
    }

    /// Whether any instance is configured at all (a gateway without plugins skips Lua entirely).
    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
    }

    /// Closes the instances this worker started on plugin servers (a retiring worker's
    /// configs are dropped, as Kong closes instances a reload drops). Errors are logged.
    pub async fn close_instances(&self) {
        let mut clients: Vec<&Rc<Client>> = Vec::new();
        for h in &self.handlers {
            if let Code::External { client, .. } = &h.code {
                if !clients.iter().any(|c| Rc::ptr_eq(c, client)) {
                    clients.push(client);
                }
            }
        }
        for client in clients {
            if let Err(e) = client.close_instances(&|_| false).await {
                sluice_log::warn!("closing plugin instances: {e}");
            }
        }
    }

    /// Runs every handler's `init_worker`, then `configure` with the handler's active confs, as
    /// Kong does after a worker starts. Errors are logged, never fatal.
    pub fn init_worker(&self) {
        for h in &self.handlers {
            h.call_sync(Phase::InitWorker, ());
        }
        for (i, h) in self.handlers.iter().enumerate() {
            if !h.has(Phase::Configure) {
                continue;
            }
            let confs: Vec<Table> = self
                .instances
                .iter()
                .filter(|x| x.handler == i)
                .map(|x| x.conf.clone())
                .collect();
            let arg = if confs.is_empty() {
                mlua::Value::Nil
            } else {
                self.lua
                    .create_sequence_from(confs)
                    .map(mlua::Value::Table)
                    .unwrap_or(mlua::Value::Nil)
            };
            h.call_sync(Phase::Configure, arg);
        }
    }
}

impl Instance {
    fn is_global(&self) -> bool {
        self.route.is_none()
            && self.service.is_none()
            && self.consumer.is_none()
            && self.consumer_group.is_none()
    }
}

/// Validates one plugin entity against its schema and builds its `conf` table.
fn instance(
    lua: &Lua,
    handler: &Handler,
    h: usize,
    index: usize,
    entity: &PluginEntity,
) -> Result<Instance, Vec<String>> {
    let id = |x: &Option<uuid::Uuid>| x.map(|u| u.to_string());
    let (conf, json) = conf::build(lua, handler, entity)?;
    let external = match (&handler.code, json) {
        (Code::External { .. }, serde_json::Value::Object(config)) => {
            let scope = PluginScope {
                plugin_id: entity.id.to_string(),
                route_id: id(&entity.route_id),
                service_id: id(&entity.service_id),
                consumer_id: id(&entity.consumer_id),
                instance_name: entity.instance_name.clone(),
                ws_id: None,
                // Kong's node-wide counter; one per entity of this config.
                seq: index as u64 + 1,
            };
            Some(InstanceConfig::new(&entity.name, &config, &scope))
        }
        _ => None,
    };
    let (before, after) = conf::ordering(entity).map_err(|e| {
        vec![format!(
            "plugin {} ({}): ordering: {e}",
            entity.name, entity.id
        )]
    })?;
    Ok(Instance {
        id: entity.id.to_string().into(),
        handler: h,
        conf,
        route: id(&entity.route_id),
        service: id(&entity.service_id),
        consumer: id(&entity.consumer_id),
        consumer_group: id(&entity.consumer_group_id),
        before,
        after,
        external,
    })
}
