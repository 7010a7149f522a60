//! Layering of the node config's raw values: built-in defaults, then the config file, then
//! `SLUICE_<KEY>` environment variables, then the command line's `-p`. Every value remembers where
//! it came from so errors can name the file and line or the variable.

use super::{lines, pluginservers};
use crate::error::{ConfError, Errors};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Every property, by its canonical name.
pub(crate) const KEYS: [&str; 38] = [
    "prefix",
    "proxy_listen",
    "admin_listen",
    "status_listen",
    "worker_processes",
    "declarative_config",
    "declarative_config_string",
    "database",
    "router_flavor",
    "log_level",
    "proxy_access_log",
    "proxy_error_log",
    "admin_access_log",
    "admin_error_log",
    "status_access_log",
    "status_error_log",
    "plugins",
    "lua_package_path",
    "lua_package_cpath",
    "lua_shared_dict",
    "mem_cache_size",
    "nginx_main_worker_shutdown_timeout",
    "upstream_keepalive_pool_size",
    "upstream_keepalive_max_requests",
    "upstream_keepalive_idle_timeout",
    "real_ip_header",
    "real_ip_recursive",
    "trusted_ips",
    "headers",
    "headers_upstream",
    "nginx_http_large_client_header_buffers",
    "pluginserver_names",
    "ssl_cert",
    "ssl_cert_key",
    "lua_ssl_trusted_certificate",
    "untrusted_lua",
    "untrusted_lua_sandbox_requires",
    "untrusted_lua_sandbox_environment",
];

/// Other spellings accepted for a property: Kong's and nginx's names.
const ALIASES: [(&str, &str); 2] = [
    ("nginx_worker_processes", "worker_processes"),
    (
        "worker_shutdown_timeout",
        "nginx_main_worker_shutdown_timeout",
    ),
];

/// The name the default file is reported as.
pub(crate) const DEFAULTS_SOURCE: &str = "sluice.conf.default (built in)";

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    Default { line: usize },
    File { path: String, line: usize },
    Env { var: String },
    CommandLine,
}

#[derive(Debug, Clone)]
pub(crate) struct Setting {
    pub value: String,
    pub origin: Origin,
}

/// The effective raw value of every property.
#[derive(Debug, Default)]
pub(crate) struct Settings {
    map: BTreeMap<String, Setting>,
}

impl Settings {
    /// The value of `key`; empty when the key is not set at all.
    pub fn value(&self, key: &str) -> &str {
        self.map.get(key).map_or("", |s| s.value.as_str())
    }

    /// An error about `key`, located where its value came from.
    pub fn error(&self, key: &str, message: impl Into<String>) -> ConfError {
        let (source, line) = match self.map.get(key).map(|s| &s.origin) {
            Some(Origin::Default { line }) => (DEFAULTS_SOURCE.to_string(), Some(*line)),
            Some(Origin::File { path, line }) => (path.clone(), Some(*line)),
            Some(Origin::Env { var }) => (format!("env {var}"), None),
            Some(Origin::CommandLine) => ("command line".to_string(), None),
            None => (DEFAULTS_SOURCE.to_string(), None),
        };
        ConfError {
            source,
            line,
            at: key.to_string(),
            message: message.into(),
        }
    }

    /// Every property's final value, for `kong.configuration`-style introspection.
    pub fn values(&self) -> BTreeMap<String, String> {
        self.map
            .iter()
            .map(|(k, s)| (k.clone(), s.value.clone()))
            .collect()
    }

    fn set(&mut self, key: &str, value: String, origin: Origin) {
        self.map.insert(key.to_string(), Setting { value, origin });
    }
}

/// The canonical name for `key`, if it is a known property or alias.
fn canonical(key: &str) -> Option<&'static str> {
    KEYS.iter().find(|k| **k == key).copied().or_else(|| {
        ALIASES
            .iter()
            .find(|(alias, _)| *alias == key)
            .map(|(_, k)| *k)
    })
}

/// The environment variable overriding `key`.
fn env_var(key: &str) -> String {
    format!("SLUICE_{}", key.to_ascii_uppercase())
}

/// Builds the layered settings; problems are added to `errors`.
pub(crate) fn layer(
    defaults: &str,
    file: Option<(&Path, &str)>,
    env: &HashMap<String, String>,
    prefix: Option<&Path>,
    errors: &mut Errors,
) -> Settings {
    let mut settings = Settings::default();
    for line in lines::commented_settings(defaults) {
        settings.set(&line.key, line.value, Origin::Default { line: line.line });
    }
    if let Some((path, text)) = file {
        apply_file(&mut settings, &path.display().to_string(), text, errors);
    }
    apply_env(&mut settings, env, errors);
    if let Some(prefix) = prefix {
        settings.set("prefix", prefix.display().to_string(), Origin::CommandLine);
    }
    settings
}

fn apply_file(settings: &mut Settings, source: &str, text: &str, errors: &mut Errors) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for line in lines::parse(text, source, errors) {
        let key = match canonical(&line.key) {
            Some(key) => key.to_string(),
            None if pluginservers::is_server_property(&line.key) => line.key.clone(),
            None => {
                errors.push(ConfError {
                    source: source.to_string(),
                    line: Some(line.line),
                    at: line.key,
                    message: "unknown property".into(),
                });
                continue;
            }
        };
        if let Some(first) = seen.insert(key.clone(), line.line) {
            errors.push(ConfError {
                source: source.to_string(),
                line: Some(line.line),
                at: line.key,
                message: format!("'{key}' is already set on line {first}"),
            });
            continue;
        }
        let origin = Origin::File {
            path: source.to_string(),
            line: line.line,
        };
        settings.set(&key, line.value, origin);
    }
}

fn apply_env(settings: &mut Settings, env: &HashMap<String, String>, errors: &mut Errors) {
    for key in KEYS {
        let names = std::iter::once(key).chain(
            ALIASES
                .iter()
                .filter(|(_, canonical)| *canonical == key)
                .map(|(alias, _)| *alias),
        );
        let found: Vec<(String, &String)> = names
            .map(env_var)
            .filter_map(|var| env.get(&var).map(|value| (var, value)))
            .collect();
        match &found[..] {
            [] => {}
            [(var, value)] => settings.set(
                key,
                value.trim().to_string(),
                Origin::Env { var: var.clone() },
            ),
            [(first, _), (second, _), ..] => errors.push(ConfError {
                source: format!("env {second}"),
                line: None,
                at: key.to_string(),
                message: format!("conflicts with {first}; set only one"),
            }),
        }
    }
    // Per-server properties exist only for the servers named, wherever the names came from.
    let names = pluginservers::names(settings.value("pluginserver_names")).unwrap_or_default();
    let mut expected: Vec<String> = Vec::new();
    for name in &names {
        for suffix in pluginservers::SUFFIXES {
            let key = pluginservers::property(name, suffix);
            if let Some(value) = env.get(&env_var(&key)) {
                let origin = Origin::Env { var: env_var(&key) };
                settings.set(&key, value.trim().to_string(), origin);
            }
            expected.push(key);
        }
    }
    let strays: Vec<String> = settings
        .map
        .keys()
        .filter(|k| pluginservers::is_server_property(k) && !expected.contains(k))
        .cloned()
        .collect();
    for key in strays {
        errors.push(settings.error(
            &key,
            "unknown property (its server is not in pluginserver_names)",
        ));
        settings.map.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULTS: &str = "# doc\n#log_level = notice\n#worker_processes = auto\n#pluginserver_names =\n#nginx_main_worker_shutdown_timeout = 10s\n";

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn run(file: &str, env_pairs: &[(&str, &str)]) -> (Settings, Errors) {
        let mut errors = Errors::default();
        let settings = layer(
            DEFAULTS,
            Some((Path::new("/etc/s.conf"), file)),
            &env(env_pairs),
            None,
            &mut errors,
        );
        (settings, errors)
    }

    #[test]
    fn file_overrides_defaults_and_env_overrides_file() {
        let (s, errors) = run(
            "log_level = warn\nworker_processes = 2\n",
            &[("SLUICE_LOG_LEVEL", " debug ")],
        );
        assert!(errors.is_empty(), "{errors}");
        assert_eq!(s.value("log_level"), "debug");
        assert_eq!(s.value("worker_processes"), "2");
        assert_eq!(s.error("log_level", "x").source, "env SLUICE_LOG_LEVEL");
        let e = s.error("worker_processes", "x");
        assert_eq!((e.source.as_str(), e.line), ("/etc/s.conf", Some(2)));
        let e = s.error("nginx_main_worker_shutdown_timeout", "x");
        assert_eq!((e.source.as_str(), e.line), (DEFAULTS_SOURCE, Some(5)));
    }

    #[test]
    fn aliases_map_to_canonical_names() {
        let (s, errors) = run(
            "nginx_worker_processes = 3\nworker_shutdown_timeout = 5s\n",
            &[],
        );
        assert!(errors.is_empty(), "{errors}");
        assert_eq!(s.value("worker_processes"), "3");
        assert_eq!(s.value("nginx_main_worker_shutdown_timeout"), "5s");
        let (s, _) = run("", &[("SLUICE_NGINX_WORKER_PROCESSES", "4")]);
        assert_eq!(s.value("worker_processes"), "4");
    }

    #[test]
    fn unknown_duplicate_and_conflicting_keys_are_errors() {
        let (_, errors) = run(
            "colour = blue\nworker_processes = 1\nnginx_worker_processes = 2\n",
            &[
                ("SLUICE_WORKER_PROCESSES", "1"),
                ("SLUICE_NGINX_WORKER_PROCESSES", "2"),
            ],
        );
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            vec![
                "/etc/s.conf:1: colour: unknown property",
                "/etc/s.conf:3: nginx_worker_processes: 'worker_processes' is already set on line 2",
                "env SLUICE_NGINX_WORKER_PROCESSES: worker_processes: conflicts with SLUICE_WORKER_PROCESSES; set only one",
            ]
        );
    }

    #[test]
    fn pluginserver_properties_follow_the_names() {
        let (s, errors) = run(
            "pluginserver_names = go-hello\npluginserver_go_hello_socket = /run/go.sock\npluginserver_other_query_cmd = x\n",
            &[("SLUICE_PLUGINSERVER_GO_HELLO_START_CMD", "/bin/go-hello")],
        );
        assert_eq!(s.value("pluginserver_go_hello_socket"), "/run/go.sock");
        assert_eq!(s.value("pluginserver_go_hello_start_cmd"), "/bin/go-hello");
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            vec!["/etc/s.conf:3: pluginserver_other_query_cmd: unknown property (its server is not in pluginserver_names)"]
        );
        assert_eq!(s.value("pluginserver_other_query_cmd"), "");
    }

    #[test]
    fn command_line_prefix_wins() {
        let mut errors = Errors::default();
        let s = layer(
            "#prefix = a\n",
            Some((Path::new("f"), "prefix = b\n")),
            &env(&[("SLUICE_PREFIX", "c")]),
            Some(Path::new("d")),
            &mut errors,
        );
        assert_eq!(s.value("prefix"), "d");
        assert_eq!(s.error("prefix", "x").source, "command line");
    }
}
