//! The node config: Kong's `kong.conf` format and property names, layered as built-in defaults
//! (the commented-out values of the shipped `sluice.conf.default`), then the `-c` file, then
//! `SLUICE_<KEY>` environment variables, then `-p`.

mod certs;
mod dicts;
mod headers;
mod lines;
mod listen;
mod pluginservers;
mod settings;
mod values;

pub use certs::TrustedCa;
pub use dicts::SharedDict;
pub use headers::ProxyHeaders;
pub use listen::{KeepAlive, Listen};
pub use pluginservers::PluginServer;
pub use values::{LogLevel, LogTarget};

use crate::cidr::Cidr;
use crate::error::{ConfError, Errors};
use serde::Serialize;
use settings::Settings;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The shipped, fully commented default node config; its `#key = value` lines are the defaults.
pub const DEFAULT_NODE_CONF: &str = include_str!("../../sluice.conf.default");

/// What to load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `-c FILE`; `None` runs on the built-in defaults (and the environment) alone.
    pub conf_path: Option<PathBuf>,
    /// `-p PREFIX`; wins over the file and the environment, as Kong's `-p`.
    pub prefix: Option<PathBuf>,
    /// The environment consulted for `SLUICE_<KEY>` overrides.
    pub env: HashMap<String, String>,
}

impl LoadOptions {
    /// Options reading overrides from this process's environment.
    pub fn from_process_env(conf_path: Option<PathBuf>, prefix: Option<PathBuf>) -> Self {
        let env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .filter(|(k, _)| k.starts_with("SLUICE_"))
            .collect();
        LoadOptions {
            conf_path,
            prefix,
            env,
        }
    }
}

/// Where the declarative config comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase", tag = "from", content = "value")]
pub enum DeclarativeSource {
    /// Neither `declarative_config` nor `declarative_config_string` is set: the shipped example
    /// `conf/kong.yml`, built in.
    #[default]
    Embedded,
    /// `declarative_config`: a YAML or JSON file (made absolute against the working directory).
    File(PathBuf),
    /// `declarative_config_string`: the config itself; takes precedence over the file, as in Kong.
    Inline(String),
}

/// `plugins = bundled, name, ...`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Plugins {
    /// `bundled` was listed: every plugin shipped with Sluice is enabled.
    pub bundled: bool,
    /// Further plugins, by name, in the order given.
    pub names: Vec<String>,
}

/// nginx's `large_client_header_buffers number size`: a request line or a single header longer
/// than `size`, or headers filling more than `number` buffers, are refused (414 / 494).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct HeaderBuffers {
    pub number: u32,
    pub size: u64,
}

/// The typed node config. Field names are the Kong property names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeConfig {
    /// The `-c` file, absolute; `None` when running on the built-in defaults.
    pub conf_path: Option<PathBuf>,
    /// Absolute; logs, the pid file and sockets live under it.
    pub prefix: PathBuf,
    pub proxy_listen: Vec<Listen>,
    pub admin_listen: Vec<Listen>,
    pub status_listen: Vec<Listen>,
    /// `auto` is resolved to the number of CPUs.
    pub worker_processes: usize,
    pub declarative_config: DeclarativeSource,
    pub log_level: LogLevel,
    pub proxy_access_log: LogTarget,
    pub proxy_error_log: LogTarget,
    pub admin_access_log: LogTarget,
    pub admin_error_log: LogTarget,
    pub status_access_log: LogTarget,
    pub status_error_log: LogTarget,
    pub plugins: Plugins,
    pub lua_package_path: String,
    pub lua_package_cpath: String,
    /// Kong's own zones first, then the user's.
    pub lua_shared_dict: Vec<SharedDict>,
    pub mem_cache_size: u64,
    /// How long a retiring worker may drain in-flight requests.
    pub nginx_main_worker_shutdown_timeout: Duration,
    pub upstream_keepalive_pool_size: u32,
    pub upstream_keepalive_max_requests: u32,
    pub upstream_keepalive_idle_timeout: Duration,
    pub real_ip_header: String,
    pub real_ip_recursive: bool,
    pub trusted_ips: Vec<Cidr>,
    pub headers: ProxyHeaders,
    pub headers_upstream: ProxyHeaders,
    pub nginx_http_large_client_header_buffers: HeaderBuffers,
    pub pluginservers: Vec<PluginServer>,
    /// PEM certificate chains served by `ssl` listeners, one per key type (RSA, ECDSA), each
    /// with its key at the same position in `ssl_cert_key`. Empty: the default certificate.
    pub ssl_cert: Vec<PathBuf>,
    pub ssl_cert_key: Vec<PathBuf>,
    /// What upstream connections with `tls_verify` trust.
    pub lua_ssl_trusted_certificate: Vec<TrustedCa>,
    /// Every property's effective raw value (what Kong exposes as `kong.configuration`).
    pub properties: BTreeMap<String, String>,
}

impl NodeConfig {
    /// Whether a proxy listener has the `ssl` flag.
    pub fn has_ssl_listener(&self) -> bool {
        self.proxy_listen.iter().any(|l| l.ssl)
    }

    /// The self-signed certificate and key served when `ssl_cert` is not set, generated by the
    /// master on first use (Kong's `<prefix>/ssl/kong-default.crt`).
    pub fn default_ssl_cert(&self) -> (PathBuf, PathBuf) {
        let dir = self.prefix.join("ssl");
        (dir.join("kong-default.crt"), dir.join("kong-default.key"))
    }

    /// The certificate and key pairs `ssl` listeners serve.
    pub fn ssl_cert_pairs(&self) -> Vec<(PathBuf, PathBuf)> {
        if self.ssl_cert.is_empty() {
            return vec![self.default_ssl_cert()];
        }
        self.ssl_cert
            .iter()
            .cloned()
            .zip(self.ssl_cert_key.iter().cloned())
            .collect()
    }

    /// Loads, layers and validates; every problem found is returned.
    pub fn load(opts: &LoadOptions) -> Result<NodeConfig, Errors> {
        let mut errors = Errors::default();
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let conf_path = opts.conf_path.as_ref().map(|p| cwd.join(p));
        let text = match &conf_path {
            Some(path) => match std::fs::read_to_string(path) {
                Ok(text) => Some(text),
                Err(e) => {
                    return Err(ConfError {
                        source: path.display().to_string(),
                        line: None,
                        at: String::new(),
                        message: format!("cannot read the config file: {e}"),
                    }
                    .into())
                }
            },
            None => None,
        };
        let file = conf_path.as_deref().zip(text.as_deref());
        let settings = settings::layer(
            DEFAULT_NODE_CONF,
            file,
            &opts.env,
            opts.prefix.as_deref(),
            &mut errors,
        );
        let config = build(&settings, conf_path, &cwd, &mut errors);
        errors.into_result(config)
    }
}

/// Typed reads of settings: a bad value is reported and replaced by `T::default()`, so every
/// property is checked in one pass.
struct Typed<'a> {
    settings: &'a Settings,
    errors: &'a mut Errors,
}

impl Typed<'_> {
    fn get<T: Default>(&mut self, key: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> T {
        parse(self.settings.value(key)).unwrap_or_else(|message| {
            self.errors.push(self.settings.error(key, message));
            T::default()
        })
    }

    /// A value that must be one fixed word (properties kept for Kong compatibility).
    fn only(&mut self, key: &str, allowed: &str) {
        self.get(key, |v| {
            if v == allowed {
                Ok(())
            } else {
                Err(format!("only '{allowed}' is supported, got '{v}'"))
            }
        })
    }
}

fn build(
    settings: &Settings,
    conf_path: Option<PathBuf>,
    cwd: &Path,
    errors: &mut Errors,
) -> NodeConfig {
    let mut t = Typed { settings, errors };
    let prefix = t.get("prefix", |v| {
        if v.is_empty() {
            Err("must not be empty".to_string())
        } else {
            Ok(cwd.join(v))
        }
    });
    t.only("database", "off");
    t.only("router_flavor", "traditional_compatible");
    t.get("untrusted_lua", |v| match v {
        "on" | "off" | "sandbox" => Ok(()),
        other => Err(format!("expected 'on', 'off' or 'sandbox', got '{other}'")),
    });
    let mem_cache_size = t.get("mem_cache_size", values::size);
    let pluginserver_names = t.get("pluginserver_names", pluginservers::names);
    let pluginservers = pluginserver_names
        .iter()
        .map(|name| {
            let value = |suffix| settings.value(&pluginservers::property(name, suffix));
            pluginservers::server(
                name,
                value("socket"),
                value("start_cmd"),
                value("query_cmd"),
                &prefix,
            )
        })
        .collect();
    let log = |t: &mut Typed, key: &str| t.get(key, |v| values::log_target(v, &prefix));
    let config = NodeConfig {
        proxy_listen: t.get("proxy_listen", listen::parse_list),
        admin_listen: t.get("admin_listen", listen::parse_list),
        status_listen: t.get("status_listen", listen::parse_list),
        worker_processes: t.get("worker_processes", worker_processes),
        declarative_config: declarative_source(&mut t, cwd),
        log_level: t.get("log_level", str::parse),
        proxy_access_log: log(&mut t, "proxy_access_log"),
        proxy_error_log: log(&mut t, "proxy_error_log"),
        admin_access_log: log(&mut t, "admin_access_log"),
        admin_error_log: log(&mut t, "admin_error_log"),
        status_access_log: log(&mut t, "status_access_log"),
        status_error_log: log(&mut t, "status_error_log"),
        plugins: t.get("plugins", plugins),
        lua_package_path: settings.value("lua_package_path").to_string(),
        lua_package_cpath: settings.value("lua_package_cpath").to_string(),
        lua_shared_dict: t.get("lua_shared_dict", |v| dicts::parse(v, mem_cache_size)),
        mem_cache_size,
        nginx_main_worker_shutdown_timeout: t
            .get("nginx_main_worker_shutdown_timeout", values::duration),
        upstream_keepalive_pool_size: t.get("upstream_keepalive_pool_size", |v| {
            values::integer(v, 0, u32::MAX)
        }),
        upstream_keepalive_max_requests: t.get("upstream_keepalive_max_requests", |v| {
            values::integer(v, 0, u32::MAX)
        }),
        upstream_keepalive_idle_timeout: t.get("upstream_keepalive_idle_timeout", values::duration),
        real_ip_header: t.get("real_ip_header", real_ip_header),
        real_ip_recursive: t.get("real_ip_recursive", values::boolean),
        trusted_ips: t.get("trusted_ips", |v| {
            values::list(v).iter().map(|s| s.parse()).collect()
        }),
        headers: t.get("headers", |v| headers::parse(v, headers::Scope::Downstream)),
        headers_upstream: t.get("headers_upstream", |v| {
            headers::parse(v, headers::Scope::Upstream)
        }),
        nginx_http_large_client_header_buffers: t
            .get("nginx_http_large_client_header_buffers", header_buffers),
        pluginservers,
        ssl_cert: t.get("ssl_cert", |v| certs::files(v, cwd)),
        ssl_cert_key: t.get("ssl_cert_key", |v| certs::files(v, cwd)),
        lua_ssl_trusted_certificate: t
            .get("lua_ssl_trusted_certificate", |v| certs::trusted(v, cwd)),
        properties: settings.values(),
        conf_path,
        prefix,
    };
    check_listen_overlaps(&config, settings, errors);
    check_ssl(&config, settings, errors);
    config
}

fn worker_processes(v: &str) -> Result<usize, String> {
    if v == "auto" {
        return Ok(std::thread::available_parallelism().map_or(1, usize::from));
    }
    v.parse::<usize>()
        .ok()
        .filter(|n| (1..=1024).contains(n))
        .ok_or_else(|| format!("expected 'auto' or an integer between 1 and 1024, got '{v}'"))
}

fn declarative_source(t: &mut Typed, cwd: &Path) -> DeclarativeSource {
    let inline = t.settings.value("declarative_config_string");
    let file = t.settings.value("declarative_config");
    if !inline.is_empty() {
        DeclarativeSource::Inline(inline.to_string())
    } else if !file.is_empty() {
        DeclarativeSource::File(cwd.join(file))
    } else {
        DeclarativeSource::Embedded
    }
}

fn plugins(v: &str) -> Result<Plugins, String> {
    let mut plugins = Plugins::default();
    if v == "off" {
        return Ok(plugins);
    }
    for name in values::list(v) {
        if name == "bundled" {
            plugins.bundled = true;
        } else if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(format!("invalid plugin name '{name}'"));
        } else if !plugins.names.contains(&name) {
            plugins.names.push(name);
        }
    }
    Ok(plugins)
}

fn real_ip_header(v: &str) -> Result<String, String> {
    match v {
        "proxy_protocol" => Err("'proxy_protocol' is not supported yet".into()),
        v if !v.is_empty()
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Ok(v.to_string())
        }
        v => Err(format!("invalid header name '{v}'")),
    }
}

fn header_buffers(v: &str) -> Result<HeaderBuffers, String> {
    let words: Vec<&str> = v.split_whitespace().collect();
    let [number, size] = words[..] else {
        return Err(format!("expected 'number size' (e.g. 4 8k), got '{v}'"));
    };
    Ok(HeaderBuffers {
        number: values::integer(number, 1, 1024)?,
        size: values::size(size).and_then(|s| {
            if s >= 1024 {
                Ok(s)
            } else {
                Err(format!("buffer size must be at least 1k, got '{size}'"))
            }
        })?,
    })
}

/// `ssl` is served on the proxy only, and every certificate needs its key.
fn check_ssl(config: &NodeConfig, settings: &Settings, errors: &mut Errors) {
    for (key, list) in [
        ("admin_listen", &config.admin_listen),
        ("status_listen", &config.status_listen),
    ] {
        if list.iter().any(|l| l.ssl) {
            errors.push(settings.error(key, "the 'ssl' flag is only supported on proxy_listen"));
        }
    }
    // Counted on the raw values, so an unreadable file is not reported twice.
    let count = |key| values::list(settings.value(key)).len();
    let (certs, keys) = (count("ssl_cert"), count("ssl_cert_key"));
    if certs != keys {
        let key = if certs > keys {
            "ssl_cert_key"
        } else {
            "ssl_cert"
        };
        errors.push(settings.error(
            key,
            format!("ssl_cert lists {certs} file(s) but ssl_cert_key lists {keys}: each certificate needs its key"),
        ));
    }
}

/// Two listeners of the node on one port would silently share connections; refuse that.
fn check_listen_overlaps(config: &NodeConfig, settings: &Settings, errors: &mut Errors) {
    let lists = [
        ("proxy_listen", &config.proxy_listen),
        ("admin_listen", &config.admin_listen),
        ("status_listen", &config.status_listen),
    ];
    for (i, (key, list)) in lists.iter().enumerate() {
        for (other_key, other) in &lists[i + 1..] {
            for l in list.iter() {
                if let Some(o) = other.iter().find(|o| listen::overlaps(&l.addr, &o.addr)) {
                    errors.push(settings.error(
                        other_key,
                        format!("{} overlaps {} in {key}", o.addr, l.addr),
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
