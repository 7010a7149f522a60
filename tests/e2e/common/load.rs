//! Reloads under load: client threads that keep sending while the gateway changes generation.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use nix::sys::signal::Signal;

use super::http::Client;
use super::{wait_for, Sluice};

const LONG: Duration = Duration::from_secs(30);

/// Sends requests to `path` from four threads, each with its own client from `client`, while
/// `sluice` reloads onto `new_config` (whose upstream answers `x-upstream: new`). Returns once
/// the old workers are gone and the new generation has served more; every request must have
/// been answered 200.
pub fn reload_under_load(sluice: &Sluice, path: &str, new_config: &str, client: fn() -> Client) {
    let url = sluice.url(path);
    let stop = AtomicBool::new(false);
    let (ok, failed) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let saw_new = AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let http = client();
                while !stop.load(Ordering::Relaxed) {
                    match http.get(&url).send() {
                        Ok(r) if r.status() == 200 => {
                            ok.fetch_add(1, Ordering::Relaxed);
                            if r.headers()["x-upstream"] == "new" {
                                saw_new.store(true, Ordering::Relaxed);
                            }
                        }
                        other => {
                            eprintln!("failed during reload: {other:?}");
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
        wait_for("load to start", LONG, || ok.load(Ordering::Relaxed) > 100);
        let old_workers = sluice.workers();
        sluice.write_declarative(new_config);
        sluice.signal(Signal::SIGHUP);
        wait_for("the new config", LONG, || saw_new.load(Ordering::Relaxed));
        wait_for("old workers to exit", LONG, || {
            sluice.workers().iter().all(|p| !old_workers.contains(p))
        });
        let after = ok.load(Ordering::Relaxed);
        wait_for("more load on the new generation", LONG, || {
            ok.load(Ordering::Relaxed) > after + 100
        });
        stop.store(true, Ordering::Relaxed);
    });
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "requests failed across the reload"
    );
}
