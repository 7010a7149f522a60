//! Plugin instances: one per plugin entity and config, started on first use
//! (`plugin.StartInstance`), replaced when the config changes, closed when a reload drops it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde_json::{Map, Value};
use tokio::sync::Mutex;

/// Kong's fields injected into every external plugin's config (`get_plugin_config`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginScope {
    /// The plugin entity id (`__plugin_id`); instances are cached under it.
    pub plugin_id: String,
    pub route_id: Option<String>,
    pub service_id: Option<String>,
    pub consumer_id: Option<String>,
    /// The entity's `instance_name` (`plugin_instance_name`).
    pub instance_name: Option<String>,
    /// Workspace id (`__ws_id`), part of the cache key.
    pub ws_id: Option<String>,
    /// `__seq__`: a node-wide counter, new each time the config object is rebuilt.
    pub seq: u64,
}

/// What `plugin.StartInstance` sends for one plugin entity: its name and the config as a
/// JSON string (Kong's `cjson.encode(conf)`). Build it once per config load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceConfig {
    name: String,
    plugin_id: String,
    json: String,
}

impl InstanceConfig {
    /// The plugin's `config` plus Kong's injected fields. Unset scope ids are left out,
    /// as Kong's Lua table drops `nil` fields.
    pub fn new(name: &str, config: &Map<String, Value>, scope: &PluginScope) -> Self {
        let mut conf = config.clone();
        let mut put = |key: &str, value: Option<&String>| {
            if let Some(v) = value {
                conf.insert(key.to_owned(), Value::String(v.clone()));
            }
        };
        put("route_id", scope.route_id.as_ref());
        put("service_id", scope.service_id.as_ref());
        put("consumer_id", scope.consumer_id.as_ref());
        put("plugin_instance_name", scope.instance_name.as_ref());
        put("__plugin_id", Some(&scope.plugin_id));
        put("__ws_id", scope.ws_id.as_ref());
        conf.insert("__key__".into(), Value::String(cache_key(name, scope)));
        conf.insert("__seq__".into(), Value::from(scope.seq));
        InstanceConfig {
            name: name.to_owned(),
            plugin_id: scope.plugin_id.clone(),
            json: Value::Object(conf).to_string(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn plugin_id(&self) -> &str {
        &self.plugin_id
    }

    /// The JSON text sent as `Config`.
    pub fn json(&self) -> &str {
        &self.json
    }
}

/// Kong's plugin cache key: `plugins:<name>:<route>:<service>:<consumer>:<group>:<ws>`.
fn cache_key(name: &str, scope: &PluginScope) -> String {
    let part = |v: &Option<String>| v.clone().unwrap_or_default();
    format!(
        "plugins:{name}:{}:{}:{}::{}",
        part(&scope.route_id),
        part(&scope.service_id),
        part(&scope.consumer_id),
        part(&scope.ws_id)
    )
}

/// A started instance, trusted while `epoch` is current: no instance was reported lost
/// and no restart seen since it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Running {
    pub(crate) id: i64,
    pub(crate) epoch: u64,
    pub(crate) json: String,
}

/// One plugin entity's instance; the lock makes concurrent first uses start it once.
pub(crate) type Slot = Rc<Mutex<Option<Running>>>;

/// The instances a worker started on one plugin server, by plugin entity id.
#[derive(Debug, Default)]
pub(crate) struct Instances {
    slots: RefCell<HashMap<String, Slot>>,
}

impl Instances {
    pub(crate) fn slot(&self, plugin_id: &str) -> Slot {
        self.slots
            .borrow_mut()
            .entry(plugin_id.to_owned())
            .or_default()
            .clone()
    }

    /// Forgets the entities `keep` rejects and hands back their slots, to be closed.
    pub(crate) fn remove_unless(&self, keep: &dyn Fn(&str) -> bool) -> Vec<Slot> {
        let mut slots = self.slots.borrow_mut();
        let dropped: Vec<String> = slots.keys().filter(|id| !keep(id)).cloned().collect();
        dropped
            .into_iter()
            .filter_map(|id| slots.remove(&id))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> PluginScope {
        PluginScope {
            plugin_id: "6a1f0a2e-0000-4000-8000-000000000001".into(),
            route_id: Some("r1".into()),
            seq: 7,
            ..PluginScope::default()
        }
    }

    #[test]
    fn config_carries_kong_fields() {
        let mut config = Map::new();
        config.insert("message".into(), "hi".into());
        config.insert("route_id".into(), "overwritten".into());
        let ic = InstanceConfig::new("py-demo", &config, &scope());
        assert_eq!(ic.name(), "py-demo");
        assert_eq!(ic.plugin_id(), "6a1f0a2e-0000-4000-8000-000000000001");
        let sent: Value = serde_json::from_str(ic.json()).unwrap();
        assert_eq!(sent["message"], "hi");
        assert_eq!(sent["route_id"], "r1");
        assert_eq!(sent["__plugin_id"], "6a1f0a2e-0000-4000-8000-000000000001");
        assert_eq!(sent["__seq__"], 7);
        assert_eq!(sent["__key__"], "plugins:py-demo:r1::::");
        for absent in [
            "service_id",
            "consumer_id",
            "plugin_instance_name",
            "__ws_id",
        ] {
            assert!(sent.get(absent).is_none(), "{absent} should be left out");
        }
    }

    #[test]
    fn cache_key_has_every_part() {
        let s = PluginScope {
            plugin_id: "p".into(),
            route_id: Some("r".into()),
            service_id: Some("s".into()),
            consumer_id: Some("c".into()),
            instance_name: None,
            ws_id: Some("w".into()),
            seq: 1,
        };
        assert_eq!(cache_key("x", &s), "plugins:x:r:s:c::w");
    }

    #[test]
    fn slots_are_shared_and_removable() {
        let instances = Instances::default();
        let a = instances.slot("a");
        assert!(Rc::ptr_eq(&a, &instances.slot("a")));
        let _b = instances.slot("b");
        let removed = instances.remove_unless(&|id| id == "b");
        assert_eq!(removed.len(), 1);
        assert!(Rc::ptr_eq(&removed[0], &a));
        assert!(!Rc::ptr_eq(&a, &instances.slot("a")), "a was forgotten");
    }
}
