//! Behaviour tests through the public API: one process, several threads, several processes.

mod ops;
mod processes;
mod recovery;
mod threads;
mod zoneset;

use std::time::{Duration, Instant};

use crate::Zone;

pub(crate) fn zone(size: usize) -> Zone {
    Zone::create("test", size).expect("create zone")
}

/// Polls `cond` until it holds or `timeout` passes; returns whether it held.
pub(crate) fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
