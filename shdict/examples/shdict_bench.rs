//! Throughput of `get`/`set`/`incr`, from one process and from N processes contending on one
//! zone (children re-execute this binary and map the zone from an inherited memfd).
//!
//! `cargo run --release -p sluice-shdict --example shdict_bench [ops_per_process] [max_procs]`

use std::os::fd::{AsRawFd, OwnedFd};
use std::process::Command;
use std::time::{Duration, Instant};

use sluice_shdict::{OwnedValue, Value, Zone};

const OPS: [&str; 5] = ["get", "set", "incr", "incr-own-key", "get-miss"];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        child(&args[2..]);
        return;
    }
    let per_proc: u64 = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let max_procs: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(4);
    let zone = Zone::create("bench", 16 << 20).expect("create zone");
    for key in keys() {
        zone.set(&key, Value::Str(&[b'v'; 32]), 0.0, 0)
            .expect("prefill");
    }
    println!(
        "{per_proc} ops per process; zone of 16 MiB; {} cpus",
        cpus()
    );
    println!(
        "{:<14}{:>6}{:>16}{:>14}",
        "op", "procs", "total ops/s", "ns/op/proc"
    );
    for op in OPS {
        let mut procs = 1;
        while procs <= max_procs {
            let elapsed = if procs == 1 {
                run(&zone, op, per_proc, 0)
            } else {
                run_children(&zone, op, per_proc, procs)
            };
            let total = per_proc as f64 * procs as f64;
            println!(
                "{op:<14}{procs:>6}{:>16.0}{:>14.1}",
                total / elapsed.as_secs_f64(),
                elapsed.as_nanos() as f64 / per_proc as f64
            );
            procs *= 2;
        }
    }
    let stats = zone.stats();
    println!("items {}, recoveries {}", stats.items, stats.recoveries);
}

/// Runs `count` operations of kind `op` as process number `id`; returns the time taken.
fn run(zone: &Zone, op: &str, count: u64, id: usize) -> Duration {
    let value = [b'v'; 32];
    let keys = keys();
    let own = format!("bench:proc:{id}").into_bytes();
    let start = Instant::now();
    for i in 0..count as usize {
        let key = &keys[i & 1023];
        match op {
            "get" => {
                std::hint::black_box(zone.get(key).expect("get"));
            }
            "set" => {
                zone.set(key, Value::Str(&value), 0.0, 0).expect("set");
            }
            "incr" => {
                zone.incr(b"bench:counter", 1.0, Some(0.0), 0.0)
                    .expect("incr");
            }
            "incr-own-key" => {
                zone.incr(&own, 1.0, Some(0.0), 0.0).expect("incr");
            }
            _ => {
                std::hint::black_box(zone.get(b"bench:missing").expect("get"));
            }
        }
    }
    start.elapsed()
}

/// Runs `procs` child processes at once; returns the slowest child's time.
fn run_children(zone: &Zone, op: &str, count: u64, procs: usize) -> Duration {
    zone.delete(b"bench:go").expect("reset barrier");
    let fd = zone.inheritable_fd().expect("dup zone fd");
    let exe = std::env::current_exe().expect("own path");
    let children: Vec<_> = (0..procs)
        .map(|id| {
            Command::new(&exe)
                .args([
                    "--child",
                    op,
                    &count.to_string(),
                    &fd.as_raw_fd().to_string(),
                ])
                .arg(id.to_string())
                .spawn()
                .expect("spawn child")
        })
        .collect();
    drop(fd);
    // Start them together once all are ready.
    while zone.llen(b"bench:ready").expect("llen") < procs {
        std::thread::yield_now();
    }
    zone.set(b"bench:go", true.into(), 0.0, 0).expect("go");
    for mut child in children {
        assert!(child.wait().expect("wait").success());
    }
    let mut slowest = Duration::ZERO;
    while let Some(OwnedValue::Number(ns)) = zone.lpop(b"bench:times").expect("times") {
        slowest = slowest.max(Duration::from_nanos(ns as u64));
    }
    zone.delete(b"bench:ready").expect("reset");
    slowest
}

fn child(args: &[String]) {
    let [op, count, fd, id] = args else {
        panic!("usage: --child OP COUNT FD ID");
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(format!("/proc/self/fd/{fd}"))
        .expect("inherited fd");
    let zone = Zone::from_fd("bench", OwnedFd::from(file)).expect("map zone");
    let id: usize = id.parse().expect("id");
    zone.rpush(b"bench:ready", Value::Number(id as f64))
        .expect("ready");
    while zone.get(b"bench:go").expect("go").is_none() {
        std::thread::yield_now();
    }
    let elapsed = run(&zone, op, count.parse().expect("count"), id);
    zone.rpush(b"bench:times", Value::Number(elapsed.as_nanos() as f64))
        .expect("report");
}

/// The 1024 keys `get` and `set` cycle through (stored before any run).
fn keys() -> Vec<Vec<u8>> {
    (0..1024)
        .map(|i| format!("bench:key:{i}").into_bytes())
        .collect()
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
