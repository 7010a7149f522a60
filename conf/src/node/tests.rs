use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Writes `text` to a fresh file under the system temp dir.
fn conf_file(text: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "sluice-conf-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sluice.conf");
    std::fs::write(&path, text).unwrap();
    path
}

fn opts(file: Option<&str>, env: &[(&str, &str)]) -> LoadOptions {
    LoadOptions {
        conf_path: file.map(conf_file),
        prefix: None,
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn load(file: &str) -> NodeConfig {
    NodeConfig::load(&opts(Some(file), &[])).unwrap_or_else(|e| panic!("{e}"))
}

fn errors(file: &str, env: &[(&str, &str)]) -> Vec<String> {
    let o = opts(Some(file), env);
    let path = o.conf_path.clone().unwrap().display().to_string();
    NodeConfig::load(&o)
        .expect_err("expected errors")
        .iter()
        .map(|e| e.to_string().replace(&path, "FILE"))
        .collect()
}

fn addr(s: &str) -> std::net::SocketAddr {
    s.parse().unwrap()
}

#[test]
fn built_in_defaults() {
    let c = NodeConfig::load(&opts(None, &[])).unwrap_or_else(|e| panic!("{e}"));
    let cwd = std::env::current_dir().unwrap();
    let prefix = cwd.join("sluice-prefix");
    assert_eq!(c.conf_path, None);
    assert_eq!(c.prefix, prefix);
    assert_eq!(c.proxy_listen.len(), 1);
    assert_eq!(c.proxy_listen[0].addr, addr("0.0.0.0:8000"));
    assert!(c.proxy_listen[0].reuseport);
    assert_eq!(c.proxy_listen[0].backlog, Some(16384));
    assert_eq!(c.admin_listen[0].addr, addr("127.0.0.1:8001"));
    assert_eq!(c.status_listen[0].addr, addr("127.0.0.1:8007"));
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    assert_eq!(c.worker_processes, cpus);
    assert_eq!(c.declarative_config, DeclarativeSource::Embedded);
    assert_eq!(c.log_level, LogLevel::Notice);
    assert_eq!(
        c.proxy_access_log,
        LogTarget::File(prefix.join("logs/access.log"))
    );
    assert_eq!(
        c.proxy_error_log,
        LogTarget::File(prefix.join("logs/error.log"))
    );
    assert_eq!(
        c.admin_access_log,
        LogTarget::File(prefix.join("logs/admin_access.log"))
    );
    assert_eq!(
        c.admin_error_log,
        LogTarget::File(prefix.join("logs/error.log"))
    );
    assert_eq!(c.status_access_log, LogTarget::Off);
    assert_eq!(
        c.status_error_log,
        LogTarget::File(prefix.join("logs/status_error.log"))
    );
    assert_eq!(
        c.plugins,
        Plugins {
            bundled: true,
            names: vec![]
        }
    );
    assert_eq!(c.lua_package_path, "./?.lua;./?/init.lua;");
    assert_eq!(c.lua_package_cpath, "");
    assert_eq!(c.lua_shared_dict.len(), 10);
    assert_eq!(c.mem_cache_size, 128 << 20);
    assert_eq!(
        c.nginx_main_worker_shutdown_timeout,
        Duration::from_secs(10)
    );
    assert_eq!(c.upstream_keepalive_pool_size, 512);
    assert_eq!(c.upstream_keepalive_max_requests, 10000);
    assert_eq!(c.upstream_keepalive_idle_timeout, Duration::from_secs(60));
    assert_eq!(c.real_ip_header, "X-Real-IP");
    assert!(!c.real_ip_recursive);
    assert!(c.trusted_ips.is_empty());
    assert!(c.headers.server && c.headers.via && c.headers.request_id && c.headers.proxy_latency);
    assert!(!c.headers.upstream_status);
    assert!(c.headers_upstream.request_id && !c.headers_upstream.via);
    assert_eq!(
        c.nginx_http_large_client_header_buffers,
        HeaderBuffers {
            number: 4,
            size: 8192
        }
    );
    assert!(c.pluginservers.is_empty());
    assert_eq!(c.properties["worker_processes"], "auto");
    assert_eq!(c.properties.len(), settings::KEYS.len());
}

#[test]
fn default_file_documents_every_property_exactly_once() {
    let documented = lines::commented_settings(DEFAULT_NODE_CONF);
    for key in settings::KEYS {
        let n = documented.iter().filter(|l| l.key == key).count();
        assert_eq!(n, 1, "{key} is documented {n} times in sluice.conf.default");
    }
    for line in &documented {
        assert!(
            settings::KEYS.contains(&line.key.as_str()),
            "{} is not a property",
            line.key
        );
    }
    // Uncommented, the default file is itself a valid config with the same result.
    let uncommented: String = DEFAULT_NODE_CONF
        .lines()
        .map(|l| match l.strip_prefix('#') {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_lowercase()) => rest,
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let from_file = load(&uncommented);
    let builtin = NodeConfig::load(&opts(None, &[])).unwrap();
    assert_eq!(from_file.properties, builtin.properties);
    assert_eq!(from_file.proxy_listen, builtin.proxy_listen);
}

#[test]
fn file_values_are_typed() {
    let c = load(
        "prefix = /srv/sluice\n\
         proxy_listen = 127.0.0.1:9000, [::1]:9000 http2\n\
         admin_listen = off\n\
         status_listen = 127.0.0.1:9100\n\
         nginx_worker_processes = 3\n\
         declarative_config = /etc/kong.yml\n\
         log_level = debug\n\
         proxy_access_log = /dev/stdout\n\
         proxy_error_log = /var/log/sluice/error.log\n\
         admin_access_log = off\n\
         plugins = bundled, my-plugin, my-plugin, other_one\n\
         lua_package_path = /opt/lua/?.lua;;\n\
         lua_shared_dict = my_cache 2m, kong 6m\n\
         mem_cache_size = 64m\n\
         worker_shutdown_timeout = 1m30s\n\
         upstream_keepalive_pool_size = 0\n\
         upstream_keepalive_max_requests = 100\n\
         upstream_keepalive_idle_timeout = 5s\n\
         real_ip_header = X-Forwarded-For\n\
         real_ip_recursive = on\n\
         trusted_ips = 10.0.0.0/8, ::1\n\
         headers = off\n\
         headers_upstream = off\n\
         nginx_http_large_client_header_buffers = 2 16k\n",
    );
    assert_eq!(c.prefix, PathBuf::from("/srv/sluice"));
    assert_eq!(c.proxy_listen.len(), 2);
    assert!(c.proxy_listen[1].http2);
    assert!(c.admin_listen.is_empty());
    assert_eq!(c.status_listen[0].addr, addr("127.0.0.1:9100"));
    assert_eq!(c.worker_processes, 3);
    assert_eq!(
        c.declarative_config,
        DeclarativeSource::File("/etc/kong.yml".into())
    );
    assert_eq!(c.log_level, LogLevel::Debug);
    assert_eq!(c.proxy_access_log, LogTarget::Stdout);
    assert_eq!(
        c.proxy_error_log,
        LogTarget::File("/var/log/sluice/error.log".into())
    );
    assert_eq!(c.admin_access_log, LogTarget::Off);
    assert_eq!(
        c.admin_error_log,
        LogTarget::File("/srv/sluice/logs/error.log".into())
    );
    assert_eq!(
        c.plugins,
        Plugins {
            bundled: true,
            names: vec!["my-plugin".into(), "other_one".into()]
        }
    );
    assert_eq!(c.lua_package_path, "/opt/lua/?.lua;;");
    let dict = |n: &str| {
        c.lua_shared_dict
            .iter()
            .find(|d| d.name == n)
            .map(|d| d.size)
    };
    assert_eq!(dict("my_cache"), Some(2 << 20));
    assert_eq!(dict("kong"), Some(6 << 20));
    assert_eq!(dict("kong_db_cache"), Some(64 << 20));
    assert_eq!(
        c.nginx_main_worker_shutdown_timeout,
        Duration::from_secs(90)
    );
    assert_eq!(c.upstream_keepalive_pool_size, 0);
    assert_eq!(c.upstream_keepalive_max_requests, 100);
    assert_eq!(c.upstream_keepalive_idle_timeout, Duration::from_secs(5));
    assert_eq!(c.real_ip_header, "X-Forwarded-For");
    assert!(c.real_ip_recursive);
    assert_eq!(
        c.trusted_ips,
        vec!["10.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()]
    );
    assert_eq!(c.headers, ProxyHeaders::default());
    assert_eq!(c.headers_upstream, ProxyHeaders::default());
    assert_eq!(
        c.nginx_http_large_client_header_buffers,
        HeaderBuffers {
            number: 2,
            size: 16384
        }
    );
    assert_eq!(c.properties["worker_processes"], "3");
}

#[test]
fn every_bad_value_is_reported_with_file_line_and_key() {
    let shown = errors(
        "log_level = loud\n\
         worker_processes = many\n\
         # a comment line\n\
         proxy_listen = 0.0.0.0:8000 proxy_protocol\n\
         colour = blue\n\
         mem_cache_size = lots\n\
         real_ip_recursive = maybe\n\
         trusted_ips = 10.0.0.0/40\n\
         plugins = Bad Name\n\
         headers = X-Nope\n\
         nginx_http_large_client_header_buffers = 4\n\
         database = postgres\n\
         router_flavor = expressions\n\
         upstream_keepalive_pool_size = -1\n\
         nginx_main_worker_shutdown_timeout = soon\n\
         lua_shared_dict = tiny 1k\n\
         prefix =\n\
         proxy_error_log = \n\
         untrusted_lua = maybe\n",
        &[],
    );
    assert_eq!(
        shown,
        vec![
            "FILE:5: colour: unknown property",
            "FILE:17: prefix: must not be empty",
            "FILE:12: database: only 'off' is supported, got 'postgres'",
            "FILE:13: router_flavor: only 'traditional_compatible' is supported, got 'expressions'",
            "FILE:19: untrusted_lua: expected 'on', 'off' or 'sandbox', got 'maybe'",
            "FILE:6: mem_cache_size: invalid size 'lots' (expected e.g. 512, 8k, 5m, 1g)",
            "FILE:4: proxy_listen: the 'proxy_protocol' flag is not supported yet",
            "FILE:2: worker_processes: expected 'auto' or an integer between 1 and 1024, got 'many'",
            "FILE:1: log_level: unknown log level 'loud' (expected debug, info, notice, warn, error, crit, alert or emerg)",
            "FILE:18: proxy_error_log: expected a path, /dev/stdout, /dev/stderr or off",
            "FILE:9: plugins: invalid plugin name 'Bad Name'",
            "FILE:16: lua_shared_dict: invalid lua shared dict size for 'tiny': 1024 bytes (at least 8k)",
            "FILE:15: nginx_main_worker_shutdown_timeout: invalid time 'soon' (expected e.g. 10s, 500ms, 1m30s, or seconds)",
            "FILE:14: upstream_keepalive_pool_size: expected an integer between 0 and 4294967295, got '-1'",
            "FILE:7: real_ip_recursive: expected 'on', 'off', 'true' or 'false', got 'maybe'",
            "FILE:8: trusted_ips: invalid ip or cidr range: '10.0.0.0/40'",
            "FILE:10: headers: invalid header 'X-Nope' (expected off, server_tokens, latency_tokens, Server, Via, X-Kong-Proxy-Latency, X-Kong-Response-Latency, X-Kong-Admin-Latency, X-Kong-Upstream-Latency, X-Kong-Upstream-Status or X-Kong-Request-Id)",
            "FILE:11: nginx_http_large_client_header_buffers: expected 'number size' (e.g. 4 8k), got '4'",
        ]
    );
}

#[test]
fn environment_overrides_the_file_and_names_the_variable() {
    let o = opts(
        Some("log_level = warn\nworker_processes = 2\n"),
        &[
            ("SLUICE_LOG_LEVEL", "error"),
            ("SLUICE_PROXY_LISTEN", "127.0.0.1:18000"),
            (
                "SLUICE_DECLARATIVE_CONFIG_STRING",
                "_format_version: \"3.0\"",
            ),
            ("SLUICE_UNRELATED", "ignored"),
        ],
    );
    let c = NodeConfig::load(&o).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.log_level, LogLevel::Error);
    assert_eq!(c.worker_processes, 2);
    assert_eq!(c.proxy_listen[0].addr, addr("127.0.0.1:18000"));
    assert_eq!(
        c.declarative_config,
        DeclarativeSource::Inline("_format_version: \"3.0\"".into())
    );
    assert_eq!(
        errors("", &[("SLUICE_WORKER_PROCESSES", "0")]),
        vec!["env SLUICE_WORKER_PROCESSES: worker_processes: expected 'auto' or an integer between 1 and 1024, got '0'"]
    );
}

#[test]
fn environment_alone_configures_without_a_file() {
    let o = opts(
        None,
        &[
            ("SLUICE_NGINX_WORKER_PROCESSES", "2"),
            ("SLUICE_ADMIN_LISTEN", "off"),
        ],
    );
    let c = NodeConfig::load(&o).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.worker_processes, 2);
    assert!(c.admin_listen.is_empty());
}

#[test]
fn command_line_prefix_moves_relative_paths() {
    let mut o = opts(
        Some("proxy_access_log = logs/a.log\n"),
        &[("SLUICE_PREFIX", "/nope")],
    );
    o.prefix = Some("/run/sl".into());
    let c = NodeConfig::load(&o).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.prefix, PathBuf::from("/run/sl"));
    assert_eq!(
        c.proxy_access_log,
        LogTarget::File("/run/sl/logs/a.log".into())
    );
}

#[test]
fn declarative_sources() {
    let cwd = std::env::current_dir().unwrap();
    let c = load("declarative_config = conf/kong.yml\n");
    assert_eq!(
        c.declarative_config,
        DeclarativeSource::File(cwd.join("conf/kong.yml"))
    );
    let c = load(
        "declarative_config = /a.yml\ndeclarative_config_string = {\"_format_version\":\"3.0\"}\n",
    );
    assert_eq!(
        c.declarative_config,
        DeclarativeSource::Inline("{\"_format_version\":\"3.0\"}".into())
    );
}

#[test]
fn plugin_servers() {
    let c = load(
        "prefix = /pfx\n\
         pluginserver_names = go-hello, Py\n\
         pluginserver_go_hello_socket = /run/go.sock\n\
         pluginserver_go_hello_start_cmd = /opt/go-hello -kong-prefix /pfx\n\
         pluginserver_go_hello_query_cmd = /opt/go-hello -dump\n",
    );
    assert_eq!(
        c.pluginservers,
        vec![
            PluginServer {
                name: "go-hello".into(),
                socket: "/run/go.sock".into(),
                start_cmd: Some("/opt/go-hello -kong-prefix /pfx".into()),
                query_cmd: Some("/opt/go-hello -dump".into()),
            },
            PluginServer {
                name: "py".into(),
                socket: "/pfx/py.socket".into(),
                start_cmd: None,
                query_cmd: None,
            },
        ]
    );
    assert_eq!(c.properties["pluginserver_go_hello_socket"], "/run/go.sock");
    assert_eq!(
        errors("pluginserver_names = a\npluginserver_b_socket = /x\n", &[]),
        vec!["FILE:2: pluginserver_b_socket: unknown property (its server is not in pluginserver_names)"]
    );
}

#[test]
fn overlapping_listeners_are_refused() {
    let line = DEFAULT_NODE_CONF
        .lines()
        .position(|l| l.starts_with("#admin_listen ="))
        .unwrap()
        + 1;
    assert_eq!(
        errors("proxy_listen = 0.0.0.0:8001\n", &[]),
        vec![format!(
            "sluice.conf.default (built in):{line}: admin_listen: 127.0.0.1:8001 overlaps 0.0.0.0:8001 in proxy_listen"
        )]
    );
    assert_eq!(
        errors(
            "proxy_listen = 127.0.0.1:7000\nstatus_listen = 127.0.0.1:7000\n",
            &[]
        ),
        vec!["FILE:2: status_listen: 127.0.0.1:7000 overlaps 127.0.0.1:7000 in proxy_listen"]
    );
}

#[test]
fn unreadable_file_is_one_error() {
    let o = LoadOptions {
        conf_path: Some("/nonexistent/sluice.conf".into()),
        ..LoadOptions::default()
    };
    let e = NodeConfig::load(&o).unwrap_err();
    assert_eq!(e.len(), 1);
    assert!(e
        .to_string()
        .starts_with("/nonexistent/sluice.conf: cannot read the config file:"));
}

#[test]
fn ssl_listeners_and_certificates() {
    let c = load("proxy_listen = 127.0.0.1:9000, 127.0.0.1:9443 ssl\n");
    assert!(c.has_ssl_listener());
    assert!(c.proxy_listen[1].ssl);
    assert!(c.ssl_cert.is_empty());
    assert_eq!(c.lua_ssl_trusted_certificate, vec![TrustedCa::System]);
    let ssl = c.prefix.join("ssl");
    assert_eq!(
        c.ssl_cert_pairs(),
        vec![(ssl.join("kong-default.crt"), ssl.join("kong-default.key"))]
    );
    let cert = conf_file("not checked here");
    let (crt, key) = (cert.display(), cert.display());
    let c = load(&format!(
        "ssl_cert = {crt}, {crt}\nssl_cert_key = {key},{key}\nlua_ssl_trusted_certificate = off\n"
    ));
    assert_eq!(c.ssl_cert_pairs(), vec![(cert.clone(), cert.clone()); 2]);
    assert!(c.lua_ssl_trusted_certificate.is_empty());
}

#[test]
fn certificate_errors_name_the_key() {
    let cert = conf_file("");
    let shown = errors(
        &format!(
            "admin_listen = 127.0.0.1:9001 ssl\n\
             ssl_cert = /nonexistent/cert.pem\n\
             ssl_cert_key = {}, {}\n\
             lua_ssl_trusted_certificate = system, /nonexistent/ca.pem\n",
            cert.display(),
            cert.display()
        ),
        &[],
    );
    assert_eq!(
        shown,
        vec![
            "FILE:2: ssl_cert: cannot read '/nonexistent/cert.pem': No such file or directory (os error 2)",
            "FILE:4: lua_ssl_trusted_certificate: cannot read '/nonexistent/ca.pem': No such file or directory (os error 2)",
            "FILE:1: admin_listen: the 'ssl' flag is only supported on proxy_listen",
            "FILE:2: ssl_cert: ssl_cert lists 1 file(s) but ssl_cert_key lists 2: each certificate needs its key",
        ]
    );
}
