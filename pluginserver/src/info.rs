//! What a plugin server serves, learned from its query command (`pluginserver_<name>_query_cmd`)
//! before anything is forked, as Kong does at init (not over RPC).

use std::process::{Command, Stdio};

use serde_json::Value;
use sluice_conf::PluginServer;

use crate::error::Error;

/// The only protocol this crate speaks; a dump without `Protocol` means this one.
pub const MSGPACK_PROTOCOL: &str = "MsgPack:1";

/// One external plugin as its server describes it (`Name`, `Priority`, `Version`,
/// `Phases`, `Schema` in the dump).
#[derive(Debug, Clone, PartialEq)]
pub struct PluginInfo {
    pub name: String,
    pub priority: i64,
    pub version: String,
    /// Phase (event) names the plugin handles, e.g. `access`, `log`.
    pub phases: Vec<String>,
    /// A Kong plugin schema table, used as is: `{name, fields: [{config: {...}}]}`.
    pub schema: Value,
}

/// Sluice's extensions of `MsgPack:1` that a server announces in its dump
/// (`"Extensions": ["Deferred", "RequestHeaders"]`, names as the `HandleEvent` fields they add).
/// Kong's servers announce none and so get Kong's protocol byte for byte; unknown names are
/// ignored, so a newer server works with an older gateway.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extensions {
    /// `Deferred`: calls that return nothing travel with the server's next answer.
    pub deferred: bool,
    /// `RequestHeaders`: the request's headers go with `HandleEvent` in rewrite and access.
    pub request_headers: bool,
}

/// What a query command printed.
#[derive(Debug, Clone, PartialEq)]
pub struct Dump {
    pub plugins: Vec<PluginInfo>,
    pub extensions: Extensions,
}

/// The plugins one configured server serves.
#[derive(Debug, Clone, PartialEq)]
pub struct Served {
    pub server: PluginServer,
    pub plugins: Vec<PluginInfo>,
    pub extensions: Extensions,
}

/// Runs every server's query command, as Kong does at init, and returns every problem found.
/// Kong 3.9 keeps only the first plugin of a dump; all are kept here, as Kong 3.8 did, so a
/// shared server (`kong-python-pluginserver`, `kong-js-pluginserver`) serves every plugin it
/// lists. A plugin name served by two servers is an error.
pub fn query_all(servers: &[PluginServer]) -> Result<Vec<Served>, Vec<String>> {
    let mut served: Vec<Served> = Vec::new();
    let mut errors = Vec::new();
    for server in servers {
        let Some(cmd) = &server.query_cmd else {
            errors.push(format!(
                "query_command undefined for pluginserver {} (set pluginserver_{}_query_cmd)",
                server.name,
                server.name.replace('-', "_")
            ));
            continue;
        };
        match run_query(cmd) {
            Ok(Dump {
                plugins,
                extensions,
            }) => {
                for p in &plugins {
                    if let Some(other) = served
                        .iter()
                        .find(|s| s.plugins.iter().any(|q| q.name == p.name))
                    {
                        errors.push(format!(
                            "plugin {} is served by both pluginserver {} and {}",
                            p.name, other.server.name, server.name
                        ));
                    }
                }
                served.push(Served {
                    server: server.clone(),
                    plugins,
                    extensions,
                });
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    if errors.is_empty() {
        Ok(served)
    } else {
        Err(errors)
    }
}

/// Runs a query command through `/bin/sh -c` (Kong uses `io.popen`) and parses its stdout.
/// Blocking, and it spawns no thread, so the master may call it before forking.
pub fn run_query(cmd: &str) -> Result<Dump, Error> {
    let fail = |reason: String| Error::Query {
        cmd: cmd.to_owned(),
        reason,
    };
    let output = Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| fail(format!("cannot run: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(fail(format!(
            "{}: {}",
            output.status,
            last_lines(stderr.trim(), 5)
        )));
    }
    let stdout =
        String::from_utf8(output.stdout).map_err(|_| fail("output is not UTF-8".into()))?;
    parse_query_output(&stdout).map_err(fail)
}

/// Parses a dump in either shape: a bare array of plugin infos (Python, JS, go-pdk ≤0.6),
/// or `{"Protocol": ..., "Plugins": [...]}` (go-pdk ≥0.7, Sluice's pdk-go with `Extensions`).
pub fn parse_query_output(text: &str) -> Result<Dump, String> {
    let dump: Value = serde_json::from_str(text.trim())
        .map_err(|e| format!("not JSON ({e}): {}", excerpt(text)))?;
    let mut extensions = Extensions::default();
    let plugins = match &dump {
        Value::Array(items) => items,
        Value::Object(obj) => {
            let protocol = match obj.get("Protocol") {
                None | Some(Value::Null) => MSGPACK_PROTOCOL,
                Some(Value::String(p)) => p,
                Some(other) => return Err(format!("Protocol is not a string: {other}")),
            };
            if protocol != MSGPACK_PROTOCOL {
                return Err(format!(
                    "the server speaks {protocol}; only {MSGPACK_PROTOCOL} is supported"
                ));
            }
            for name in obj
                .get("Extensions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                match name.as_str() {
                    Some("Deferred") => extensions.deferred = true,
                    Some("RequestHeaders") => extensions.request_headers = true,
                    _ => {}
                }
            }
            match obj.get("Plugins") {
                Some(Value::Array(items)) => items,
                _ => return Err("object without a Plugins array".into()),
            }
        }
        _ => return Err(format!("not a plugin info table: {}", excerpt(text))),
    };
    Ok(Dump {
        plugins: plugins.iter().map(parse_plugin).collect::<Result<_, _>>()?,
        extensions,
    })
}

/// Validates one entry as Kong does when it loads the plugin.
fn parse_plugin(entry: &Value) -> Result<PluginInfo, String> {
    let name = match entry.get("Name") {
        Some(Value::String(n)) if !n.is_empty() => n.clone(),
        _ => return Err(format!("plugin info without a Name: {entry}")),
    };
    let bad = |what: &str| format!("plugin {name}: {what}");
    let priority = entry
        .get("Priority")
        .and_then(Value::as_i64)
        .ok_or_else(|| bad("Priority must be an integer"))?;
    let version = match entry.get("Version") {
        Some(Value::String(v)) if !v.is_empty() => v.clone(),
        _ => return Err(bad("Version must be a non-empty string")),
    };
    let phases = match entry.get("Phases") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|p| p.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("Phases must be strings"))?,
        None | Some(Value::Null) => Vec::new(),
        Some(_) => return Err(bad("Phases must be an array")),
    };
    let schema = match entry.get("Schema") {
        Some(schema @ Value::Object(_)) => schema.clone(),
        _ => return Err(bad("Schema must be an object")),
    };
    Ok(PluginInfo {
        name,
        priority,
        version,
        phases,
        schema,
    })
}

fn excerpt(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real output of `kong-python-pluginserver -d plugins --dump-all-plugins`.
    const PYTHON_DUMP: &str = r#"[{"Name":"py-demo","Phases":["log","access"],"Priority":1000,"Version":"0.1.0",
        "Schema":{"name":"py-demo","fields":[{"config":{"type":"record","fields":[{"message":{"type":"string"}}]}}]}}]"#;

    /// Real output of go-pdk's `go-hello -dump` (the other shape).
    const GO_DUMP: &str = r#"{"Protocol":"ProtoBuf:1","SocketPath":"run/go-hello.socket",
        "Plugins":[{"Name":"go-hello","Phases":["access"],"Version":"0.2","Priority":1,
        "Schema":{"name":"go-hello","fields":[{"config":{"type":"record","fields":[{"message":{"type":"string"}}]}}]}}]}"#;

    #[test]
    fn array_shape() {
        let Dump {
            plugins,
            extensions,
        } = parse_query_output(PYTHON_DUMP).unwrap();
        assert_eq!(extensions, Extensions::default());
        assert_eq!(plugins.len(), 1);
        let p = &plugins[0];
        assert_eq!(p.name, "py-demo");
        assert_eq!(p.priority, 1000);
        assert_eq!(p.version, "0.1.0");
        assert_eq!(p.phases, ["log", "access"]);
        assert_eq!(p.schema["fields"][0]["config"]["type"], "record");
    }

    #[test]
    fn object_shape() {
        let msgpack = GO_DUMP.replace("ProtoBuf:1", "MsgPack:1");
        let dump = parse_query_output(&msgpack).unwrap();
        assert_eq!(
            dump.extensions,
            Extensions::default(),
            "go-pdk announces none"
        );
        let plugins = dump.plugins;
        assert_eq!(plugins[0].name, "go-hello");
        assert_eq!(plugins[0].priority, 1);
        assert_eq!(plugins[0].version, "0.2");
        let without_protocol = r#"{"Plugins":[]}"#;
        assert_eq!(parse_query_output(without_protocol).unwrap().plugins, []);
    }

    #[test]
    fn extensions_are_announced_by_name() {
        let dump = |list: &str| {
            parse_query_output(&format!(r#"{{"Extensions":{list},"Plugins":[]}}"#))
                .unwrap()
                .extensions
        };
        assert_eq!(
            dump(r#"["RequestHeaders","Future",3,"Deferred"]"#),
            Extensions {
                deferred: true,
                request_headers: true
            }
        );
        assert!(!dump(r#"["Deferred"]"#).request_headers);
        assert_eq!(dump("null"), Extensions::default());
    }

    #[test]
    fn protobuf_servers_are_refused_clearly() {
        let err = parse_query_output(GO_DUMP).unwrap_err();
        assert!(err.contains("ProtoBuf:1"), "{err}");
    }

    #[test]
    fn bad_dumps_say_what_is_wrong() {
        let cases = [
            ("", "not JSON"),
            ("Usage: foo", "not JSON"),
            ("42", "not a plugin info table"),
            (r#"{"Protocol":"MsgPack:1"}"#, "Plugins"),
            (r#"[{"Priority":1}]"#, "without a Name"),
            (
                r#"[{"Name":"p","Priority":1,"Version":null,"Schema":{}}]"#,
                "plugin p: Version",
            ),
            (
                r#"[{"Name":"p","Priority":1.5,"Version":"1","Schema":{}}]"#,
                "plugin p: Priority",
            ),
            (
                r#"[{"Name":"p","Priority":1,"Version":"1","Phases":[1],"Schema":{}}]"#,
                "plugin p: Phases",
            ),
            (
                r#"[{"Name":"p","Priority":1,"Version":"1"}]"#,
                "plugin p: Schema",
            ),
        ];
        for (text, needle) in cases {
            let err = parse_query_output(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn runs_the_command_through_a_shell() {
        let cmd = format!("printf '%s' '{}'", PYTHON_DUMP.replace('\n', " "));
        let plugins = run_query(&cmd).unwrap().plugins;
        assert_eq!(plugins[0].name, "py-demo");
    }

    fn server(name: &str, query_cmd: Option<String>) -> PluginServer {
        PluginServer {
            name: name.into(),
            socket: format!("/p/{name}.socket").into(),
            start_cmd: None,
            query_cmd,
        }
    }

    #[test]
    fn query_all_collects_every_problem() {
        let dump = |name: &str| {
            let d = PYTHON_DUMP.replace('\n', " ").replace("py-demo", name);
            Some(format!("printf '%s' '{d}'"))
        };
        let ok = query_all(&[server("a", dump("pa")), server("b", dump("pb"))]).unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[1].server.name, "b");
        assert_eq!(ok[1].plugins[0].name, "pb");

        let errors = query_all(&[
            server("my-py", None),
            server("a", dump("same")),
            server("b", dump("same")),
            server("c", Some("exit 4".into())),
        ])
        .unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("query_command undefined for pluginserver my-py"));
        assert!(errors[0].contains("pluginserver_my_py_query_cmd"));
        assert!(errors[1].contains("plugin same is served by both pluginserver a and b"));
        assert!(errors[2].contains("exit status: 4"), "{}", errors[2]);
    }

    #[test]
    fn failing_command_reports_status_and_stderr() {
        let err = run_query("echo oops >&2; exit 3").unwrap_err().to_string();
        assert!(err.contains("exit status: 3"), "{err}");
        assert!(err.contains("oops"), "{err}");
        let err = run_query("echo not json").unwrap_err().to_string();
        assert!(err.contains("not JSON"), "{err}");
    }
}
