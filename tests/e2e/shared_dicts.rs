//! Shared dicts across workers (`lua_shared_dict`, `ngx.shared.DICT`): visibility, atomic `incr`
//! under contention, surviving `kill -9` of writers and `HUP`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::common::http::fresh_client;
use crate::common::upstream::Upstream;
use crate::common::{wait_for, Sluice};

const LONG: Duration = Duration::from_secs(60);

fn config(up: &Upstream) -> String {
    format!(
        "_format_version: \"3.0\"\nservices:\n- name: s\n  url: {}\n  routes:\n  - paths: [/dict]\n    strip_path: false\n    plugins:\n    - name: dict\n",
        up.url()
    )
}

fn node() -> String {
    format!(
        "plugins = dict\nlua_package_path = {}/../tests/fixtures/lua/?.lua;;\nlua_shared_dict = e2e 1m\n",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn call(sluice: &Sluice, path: &str) -> serde_json::Value {
    let resp = fresh_client().get(sluice.url(path)).send().unwrap();
    assert_eq!(resp.status(), 200, "{path}");
    resp.json().unwrap()
}

/// Every dict's consistency check, as the status endpoint of some worker reports it.
fn dicts_consistent(sluice: &Sluice) -> bool {
    let status: serde_json::Value = fresh_client()
        .get(format!("http://{}/status", sluice.admin))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let dicts = status["memory"]["lua_shared_dicts"]
        .as_object()
        .unwrap()
        .clone();
    assert!(
        dicts.contains_key("e2e") && dicts.contains_key("kong"),
        "{dicts:?}"
    );
    dicts.values().all(|d| d["check"] == "ok")
}

#[test]
fn a_value_set_through_one_worker_is_read_through_every_worker() {
    let up = Upstream::start("up");
    let sluice = Sluice::start(&config(&up), &node());
    let set = call(&sluice, "/dict/set?k=greeting&v=hello");
    assert_eq!(set["ok"], true);
    let mut readers = HashSet::new();
    for _ in 0..500 {
        let got = call(&sluice, "/dict/get?k=greeting");
        assert_eq!(got["value"], "hello");
        readers.insert(got["pid"].as_u64().unwrap());
        if readers.len() == 2 {
            break;
        }
    }
    assert_eq!(readers.len(), 2, "reads reached both workers");
    assert!(readers.contains(&set["pid"].as_u64().unwrap()));
}

#[test]
fn incr_is_atomic_across_workers() {
    const THREADS: u64 = 4;
    const EACH: u64 = 250;
    let up = Upstream::start("up");
    let sluice = Arc::new(Sluice::start(&config(&up), &node()));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let sluice = sluice.clone();
            std::thread::spawn(move || {
                let http = fresh_client();
                let mut pids = HashSet::new();
                for _ in 0..EACH {
                    let v: serde_json::Value = http
                        .get(sluice.url("/dict/incr?k=hits"))
                        .send()
                        .unwrap()
                        .json()
                        .unwrap();
                    pids.insert(v["pid"].as_u64().unwrap());
                }
                pids
            })
        })
        .collect();
    let pids: HashSet<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert_eq!(pids.len(), 2, "both workers incremented");
    assert_eq!(
        call(&sluice, "/dict/get?k=hits")["value"],
        (THREADS * EACH) as f64
    );
}

#[test]
fn killing_workers_during_writes_leaves_the_dict_consistent_and_serving() {
    let up = Upstream::start("up");
    let sluice = Arc::new(Sluice::start(&config(&up), &node()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|t| {
            let (sluice, stop) = (sluice.clone(), stop.clone());
            std::thread::spawn(move || {
                let http = fresh_client();
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    // Failures are expected while a worker dies; the dict must survive them.
                    let _ = http
                        .get(sluice.url(&format!(
                            "/dict/set?k=k{t}-{}&v={}",
                            n % 500,
                            "x".repeat(200)
                        )))
                        .send();
                    n += 1;
                }
            })
        })
        .collect();
    for _ in 0..8 {
        let workers = sluice.workers();
        kill(Pid::from_raw(workers[0]), Signal::SIGKILL).unwrap();
        wait_for("the slot to be refilled", LONG, || {
            let now = sluice.workers();
            now.len() == 2 && !now.contains(&workers[0])
        });
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    assert!(dicts_consistent(&sluice));
    assert_eq!(call(&sluice, "/dict/set?k=after&v=1")["ok"], true);
    assert_eq!(call(&sluice, "/dict/get?k=after")["value"], "1");
}

#[test]
fn contents_survive_a_reload() {
    let up = Upstream::start("up");
    let sluice = Sluice::start(&config(&up), &node());
    call(&sluice, "/dict/set?k=kept&v=yes");
    let old = sluice.workers();
    sluice.write_declarative(&config(&up).replace("/dict]", "/dict, /other]"));
    sluice.signal(Signal::SIGHUP);
    wait_for("the new generation", LONG, || {
        let now = sluice.workers();
        now.len() == 2 && now.iter().all(|p| !old.contains(p))
    });
    assert_eq!(call(&sluice, "/dict/get?k=kept")["value"], "yes");
}
