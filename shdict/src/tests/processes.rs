//! Several processes on one zone. Children are this test binary re-executed with only
//! [`child_process`] selected, a role in the environment, and the zone's memfd inherited
//! (never `fork` inside the multi-threaded test harness).

use std::os::fd::{AsRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::{wait_for, zone, Rng};
use crate::{Error, OwnedValue, Value, Zone};

const ROLE: &str = "SLUICE_SHDICT_TEST_ROLE";
const FD: &str = "SLUICE_SHDICT_TEST_FD";
const ARG: &str = "SLUICE_SHDICT_TEST_ARG";

/// The child side. Without a role in the environment (a normal test run) it does nothing.
#[test]
fn child_process() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let fd = std::env::var(FD).expect("zone fd");
    // Reopening /proc/self/fd/N yields a new fd for the same memfd, without unsafe.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(format!("/proc/self/fd/{fd}"))
        .expect("open inherited zone fd");
    let zone = Zone::from_fd("child", OwnedFd::from(file)).expect("map inherited zone");
    let arg: u64 = std::env::var(ARG)
        .ok()
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    match role.as_str() {
        "echo" => {
            let Some((OwnedValue::Str(ping), _)) = zone.get(b"ping").unwrap() else {
                panic!("no ping");
            };
            let pong = [&ping[..], b"!"].concat();
            zone.set(b"pong", Value::Str(&pong), 0.0, 0).unwrap();
        }
        "incr" => {
            for _ in 0..arg {
                zone.incr(b"counter", 1.0, Some(0.0), 0.0).unwrap();
            }
        }
        "hold" => zone.hold_lock_forever(false),
        "hold-corrupt" => zone.hold_lock_forever(true),
        "writer" => write_forever(&zone, arg, true),
        "safe-writer" => write_forever(&zone, arg, false),
        other => panic!("unknown role {other}"),
    }
    std::process::exit(0);
}

/// Heavy mixed writes on keys `w*` until killed; with `evict`, stores evict other items,
/// otherwise nothing outside `w*` is ever touched.
fn write_forever(zone: &Zone, seed: u64, evict: bool) -> ! {
    let mut rng = Rng::new(seed);
    loop {
        let key = format!("w{}", rng.below(300)).into_bytes();
        let value = vec![b'w'; rng.below(1500) as usize];
        let result = match rng.below(8) {
            0 | 1 if evict => zone.set(&key, Value::Str(&value), 0.0, 3).map(drop),
            0 | 1 => zone.safe_set(&key, Value::Str(&value), 0.0, 3).map(drop),
            2 if evict => zone.incr(&key, 1.0, Some(0.0), 0.0).map(drop),
            2 => zone.incr(&key, 1.0, None, 0.0).map(drop),
            3 => zone
                .rpush(&key, Value::Str(&value[..value.len() / 8]))
                .map(drop),
            4 => zone.lpop(&key).map(drop),
            5 => zone.delete(&key),
            6 => zone.expire(&key, 0.001),
            _ => {
                zone.flush_expired(5);
                Ok(())
            }
        };
        match result {
            // Lists never evict, so a push into a full zone may be refused.
            Ok(())
            | Err(Error::NotANumber | Error::ValueNotList | Error::NotFound | Error::NoMemory) => {}
            Err(e) => panic!("writer: {e}"),
        }
    }
}

fn spawn(zone: &Zone, role: &str, arg: u64) -> Child {
    let fd = zone.inheritable_fd().expect("dup zone fd");
    let child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "tests::processes::child_process",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(ROLE, role)
        .env(FD, fd.as_raw_fd().to_string())
        .env(ARG, arg.to_string())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn child");
    drop(fd);
    child
}

fn finish(mut child: Child) {
    let status = child.wait().expect("wait child");
    assert!(status.success(), "child failed: {status}");
}

fn sigkill(child: &Child) {
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).expect("kill child");
}

/// Runs `op` on another thread and fails (instead of hanging) if it does not finish.
fn within<R: Send + 'static>(timeout: Duration, op: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(op());
    });
    rx.recv_timeout(timeout).expect("operation blocked")
}

#[test]
fn writes_are_visible_across_processes() {
    let z = zone(64 * 1024);
    z.set(b"ping", "hello".into(), 0.0, 0).unwrap();
    finish(spawn(&z, "echo", 0));
    assert_eq!(
        z.get(b"pong"),
        Ok(Some((OwnedValue::Str(b"hello!".to_vec()), 0)))
    );
}

#[test]
fn incr_is_atomic_across_processes() {
    let z = zone(64 * 1024);
    let (procs, per_proc) = (4, 25_000);
    let children: Vec<_> = (0..procs).map(|_| spawn(&z, "incr", per_proc)).collect();
    for child in children {
        finish(child);
    }
    assert_eq!(
        z.get(b"counter"),
        Ok(Some((OwnedValue::Number((procs * per_proc) as f64), 0)))
    );
    z.check().unwrap();
}

#[test]
fn the_master_force_unlocks_a_killed_holder() {
    let z = Arc::new(zone(64 * 1024));
    z.set(b"before", "v".into(), 0.0, 0).unwrap();
    let mut child = spawn(&z, "hold-corrupt", 0);
    let pid = child.id();
    assert!(wait_for(Duration::from_secs(10), || z.lock_holder() == pid));
    sigkill(&child);
    child.wait().unwrap();
    // As the master does when it reaps a worker.
    assert!(z.force_unlock(pid));
    assert!(!z.force_unlock(pid));
    let z2 = z.clone();
    within(Duration::from_secs(10), move || {
        z2.set(b"after", "v".into(), 0.0, 0)
    })
    .unwrap();
    // The holder had broken the item count: recovery rebuilt the indexes, keeping the items.
    let stats = z.stats();
    assert_eq!((stats.recoveries, stats.rebuilds, stats.resets), (1, 1, 0));
    assert_eq!(
        z.get(b"before"),
        Ok(Some((OwnedValue::Str(b"v".to_vec()), 0)))
    );
    assert_eq!(
        z.get(b"after"),
        Ok(Some((OwnedValue::Str(b"v".to_vec()), 0)))
    );
    z.check().unwrap();
}

#[test]
fn a_waiter_steals_the_lock_of_a_dead_unreaped_holder() {
    let z = Arc::new(zone(64 * 1024));
    z.set(b"before", "v".into(), 0.0, 0).unwrap();
    let mut child = spawn(&z, "hold", 0);
    let pid = child.id();
    assert!(wait_for(Duration::from_secs(10), || z.lock_holder() == pid));
    sigkill(&child);
    // Not reaped: the holder is a zombie, which the waiter recognises.
    let z2 = z.clone();
    within(Duration::from_secs(10), move || z2.get(b"before")).unwrap();
    child.wait().unwrap();
    let stats = z.stats();
    assert_eq!((stats.recoveries, stats.resets), (1, 0));
    assert_eq!(
        z.get(b"before"),
        Ok(Some((OwnedValue::Str(b"v".to_vec()), 0)))
    );
    z.check().unwrap();
}

#[test]
fn killing_writers_mid_write_never_breaks_the_zone() {
    let z = Arc::new(zone(64 * 1024));
    // A survivor keeps working throughout; it must never block or see an error.
    let stop = Arc::new(AtomicBool::new(false));
    let survivor_ops = Arc::new(AtomicU64::new(0));
    let survivor = {
        let (z, stop, ops) = (z.clone(), stop.clone(), survivor_ops.clone());
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                z.incr(b"survivor", 1.0, Some(0.0), 0.0).unwrap();
                z.set(b"survivor-s", "alive".into(), 0.0, 0).unwrap();
                ops.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let mut rng = Rng::new(99);
    let mut killed_holding = 0;
    for round in 0..40 {
        let mut child = spawn(&z, "writer", round + 1);
        let pid = child.id();
        // Wait until the writer is in full swing, then kill it at a random moment.
        assert!(wait_for(Duration::from_secs(10), || z.lock_holder() == pid));
        for _ in 0..rng.below(200_000) {
            std::hint::spin_loop();
        }
        sigkill(&child);
        child.wait().unwrap();
        if z.force_unlock(pid) {
            killed_holding += 1;
        }
        z.check().unwrap_or_else(|e| panic!("round {round}: {e}"));
    }
    stop.store(true, Ordering::Relaxed);
    survivor.join().unwrap();
    z.check().unwrap();
    let stats = z.stats();
    eprintln!(
        "killed while holding the lock: {killed_holding}/40, recoveries {}, rebuilds {}, \
         resets {}, survivor ops {}",
        stats.recoveries,
        stats.rebuilds,
        stats.resets,
        survivor_ops.load(Ordering::Relaxed)
    );
    // (A kill between taking the lock and setting the dirty word needs no recovery, so the
    // two counts may differ slightly.)
    assert!(
        stats.recoveries > 0,
        "no kill landed inside a critical section"
    );
    // The block chain stays walkable at every instant, so no crash empties the zone.
    assert_eq!(stats.resets, 0);
    assert!(stats.rebuilds <= stats.recoveries);
    assert!(survivor_ops.load(Ordering::Relaxed) > 0);
}

#[test]
fn a_killed_writer_loses_nothing_it_was_not_writing() {
    let z = Arc::new(zone(64 * 1024));
    for i in 0..50 {
        z.set(format!("s{i}").as_bytes(), Value::Number(i.into()), 0.0, 7)
            .unwrap();
    }
    z.rpush(b"s-list", "x".into()).unwrap();
    z.rpush(b"s-list", "y".into()).unwrap();
    z.set(b"survivor", Value::Number(0.0), 0.0, 0).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let survivor = {
        let (z, stop) = (z.clone(), stop.clone());
        thread::spawn(move || {
            let mut done = 0u64;
            while !stop.load(Ordering::Relaxed) {
                z.incr(b"survivor", 1.0, None, 0.0).unwrap();
                done += 1;
            }
            done
        })
    };
    let mut rng = Rng::new(7);
    for round in 0..40 {
        let mut child = spawn(&z, "safe-writer", round + 1);
        let pid = child.id();
        assert!(wait_for(Duration::from_secs(10), || z.lock_holder() == pid));
        for _ in 0..rng.below(200_000) {
            std::hint::spin_loop();
        }
        sigkill(&child);
        child.wait().unwrap();
        z.force_unlock(pid);
        z.check().unwrap_or_else(|e| panic!("round {round}: {e}"));
    }
    stop.store(true, Ordering::Relaxed);
    let done = survivor.join().unwrap();
    assert_eq!(
        z.get(b"survivor"),
        Ok(Some((OwnedValue::Number(done as f64), 0)))
    );
    for i in 0..50 {
        assert_eq!(
            z.get(format!("s{i}").as_bytes()),
            Ok(Some((OwnedValue::Number(i.into()), 7)))
        );
    }
    assert_eq!(z.lpop(b"s-list"), Ok(Some(OwnedValue::Str(b"x".to_vec()))));
    assert_eq!(z.lpop(b"s-list"), Ok(Some(OwnedValue::Str(b"y".to_vec()))));
    let stats = z.stats();
    assert!(stats.recoveries > 0);
    assert_eq!(stats.resets, 0);
}
