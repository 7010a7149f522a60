//! A plugin server as the node configuration declares it, with Kong's keys and defaults:
//! `pluginserver_names = a, b` and, per name, `pluginserver_<name>_socket`,
//! `pluginserver_<name>_start_cmd`, `pluginserver_<name>_query_cmd`.

use std::path::{Path, PathBuf};

use crate::error::Error;

/// Where a plugin server listens and how to start and query it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSpec {
    /// Lower-cased name from `pluginserver_names`.
    pub name: String,
    pub socket: PathBuf,
    /// `None`: the server is managed outside the gateway (Kong warns and does not spawn).
    pub start_cmd: Option<String>,
    pub query_cmd: String,
}

/// Splits `pluginserver_names` (`a, b`) into lower-cased names.
pub fn parse_names(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|n| n.trim().to_lowercase())
        .filter(|n| !n.is_empty())
        .collect()
}

impl ServerSpec {
    /// Reads one server's keys through `lookup` (a node-config getter). Defaults as in
    /// Kong 3.9: socket `<prefix>/<name>.socket`; start `/usr/local/bin/<name>` and query
    /// `/usr/local/bin/<name> -dump` when that binary exists; a query command is required.
    pub fn from_conf(
        name: &str,
        prefix: &Path,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, Error> {
        let name = name.trim().to_lowercase();
        let key = |suffix: &str| format!("pluginserver_{}_{suffix}", name.replace('-', "_"));
        let set = |suffix: &str| lookup(&key(suffix)).filter(|v| !v.trim().is_empty());
        let default_bin = Path::new("/usr/local/bin").join(&name);
        let default_bin = default_bin
            .exists()
            .then(|| default_bin.display().to_string());
        let socket = set("socket")
            .map(PathBuf::from)
            .unwrap_or_else(|| prefix.join(format!("{name}.socket")));
        let start_cmd = set("start_cmd").or_else(|| default_bin.clone());
        let query_cmd = set("query_cmd")
            .or_else(|| default_bin.map(|bin| format!("{bin} -dump")))
            .ok_or_else(|| {
                Error::Config(format!(
                    "query_command undefined for pluginserver {name} (set {})",
                    key("query_cmd")
                ))
            })?;
        Ok(ServerSpec {
            name,
            socket,
            start_cmd,
            query_cmd,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn names_are_trimmed_and_lowercased() {
        assert_eq!(parse_names(" Go-Hello , py ,,"), ["go-hello", "py"]);
        assert!(parse_names("").is_empty());
    }

    #[test]
    fn keys_use_underscores_and_socket_defaults_under_prefix() {
        let conf: HashMap<&str, &str> = HashMap::from([
            (
                "pluginserver_test_go_start_cmd",
                "/opt/go-hello -kong-prefix /p",
            ),
            ("pluginserver_test_go_query_cmd", "/opt/go-hello -dump"),
        ]);
        let spec = ServerSpec::from_conf("Test-Go", Path::new("/p"), |k| {
            conf.get(k).map(|v| v.to_string())
        })
        .unwrap();
        assert_eq!(
            spec,
            ServerSpec {
                name: "test-go".into(),
                socket: PathBuf::from("/p/test-go.socket"),
                start_cmd: Some("/opt/go-hello -kong-prefix /p".into()),
                query_cmd: "/opt/go-hello -dump".into(),
            }
        );
    }

    #[test]
    fn explicit_socket_wins_and_query_cmd_is_required() {
        let spec = ServerSpec::from_conf("py", Path::new("/p"), |k| match k {
            "pluginserver_py_socket" => Some("/run/py.sock".into()),
            "pluginserver_py_query_cmd" => Some("py --dump".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(spec.socket, PathBuf::from("/run/py.sock"));
        assert_eq!(spec.start_cmd, None);

        let err = ServerSpec::from_conf("sluice-test-absent", Path::new("/p"), |_| None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("query_command undefined for pluginserver sluice-test-absent"),
            "{err}"
        );
        assert!(
            err.contains("pluginserver_sluice_test_absent_query_cmd"),
            "{err}"
        );
    }
}
