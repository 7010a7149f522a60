//! The process model: workers on reuseport slots, respawn, reload, graceful and fast stop,
//! log reopening, and the CLI around them.

use std::collections::HashSet;
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::common::http::{client, echo, fresh_client, get};
use crate::common::load::reload_under_load;
use crate::common::upstream::Upstream;
use crate::common::{node_conf, wait_for, Sluice};

const LONG: Duration = Duration::from_secs(30);

fn config(up: &Upstream, path: &str) -> String {
    format!("_format_version: \"3.0\"\nservices:\n- name: s\n  url: {}\n  routes:\n  - paths: [{path}]\n", up.url())
}

/// The pid of the worker that answered, from the Admin API's status.
fn answering_worker(http: &reqwest::blocking::Client, sluice: &Sluice) -> u64 {
    let status: serde_json::Value = http
        .get(format!("http://{}/status", sluice.admin))
        .send()
        .unwrap()
        .json()
        .unwrap();
    status["worker"]["pid"].as_u64().unwrap()
}

#[test]
fn every_worker_serves_its_own_reuseport_socket() {
    let up = Upstream::start("up");
    let sluice = Sluice::start(&config(&up, "/"), "worker_processes = 3\n");
    assert_eq!(sluice.workers().len(), 3);
    let http = fresh_client();
    let mut seen = HashSet::new();
    for _ in 0..300 {
        seen.insert(answering_worker(&http, &sluice));
        if seen.len() == 3 {
            break;
        }
    }
    let workers: HashSet<u64> = sluice.workers().iter().map(|&p| p as u64).collect();
    assert_eq!(seen, workers, "connections must reach every worker");
}

#[test]
fn a_killed_worker_is_respawned_and_serves() {
    let up = Upstream::start("up");
    let sluice = Sluice::start(&config(&up, "/"), "");
    let before = sluice.workers();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(before[0]), Signal::SIGKILL).unwrap();
    wait_for("a new worker", LONG, || {
        let now = sluice.workers();
        now.len() == 2 && !now.contains(&before[0])
    });
    let http = fresh_client();
    for _ in 0..50 {
        assert_eq!(http.get(sluice.url("/")).send().unwrap().status(), 200);
    }
    assert!(sluice.error_log().contains("respawning slot"));
}

#[test]
fn reload_under_load_drops_nothing_and_applies_the_new_config() {
    let (old_up, new_up) = (Upstream::start("old"), Upstream::start("new"));
    let sluice = Sluice::start(&config(&old_up, "/"), "");
    reload_under_load(&sluice, "/load", &config(&new_up, "/"), client);
    assert_eq!(sluice.workers().len(), 2);
}

#[test]
fn a_broken_config_on_reload_keeps_the_old_one_serving() {
    let up = Upstream::start("up");
    let sluice = Sluice::start(&config(&up, "/kept"), "");
    let workers = sluice.workers();
    sluice.write_declarative("_format_version: \"3.0\"\nservices:\n- name: s\n  url: not a url\n");
    sluice.signal(Signal::SIGHUP);
    wait_for("the reload error in the log", LONG, || {
        sluice
            .error_log()
            .contains("keeping the current configuration")
    });
    assert_eq!(sluice.workers(), workers);
    assert_eq!(echo(get(&sluice.url("/kept")))["server"], "up");
}

#[test]
fn quit_lets_an_in_flight_request_finish() {
    let up = Upstream::start("up");
    let mut sluice = Sluice::start(&config(&up, "/"), "");
    let url = sluice.url("/slow/1500");
    let slow = std::thread::spawn(move || get(&url).status().as_u16());
    wait_for("the slow request to reach the upstream", LONG, || {
        up.hits() == 1
    });
    sluice.signal(Signal::SIGQUIT);
    assert_eq!(slow.join().unwrap(), 200);
    assert_eq!(sluice.wait_exit(LONG), 0);
    assert!(!sluice.prefix().join("sluice.pid").exists());
}

#[test]
fn term_stops_fast_and_usr1_reopens_logs() {
    let up = Upstream::start("up");
    let mut sluice = Sluice::start(&config(&up, "/"), "");
    let log = sluice.prefix().join("logs/access.log");
    assert_eq!(get(&sluice.url("/first")).status(), 200);
    wait_for("the first access line", LONG, || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains("/first"))
    });
    std::fs::rename(&log, sluice.prefix().join("logs/access.log.1")).unwrap();
    sluice.signal(Signal::SIGUSR1);
    // Once every worker has reopened, a request from any of them lands in the new file.
    wait_for("the reopened access log", LONG, || {
        let _ = fresh_client().get(sluice.url("/second")).send();
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains("/second"))
    });
    sluice.signal(Signal::SIGTERM);
    assert_eq!(sluice.wait_exit(LONG), 0);
}

#[test]
fn cli_check_reports_every_error_and_controls_a_running_master() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("bad.conf");
    std::fs::write(&conf, "worker_processes = many\nno_such_key = 1\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["check", "-c"])
        .arg(&conf)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("worker_processes") && stderr.contains("no_such_key"),
        "{stderr}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("sluice "));

    let up = Upstream::start("up");
    let mut sluice = Sluice::start(&config(&up, "/"), "");
    let status = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("quit")
        .arg("-p")
        .arg(sluice.prefix())
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(sluice.wait_exit(LONG), 0);
}

/// Kills a daemonized master by its pid file if a test fails before stopping it.
struct DaemonGuard(std::path::PathBuf);

impl Drop for DaemonGuard {
    fn drop(&mut self) {
        if let Some(pid) = std::fs::read_to_string(&self.0)
            .ok()
            .and_then(|p| p.trim().parse().ok())
        {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

#[test]
fn daemon_serves_and_stops_by_its_pid_file() {
    let up = Upstream::start("up");
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path();
    std::fs::write(prefix.join("kong.yml"), config(&up, "/")).unwrap();
    std::fs::write(prefix.join("sluice.conf"), node_conf(prefix, "")).unwrap();
    let pid_file = prefix.join("sluice.pid");
    let _guard = DaemonGuard(pid_file.clone());

    // The command returns once the daemon is detached; the daemon is not our child.
    let status = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["start", "--daemon", "-c"])
        .arg(prefix.join("sluice.conf"))
        .status()
        .unwrap();
    assert!(status.success());
    let read_pid = || {
        std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
    };
    wait_for("the pid file", LONG, || read_pid().is_some());
    let pid = read_pid().unwrap();
    let addrs = std::fs::read_to_string(prefix.join("listen.addrs")).unwrap();
    let proxy = addrs
        .lines()
        .find_map(|l| l.strip_prefix("proxy "))
        .expect("a proxy listener");
    assert_eq!(echo(get(&format!("http://{proxy}/")))["server"], "up");

    let status = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("quit")
        .arg("-p")
        .arg(prefix)
        .status()
        .unwrap();
    assert!(status.success());
    wait_for("the pid file to go", LONG, || !pid_file.exists());
    // Gone, or a zombie its new parent has yet to reap.
    let alive = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit(") ")
                .next()
                .is_some_and(|s| !s.starts_with('Z'))
        })
    };
    wait_for("the master to exit", LONG, || !alive());
    let stopped = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("stop")
        .arg("-p")
        .arg(prefix)
        .output()
        .unwrap();
    assert!(
        !stopped.status.success(),
        "nothing runs in the prefix any more"
    );
}
