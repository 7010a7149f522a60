//! Kong's own plugin servers as peers of the real gateway: the Python PDK (its shared
//! `kong-python-pluginserver`, and a plugin file run as its own dedicated server) and the
//! JavaScript PDK (`kong-js-pluginserver`), each running fixture plugins written against the
//! unchanged PDK, next to a Lua plugin sharing `kong.ctx.shared` with them.
//!
//! The PDKs are installed by `scripts/deps`; tests use no network and only look for them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::common::http::{client, echo, Response};
use crate::common::upstream::Upstream;
use crate::common::{wait_for, Sluice};

const LONG: Duration = Duration::from_secs(30);

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// An installed file, or a panic that says how to install it.
fn installed(path: PathBuf) -> PathBuf {
    assert!(
        path.exists(),
        "{} is missing: run scripts/deps first (it installs Kong's PDKs)",
        path.display()
    );
    path
}

/// A program of the venv holding Kong's Python PDK: `$SLUICE_PY_VENV`, else `target/py-venv`.
/// Its own `python` runs the plugin files, so they import `kong_pdk`.
fn python_venv(program: &str) -> PathBuf {
    let venv = std::env::var_os("SLUICE_PY_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/py-venv"));
    installed(venv.join("bin").join(program))
}

/// `kong-js-pluginserver`, from `npm ci` in the JS fixtures directory.
fn js_pluginserver() -> PathBuf {
    installed(fixtures().join("js/node_modules/.bin/kong-js-pluginserver"))
}

/// Node config for one plugin server (Kong's keys) and the plugins it serves next to the Lua
/// fixture `shared-relay`. `socket` is left to Kong's default `<prefix>/<name>.socket` when
/// `None`.
fn node_conf(
    plugins: &str,
    server: &str,
    socket: Option<&Path>,
    start: &str,
    query: &str,
) -> String {
    let key = server.replace('-', "_");
    let socket = socket.map_or(String::new(), |s| {
        format!("pluginserver_{key}_socket = {}\n", s.display())
    });
    format!(
        "plugins = shared-relay, {plugins}\nlua_package_path = {}/lua/?.lua;;\n\
         pluginserver_names = {server}\n{socket}\
         pluginserver_{key}_start_cmd = {start}\npluginserver_{key}_query_cmd = {query}\n",
        fixtures().display()
    )
}

/// One service on `/` to `up`, the Lua relay reporting `kong.ctx.shared[shared_key]`, and a
/// global instance of each of `plugins`.
fn declarative(up: &Upstream, shared_key: &str, plugins: &[&str]) -> String {
    let plugins: String = plugins.iter().map(|p| format!("- name: {p}\n")).collect();
    format!(
        "_format_version: \"3.0\"\nservices:\n- name: s\n  url: {}\n  routes:\n  - name: r\n    paths: [/]\n\
         plugins:\n- name: shared-relay\n  config: {{ key: {shared_key} }}\n{plugins}",
        up.url()
    )
}

fn request(sluice: &Sluice, path: &str, who: &str) -> Response {
    client()
        .get(sluice.url(path))
        .header("x-who", who)
        .header("x-relay", "from-lua-side")
        .send()
        .unwrap()
}

/// What a greeting fixture plugin (`py-greet`, `js-greet`) does, checked through the
/// gateway: its access phase sets an upstream and a response header (with the schema's
/// default `greeting`), reads what the Lua relay left in `kong.ctx.shared` and leaves a value
/// the relay reports; it short-circuits `mallory` with `kong.response.exit`; its log phase
/// logs from `kong.log.serialize()`. Returns the proxied response's headers.
fn assert_greets(
    sluice: &Sluice,
    up: &Upstream,
    plugin: &str,
    exit_body: &str,
) -> reqwest::header::HeaderMap {
    let header = format!("x-{plugin}");
    let resp = request(sluice, "/hi?lang=en", "alice");
    let headers = resp.headers().clone();
    let e = echo(resp);
    assert_eq!(e["headers"][&header], "hello alice", "upstream header");
    assert_eq!(headers[&header], "greeted alice", "response header");
    let seen: serde_json::Value =
        serde_json::from_str(e["headers"][format!("{header}-seen")].as_str().unwrap()).unwrap();
    assert_eq!(
        seen,
        serde_json::json!({
            "ip": "127.0.0.1",
            "path": "/hi?lang=en",
            "query": {"lang": ["en"]},
            "route": "r",
            "x-relay": ["from-lua-side"],
        }),
        "values of the PDK calls made (multimaps as lists, the route as an entity)"
    );
    assert_eq!(
        headers["x-lua-saw"],
        format!("{plugin} saw from-lua-side").as_str(),
        "kong.ctx.shared, Lua to {plugin} and back"
    );

    let hits = up.hits();
    let resp = request(sluice, "/deny", "mallory");
    assert_eq!(resp.status(), 403);
    assert_eq!(resp.headers()["x-denied-by"], plugin);
    assert_eq!(resp.text().unwrap(), exit_body);
    assert_eq!(up.hits(), hits, "the exit short-circuits the upstream");

    for line in [
        format!("{plugin} logged /hi?lang=en status 200"),
        format!("{plugin} logged /deny status 403"),
    ] {
        wait_for(&line, LONG, || sluice.error_log().contains(&line));
    }
    headers
}

/// Starts the gateway with one shared plugin server, `program` (Kong's Python and JS servers
/// take the same flags but the socket name's, `socket_flag`), serving the plugin files in
/// `dir` on `<prefix>/<server>.sock`.
fn with_shared_server(
    yml: &str,
    plugins: &str,
    server: &str,
    program: &str,
    socket_flag: &str,
    dir: &Path,
) -> Sluice {
    Sluice::start_with(yml, |prefix| {
        let socket = prefix.join(format!("{server}.sock"));
        let start = format!(
            "{program} -p {} {socket_flag} {server}.sock -d {}",
            prefix.display(),
            dir.display()
        );
        let query = format!("{program} -d {} --dump-all-plugins", dir.display());
        node_conf(plugins, server, Some(&socket), &start, &query)
    })
}

#[test]
fn python_shared_server_runs_two_plugins() {
    let up = Upstream::start("up");
    let yml = declarative(&up, "from_py", &["py-greet", "py-tally"]);
    // The environment keeps Python from writing __pycache__ into the fixtures.
    let program = format!(
        "env PYTHONDONTWRITEBYTECODE=1 {}",
        python_venv("kong-python-pluginserver").display()
    );
    let dir = fixtures().join("python");
    let sluice = with_shared_server(
        &yml,
        "py-greet, py-tally",
        "py",
        &program,
        "--socket-name",
        &dir,
    );
    let headers = assert_greets(&sluice, &up, "py-greet", "py-greet says no");
    assert_eq!(headers["x-py-tally"], "200 from up", "response phase");
    let e = echo(request(&sluice, "/hi", "alice"));
    assert_eq!(e["headers"]["x-py-tally-method"], "GET", "rewrite phase");
}

/// Starts the gateway with `py-greet.py` run as its own dedicated server.
fn with_dedicated_python(yml: &str) -> Sluice {
    let plugin = fixtures().join("python/py-greet.py");
    let python = python_venv("python");
    Sluice::start_with(yml, |prefix| {
        // Kong's CI names the socket like Kong's default, <prefix>/<server name>.socket.
        let start = format!(
            "{} {} --socket-name py-greet.socket -p {}",
            python.display(),
            plugin.display(),
            prefix.display()
        );
        let query = format!("{} {} --dump", python.display(), plugin.display());
        node_conf("py-greet", "py-greet", None, &start, &query)
    })
}

#[test]
fn python_plugin_runs_as_its_own_dedicated_server() {
    let up = Upstream::start("up");
    let sluice = with_dedicated_python(&declarative(&up, "from_py", &["py-greet"]));
    assert_greets(&sluice, &up, "py-greet", "py-greet says no");
}

#[test]
fn javascript_server_runs_a_plugin() {
    let up = Upstream::start("up");
    let yml = declarative(&up, "from_js", &["js-greet"]);
    let program = js_pluginserver().display().to_string();
    // The JS server needs the directory absolute (it require()s the files by that path).
    let dir = fixtures().join("js/plugins");
    let sluice = with_shared_server(&yml, "js-greet", "js", &program, "--sock-name", &dir);
    // A table body, JSON-encoded by the gateway as Kong's exit does.
    let body = r#"{"message":"js-greet says no"}"#;
    let headers = assert_greets(&sluice, &up, "js-greet", body);
    assert_eq!(headers["x-js-upstream"], "200 from up", "response phase");
}

/// The pid of the plugin server `name`, from the master's "started" line.
fn sidecar_pid(sluice: &Sluice, name: &str) -> Pid {
    let log = sluice.error_log();
    let marker = format!("started plugin server {name} (pid ");
    let at = log.find(&marker).expect("no sidecar started") + marker.len();
    let pid = log[at..].split(')').next().unwrap().parse().unwrap();
    Pid::from_raw(pid)
}

/// Gone, or a zombie nobody reaps (an orphan's new parent may not).
fn exited(pid: Pid) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        stat.rsplit(')')
            .next()
            .unwrap()
            .trim_start()
            .starts_with('Z')
    })
}

/// Signals a gateway running the dedicated Python server with `signal` and waits for the
/// master's exit; returns the gateway and the server's pid. Python's server keeps the signal
/// mask it starts with, so it stops only if the master starts it with none blocked.
fn signal_python_gateway(signal: Signal) -> (Sluice, Pid) {
    let up = Upstream::start("up");
    let mut sluice = with_dedicated_python(&declarative(&up, "from_py", &["py-greet"]));
    let server = sidecar_pid(&sluice, "py-greet");
    sluice.signal(signal);
    sluice.wait_exit(LONG);
    (sluice, server)
}

#[test]
fn python_server_stops_on_the_gateway_stop() {
    let (sluice, server) = signal_python_gateway(Signal::SIGTERM);
    assert!(exited(server), "the master waited for its sidecar");
    assert!(
        !sluice.error_log().contains("did not exit in time"),
        "SIGTERM was enough:\n{}",
        sluice.error_log()
    );
}

#[test]
fn python_server_exits_when_the_master_is_killed() {
    let (_sluice, server) = signal_python_gateway(Signal::SIGKILL);
    wait_for("the orphaned plugin server to exit", LONG, || {
        exited(server)
    });
}
