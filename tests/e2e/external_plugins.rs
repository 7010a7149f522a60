//! External plugins: the Go examples of `pdk-go/` run as sidecars the master starts, in every
//! phase, scoped and ordered together with Lua plugins, through a sidecar crash and a reload.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::common::http::{echo, fresh_client, get};
use crate::common::upstream::Upstream;
use crate::common::{failed_check, wait_for, Sluice};

const LONG: Duration = Duration::from_secs(30);

/// The example plugins of `pdk-go/examples`, built once per test run (offline, as CI does).
fn go_bin(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-examples");
        let status = Command::new("go")
            .args(["build", "-o"])
            .arg(format!("{}/", dir.display()))
            .args([
                "./examples/go-hello",
                "./examples/go-phases",
                "./examples/go-keyauth",
            ])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../pdk-go"))
            .env("GOFLAGS", "-mod=mod")
            .env("GOPROXY", "off")
            .status()
            .expect("run go build (scripts/deps installs Go)");
        assert!(status.success(), "go build of the examples failed");
        dir
    });
    dir.join(name)
}

/// Node config: the fixtures' Lua plugins plus one sidecar per Go example in `go`, each its
/// own plugin server started in the prefix (so `-kong-prefix .` puts its socket where the
/// gateway looks by default).
fn node(lua: &[&str], go: &[&str]) -> String {
    let mut conf = format!(
        "plugins = bundled, {}\nlua_package_path = {}/../tests/fixtures/lua/?.lua;;\npluginserver_names = {}\n",
        lua.iter().chain(go).copied().collect::<Vec<_>>().join(", "),
        env!("CARGO_MANIFEST_DIR"),
        go.join(", ")
    );
    for name in go {
        let key = name.replace('-', "_");
        let bin = go_bin(name);
        conf += &format!(
            "pluginserver_{key}_start_cmd = {} -kong-prefix .\npluginserver_{key}_query_cmd = {} -dump\n",
            bin.display(),
            bin.display()
        );
    }
    conf
}

/// The pid of the latest `name` sidecar, from the master's log.
fn sidecar_pid(sluice: &Sluice, name: &str) -> i32 {
    let needle = format!("started plugin server {name} (pid ");
    let log = sluice.error_log();
    let at = log.rfind(&needle).expect("sidecar started") + needle.len();
    log[at..].split(')').next().unwrap().parse().unwrap()
}

fn alive(pid: i32) -> bool {
    kill(Pid::from_raw(pid), None).is_ok()
}

#[test]
fn go_plugins_run_in_every_phase_and_share_kong_ctx_with_lua() {
    let up = Upstream::start("up");
    let yml = format!(
        r#"_format_version: "3.0"
services:
- name: s
  url: {}
  routes:
  - paths: [/]
plugins:
- name: go-phases
- name: go-hello
  config: {{ message: hey }}
- name: shared-trace
"#,
        up.url()
    );
    let sluice = Sluice::start(&yml, &node(&["shared-trace"], &["go-phases", "go-hello"]));
    let resp = get(&sluice.url("/"));
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert_eq!(
        h["x-go-phases"], "rewrite,lua,access,response,header_filter",
        "go-phases (priority 10) sees the Lua plugin's (500) access trace in kong.ctx.shared"
    );
    assert_eq!(
        h["x-lua-saw"], "rewrite,lua,access,response",
        "and the Lua plugin sees Go's (its header_filter runs first, by priority)"
    );
    let host = format!("{}", sluice.proxy);
    assert_eq!(
        h["x-hello-from-go"],
        format!("Go says hey to {host}").as_str()
    );
    let body = resp.text().unwrap();
    assert!(
        body.ends_with("<!-- go-phases -->"),
        "body_filter appended its marker: {body}"
    );
    let e: serde_json::Value =
        serde_json::from_str(body.trim_end_matches("<!-- go-phases -->")).unwrap();
    assert_eq!(
        e["headers"]["x-go-hello"], "hey",
        "set on the upstream request"
    );
    wait_for("the Go log phase", LONG, || {
        sluice
            .error_log()
            .contains("go-phases trace: rewrite,lua,access,response,header_filter,body_filter,log")
    });
    assert!(
        sluice.error_log().contains("[go-phases:"),
        "the sidecar's own output is in the error log"
    );
}

#[test]
fn go_auth_short_circuits_and_scoping_picks_the_most_specific_instance() {
    let up = Upstream::start("up");
    let yml = format!(
        r#"_format_version: "3.0"
services:
- name: s
  url: {}
  routes:
  - name: open
    paths: [/open]
  - name: scoped
    paths: [/scoped]
    plugins:
    - name: go-hello
      config: {{ message: route }}
  - name: locked
    paths: [/locked]
    plugins:
    - name: go-keyauth
      config: {{ keys: [k1] }}
  - name: by-x-api-key
    paths: [/by-x-api-key]
    plugins:
    - name: go-keyauth
      config: {{ keys: [k1], key_name: x_api_key }}
plugins:
- name: go-hello
  config: {{ message: global }}
"#,
        up.url()
    );
    let sluice = Sluice::start(&yml, &node(&[], &["go-hello", "go-keyauth"]));
    assert_eq!(
        echo(get(&sluice.url("/open")))["headers"]["x-go-hello"],
        "global"
    );
    assert_eq!(
        echo(get(&sluice.url("/scoped")))["headers"]["x-go-hello"],
        "route"
    );

    let hits = up.hits();
    let denied = get(&sluice.url("/locked"));
    assert_eq!(denied.status(), 401);
    assert_eq!(denied.headers()["www-authenticate"], "Key realm=\"kong\"");
    assert_eq!(
        denied.text().unwrap(),
        r#"{"message":"No API key found in request"}"#
    );
    let wrong = fresh_client()
        .get(sluice.url("/locked"))
        .header("apikey", "nope")
        .send()
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        up.hits(),
        hits,
        "short-circuited requests never reach the upstream"
    );
    let allowed = fresh_client()
        .get(sluice.url("/locked"))
        .header("apikey", "k1")
        .send()
        .unwrap();
    assert_eq!(allowed.status(), 200);
    assert_eq!(echo(allowed)["headers"]["x-go-hello"], "global");

    // The plugin reads headers from the ones sent with the event, with the gateway's
    // lookup: any case, `_` for `-`, the first of repeated values.
    let by_name = |values: &[&str]| {
        let mut req = fresh_client().get(sluice.url("/by-x-api-key"));
        for v in values {
            req = req.header("X-Api-Key", *v);
        }
        req.send().unwrap().status()
    };
    assert_eq!(by_name(&["k1", "k2"]), 200);
    assert_eq!(by_name(&["k2", "k1"]), 401);
}

#[test]
fn ordering_runs_a_go_plugin_before_a_higher_priority_lua_plugin() {
    let up = Upstream::start("up");
    let yml = format!(
        r#"_format_version: "3.0"
services:
- name: s
  url: {}
  routes:
  - paths: [/]
plugins:
- name: go-phases
  ordering: {{ before: {{ access: [shared-trace] }} }}
- name: shared-trace
"#,
        up.url()
    );
    let sluice = Sluice::start(&yml, &node(&["shared-trace"], &["go-phases"]));
    let resp = get(&sluice.url("/"));
    assert_eq!(
        resp.headers()["x-go-phases"],
        "rewrite,access,lua,response,header_filter"
    );
}

#[test]
fn a_killed_sidecar_fails_requests_fast_then_recovers() {
    let up = Upstream::start("up");
    let yml = format!(
        "_format_version: \"3.0\"\nservices:\n- name: s\n  url: {}\n  routes:\n  - paths: [/]\nplugins:\n- name: go-hello\n",
        up.url()
    );
    let sluice = Sluice::start(&yml, &node(&[], &["go-hello"]));
    assert_eq!(get(&sluice.url("/")).status(), 200);
    let first = sidecar_pid(&sluice, "go-hello");

    let stop = Arc::new(AtomicBool::new(false));
    let url = sluice.url("/");
    let load: Vec<_> = (0..2)
        .map(|_| {
            let (stop, url) = (stop.clone(), url.clone());
            std::thread::spawn(move || {
                let client = fresh_client();
                let mut seen = Vec::new();
                while !stop.load(Ordering::Relaxed) && seen.len() < 20_000 {
                    let started = Instant::now();
                    let status = client.get(&url).send().map(|r| r.status().as_u16());
                    seen.push((status.unwrap_or(0), started.elapsed()));
                }
                seen
            })
        })
        .collect();
    kill(Pid::from_raw(first), Signal::SIGKILL).unwrap();
    wait_for("the sidecar to be restarted", LONG, || {
        sidecar_pid(&sluice, "go-hello") != first
    });
    wait_for("requests to succeed again", LONG, || {
        get(&sluice.url("/")).status() == 200
    });
    stop.store(true, Ordering::Relaxed);
    let seen: Vec<(u16, Duration)> = load.into_iter().flat_map(|t| t.join().unwrap()).collect();
    assert!(
        seen.iter().all(|(s, _)| *s == 200 || *s == 500),
        "only successes and Kong's 500: {:?}",
        seen.iter()
            .filter(|(s, _)| *s != 200 && *s != 500)
            .take(5)
            .collect::<Vec<_>>()
    );
    assert!(
        seen.iter().any(|(s, _)| *s == 500),
        "requests failed while the sidecar was down"
    );
    let slowest = seen.iter().map(|(_, d)| *d).max().unwrap();
    assert!(slowest < Duration::from_secs(5), "failed fast: {slowest:?}");
    let log = sluice.error_log();
    assert!(
        log.contains("[go-hello] failed to run the access phase: plugin server"),
        "a clear error log line"
    );
    assert!(!log.contains("respawning slot"), "no worker died");
}

#[test]
fn a_hung_sidecar_fails_its_requests_after_the_call_timeout_and_blocks_nothing_else() {
    let up = Upstream::start("up");
    let yml = format!(
        "_format_version: \"3.0\"\nservices:\n- name: s\n  url: {}\n  routes:\n  - name: go\n    paths: [/go]\n    plugins:\n    - name: go-hello\n  - name: plain\n    paths: [/plain]\n",
        up.url()
    );
    let sluice = Sluice::start(&yml, &node(&[], &["go-hello"]));
    assert_eq!(get(&sluice.url("/go")).status(), 200);
    let sidecar = Pid::from_raw(sidecar_pid(&sluice, "go-hello"));

    kill(sidecar, Signal::SIGSTOP).unwrap();
    let url = sluice.url("/go");
    let hung = std::thread::spawn(move || {
        let started = Instant::now();
        let status = fresh_client().get(&url).send().unwrap().status();
        (status, started.elapsed())
    });
    // While that request waits on the stopped sidecar, requests without it are answered.
    for _ in 0..20 {
        let started = Instant::now();
        assert_eq!(get(&sluice.url("/plain")).status(), 200);
        assert!(started.elapsed() < Duration::from_secs(2));
    }
    assert!(
        !hung.is_finished(),
        "the request to the stopped sidecar waits"
    );
    let (status, took) = hung.join().unwrap();
    assert_eq!(status, 500, "Kong's 500 once the call times out");
    assert!(
        (Duration::from_secs(9)..Duration::from_secs(20)).contains(&took),
        "bounded by the 10 s call timeout: {took:?}"
    );
    assert!(
        sluice
            .error_log()
            .contains("[go-hello] failed to run the access phase: plugin server did not answer"),
        "a clear error log line"
    );

    kill(sidecar, Signal::SIGCONT).unwrap();
    wait_for("the sidecar to answer again", LONG, || {
        fresh_client()
            .get(sluice.url("/go"))
            .send()
            .unwrap()
            .status()
            == 200
    });
    assert!(alive(sidecar.as_raw()), "a slow sidecar is not restarted");
}

#[test]
fn reload_changes_a_go_plugin_config_and_quit_stops_the_sidecars() {
    let up = Upstream::start("up");
    let yml = |message: &str| {
        format!(
            "_format_version: \"3.0\"\nservices:\n- name: s\n  url: {}\n  routes:\n  - paths: [/]\nplugins:\n- name: go-hello\n  config: {{ message: {message} }}\n",
            up.url()
        )
    };
    let mut sluice = Sluice::start(&yml("before"), &node(&[], &["go-hello"]));
    assert_eq!(
        echo(get(&sluice.url("/")))["headers"]["x-go-hello"],
        "before"
    );
    let sidecar = sidecar_pid(&sluice, "go-hello");

    sluice.write_declarative(&yml("after"));
    sluice.signal(Signal::SIGHUP);
    wait_for("the new config", LONG, || {
        echo(fresh_client().get(sluice.url("/")).send().unwrap())["headers"]["x-go-hello"]
            == "after"
    });
    assert_eq!(
        sidecar_pid(&sluice, "go-hello"),
        sidecar,
        "an unchanged plugin server keeps running across a reload"
    );

    sluice.signal(Signal::SIGQUIT);
    assert_eq!(sluice.wait_exit(LONG), 0);
    assert!(!alive(sidecar), "the sidecar stopped with the gateway");
}

#[test]
fn a_broken_query_command_fails_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("sluice.conf");
    std::fs::write(
        &conf,
        format!(
            "prefix = {}\nplugins = bundled, nope\npluginserver_names = nope\npluginserver_nope_query_cmd = /bin/false --dump\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let stderr = failed_check(&conf);
    assert!(
        stderr.contains("plugin server query command `/bin/false --dump`: exit status: 1"),
        "{stderr}"
    );
}
