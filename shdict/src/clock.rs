//! Expiry time base: CLOCK_MONOTONIC milliseconds. The clock is system-wide, so every process
//! sharing a zone agrees on it, and it never jumps with wall-clock changes.

use nix::time::{clock_gettime, ClockId};

pub(crate) fn now_ms() -> u64 {
    // CLOCK_MONOTONIC cannot fail on Linux; 1 (already past every real expiry) is a harmless
    // fallback that keeps expiry arithmetic defined.
    clock_gettime(ClockId::CLOCK_MONOTONIC).map_or(1, |t| {
        (t.tv_sec() as u64) * 1000 + (t.tv_nsec() as u64) / 1_000_000
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn advances() {
        let a = super::now_ms();
        std::thread::sleep(std::time::Duration::from_millis(3));
        assert!(super::now_ms() >= a + 3);
    }
}
