//! External plugin servers, configured as Kong does: `pluginserver_names = a, b`, then per name
//! `pluginserver_<name>_socket`, `_start_cmd` and `_query_cmd` (the name lower-cased, `-` as `_`).

use serde::Serialize;
use std::path::{Path, PathBuf};

/// One plugin-server sidecar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginServer {
    /// As listed in `pluginserver_names`, lower-cased.
    pub name: String,
    /// The Unix socket it listens on; default `<prefix>/<name>.socket`.
    pub socket: PathBuf,
    /// How to start it; default `/usr/local/bin/<name>` when that file exists, else not started.
    pub start_cmd: Option<String>,
    /// How to ask it for its plugins; default `/usr/local/bin/<name> -dump` when that file exists.
    pub query_cmd: Option<String>,
}

/// The per-server property suffixes.
pub(crate) const SUFFIXES: [&str; 3] = ["socket", "start_cmd", "query_cmd"];

/// The names in `pluginserver_names`, lower-cased.
pub(crate) fn names(s: &str) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = Vec::new();
    for name in super::values::list(s) {
        let name = name.to_ascii_lowercase();
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(format!(
                "invalid plugin server name '{name}' (letters, digits, '-' and '_' only)"
            ));
        }
        if names
            .iter()
            .any(|n| property_name(n) == property_name(&name))
        {
            return Err(format!("plugin server '{name}' is listed twice"));
        }
        names.push(name);
    }
    Ok(names)
}

/// A name as it appears inside property names.
pub(crate) fn property_name(name: &str) -> String {
    name.replace('-', "_")
}

/// The property for one server's setting: `pluginserver_<name>_<suffix>`.
pub(crate) fn property(name: &str, suffix: &str) -> String {
    format!("pluginserver_{}_{suffix}", property_name(name))
}

/// Whether `key` has the shape of a per-server property (whatever the server name).
pub(crate) fn is_server_property(key: &str) -> bool {
    key.strip_prefix("pluginserver_").is_some_and(|rest| {
        SUFFIXES.iter().any(|suffix| {
            rest.strip_suffix(suffix)
                .is_some_and(|n| n.len() > 1 && n.ends_with('_'))
        })
    })
}

/// Builds one server from its (possibly empty) settings, filling Kong's defaults.
pub(crate) fn server(
    name: &str,
    socket: &str,
    start_cmd: &str,
    query_cmd: &str,
    prefix: &Path,
) -> PluginServer {
    let binary = Path::new("/usr/local/bin").join(name);
    let installed = binary.is_file();
    let or_default = |value: &str, default: String| -> Option<String> {
        if !value.is_empty() {
            Some(value.to_string())
        } else if installed {
            Some(default)
        } else {
            None
        }
    };
    PluginServer {
        name: name.to_string(),
        socket: if socket.is_empty() {
            prefix.join(format!("{name}.socket"))
        } else {
            prefix.join(socket)
        },
        start_cmd: or_default(start_cmd, binary.display().to_string()),
        query_cmd: or_default(query_cmd, format!("{} -dump", binary.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lowercased_and_unique() {
        assert_eq!(
            names("Go-Hello, py_hello"),
            Ok(vec!["go-hello".into(), "py_hello".into()])
        );
        assert!(names("a-b, a_b").unwrap_err().contains("listed twice"));
        assert!(names("a b").is_err());
        assert_eq!(names(""), Ok(vec![]));
    }

    #[test]
    fn property_names() {
        assert_eq!(property("test-go", "socket"), "pluginserver_test_go_socket");
        assert!(is_server_property("pluginserver_test_go_start_cmd"));
        assert!(is_server_property("pluginserver_x_query_cmd"));
        assert!(!is_server_property("pluginserver_names"));
        assert!(!is_server_property("pluginserver__socket"));
        assert!(!is_server_property("pluginserver_x_port"));
    }

    #[test]
    fn defaults_follow_kong() {
        let s = server("surely-not-installed-xyz", "", "", "", Path::new("/pfx"));
        assert_eq!(
            s.socket,
            PathBuf::from("/pfx/surely-not-installed-xyz.socket")
        );
        assert_eq!(s.start_cmd, None);
        assert_eq!(s.query_cmd, None);
        let s = server(
            "x",
            "/run/x.sock",
            "/opt/x -serve",
            "/opt/x -dump",
            Path::new("/pfx"),
        );
        assert_eq!(s.socket, PathBuf::from("/run/x.sock"));
        assert_eq!(s.start_cmd.as_deref(), Some("/opt/x -serve"));
        assert_eq!(s.query_cmd.as_deref(), Some("/opt/x -dump"));
        assert_eq!(
            server("x", "x.sock", "", "", Path::new("/pfx")).socket,
            PathBuf::from("/pfx/x.sock")
        );
    }
}
