//! `sluice-conf`: Sluice's two configurations, parsed, defaulted and validated into typed models.
//!
//! - The node config ([`NodeConfig`]): Kong's `kong.conf` format and property names.
//! - The declarative config ([`DeclarativeConfig`]): Kong's DB-less `kong.yml` (YAML or JSON).
//!
//! Loading never stops at the first problem: [`check`] returns every error, each naming its file
//! and line, environment variable, or entity path.
#![forbid(unsafe_code)]

mod cidr;
mod declarative;
mod error;
mod node;

pub use cidr::Cidr;
pub use declarative::{
    credential_entities, CaCertificate, Certificate, Consumer, ConsumerGroup,
    ConsumerGroupConsumer, DeclarativeConfig, PathHandling, Plugin, Protocol, Route, Service, Sni,
    Target, Upstream, DEFAULT_DECLARATIVE_CONF,
};
pub use error::{ConfError, Errors};
pub use node::{
    DeclarativeSource, HeaderBuffers, KeepAlive, Listen, LoadOptions, LogLevel, LogTarget,
    NodeConfig, PluginServer, Plugins, ProxyHeaders, SharedDict, TrustedCa, DEFAULT_NODE_CONF,
};

/// Both configurations of a node, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub node: NodeConfig,
    pub declarative: DeclarativeConfig,
}

/// Loads the node config (file or built-in defaults, then the environment, then `-p`), then the
/// declarative config it names. This is `sluice check`, and what start and reload run. When the
/// node config has errors the declarative config is not read (its location may be wrong).
pub fn check(opts: &LoadOptions) -> Result<Checked, Errors> {
    let node = NodeConfig::load(opts)?;
    let declarative = DeclarativeConfig::load(&node.declarative_config)?;
    Ok(Checked { node, declarative })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sluice-check-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn opts(conf: &Path) -> LoadOptions {
        LoadOptions {
            conf_path: Some(conf.to_path_buf()),
            ..LoadOptions::default()
        }
    }

    #[test]
    fn no_file_runs_the_built_in_example() {
        let checked = check(&LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(checked.node.declarative_config, DeclarativeSource::Embedded);
        let service = &checked.declarative.services[0];
        // The example proxies to the node's own status listener.
        assert_eq!(service.port, checked.node.status_listen[0].addr.port());
        assert_eq!(
            service.host,
            checked.node.status_listen[0].addr.ip().to_string()
        );
    }

    #[test]
    fn loads_the_declarative_file_the_node_config_names() {
        let d = dir("ok");
        let kong = d.join("kong.json");
        std::fs::write(
            &kong,
            r#"{"_format_version": "3.0", "services": [{"name": "s", "url": "http://a"}]}"#,
        )
        .unwrap();
        let conf = d.join("sluice.conf");
        std::fs::write(&conf, format!("declarative_config = {}\n", kong.display())).unwrap();
        let checked = check(&opts(&conf)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(checked.node.conf_path.as_deref(), Some(conf.as_path()));
        assert_eq!(checked.declarative.services[0].name.as_deref(), Some("s"));
    }

    #[test]
    fn declarative_errors_name_the_file() {
        let d = dir("bad");
        let kong = d.join("kong.yml");
        std::fs::write(
            &kong,
            "_format_version: \"3.0\"\nroutes:\n- paths: [x]\n  service: nope\n",
        )
        .unwrap();
        let conf = d.join("sluice.conf");
        std::fs::write(&conf, format!("declarative_config = {}\n", kong.display())).unwrap();
        let shown: Vec<String> = check(&opts(&conf))
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        let k = kong.display();
        assert_eq!(
            shown,
            vec![
                format!("{k}: routes[0].paths[0]: should start with: / (fixed path) or ~/ (regex path)"),
                format!("{k}: routes[0].service: invalid reference 'service: nope' (no such entry in 'services')"),
            ]
        );
        std::fs::write(
            &conf,
            format!("declarative_config = {}/missing.yml\n", d.display()),
        )
        .unwrap();
        let e = check(&opts(&conf)).unwrap_err().to_string();
        assert!(
            e.contains("missing.yml: cannot read the declarative config"),
            "{e}"
        );
    }

    #[test]
    fn node_errors_stop_before_the_declarative_config() {
        let d = dir("node");
        let conf = d.join("sluice.conf");
        std::fs::write(
            &conf,
            "log_level = chatty\ndeclarative_config = /nonexistent.yml\n",
        )
        .unwrap();
        let e = check(&opts(&conf)).unwrap_err();
        assert_eq!(e.len(), 1);
        assert!(
            e.to_string()
                .contains(":1: log_level: unknown log level 'chatty'"),
            "{e}"
        );
    }

    #[test]
    fn inline_config_from_the_environment() {
        let mut o = LoadOptions::default();
        o.env.insert(
            "SLUICE_DECLARATIVE_CONFIG_STRING".into(),
            "_format_version: \"3.0\"\nconsumers:\n- username: env-user\n".into(),
        );
        let checked = check(&o).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            checked.declarative.consumers[0].username.as_deref(),
            Some("env-user")
        );
        o.env.insert(
            "SLUICE_DECLARATIVE_CONFIG_STRING".into(),
            "_format_version: \"9\"\n".into(),
        );
        assert_eq!(
            check(&o).unwrap_err().to_string(),
            "declarative_config_string: _format_version: expected one of: 1.1, 2.1, 3.0"
        );
    }
}
