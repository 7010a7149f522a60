//! The zone lock: a process-shared mutex in one `u32` of shared memory, nginx's `ngx_shmtx_t`
//! model.
//!
//! The word holds the holder's pid (0 = free), taken by CAS. A waiter spins briefly, then
//! sleeps on a shared futex. A holder that died keeps the word: the master, when it reaps the
//! worker, calls [`force_unlock`] with its pid (`ngx_shmtx_force_unlock`). Independently, a
//! waiter that has slept [`LIVENESS_CHECK`] while the same pid held the lock checks whether that
//! process still exists (`kill(pid, 0)` fails with `ESRCH`, or `/proc/<pid>/stat` says zombie
//! or dead) and steals the lock if not.
//!
//! Pid reuse: a pid cannot be reused while the dead process is an unreaped zombie, and our
//! master force-unlocks right after reaping, so a dead holder is either seen as a zombie or
//! already unlocked. Only if some other reaper collected the holder *and* the kernel handed its
//! pid to a new process before anyone looked would the lock stay held; we accept that (nginx
//! makes the same trade) rather than risk stealing from a live holder.
//!
//! Threads of one process share the pid; mutual exclusion does not depend on the value, only
//! on the CAS from 0, so several threads are fine. A process never considers itself dead.
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;

/// How long a waiter sleeps before it checks whether the holder is still alive.
const LIVENESS_CHECK: Duration = Duration::from_millis(20);

/// Spin rounds before sleeping; each round pauses twice as long as the previous one
/// (`ngx_shmtx_lock` with `ngx_shmtx_spin` = 2048 does the same).
const SPIN_ROUNDS: u32 = 11;

static PID: AtomicU32 = AtomicU32::new(0);
static ATFORK: Once = Once::new();

extern "C" fn forget_pid() {
    PID.store(0, Ordering::Relaxed);
}

/// This process's pid, cached; the cache is cleared in a forked child by a `pthread_atfork`
/// handler, so a worker never locks with its master's pid.
pub(crate) fn current_pid() -> u32 {
    let pid = PID.load(Ordering::Relaxed);
    if pid != 0 {
        return pid;
    }
    ATFORK.call_once(|| {
        // SAFETY: registers a child handler that only stores to an atomic (async-signal-safe);
        // no prepare/parent handlers. The return value only reports ENOMEM; without the
        // handler we would still be correct in processes that never fork.
        unsafe {
            libc::pthread_atfork(None, None, Some(forget_pid));
        }
    });
    let pid = std::process::id();
    PID.store(pid, Ordering::Relaxed);
    pid
}

/// Takes the lock; returns whether it was stolen from a dead holder.
pub(crate) fn acquire(word: &AtomicU32, waiters: &AtomicU32) -> bool {
    let me = current_pid();
    if try_take(word, me) {
        return false;
    }
    let mut pause = 1u32;
    for _ in 0..SPIN_ROUNDS {
        for _ in 0..pause {
            std::hint::spin_loop();
        }
        if word.load(Ordering::Relaxed) == 0 && try_take(word, me) {
            return false;
        }
        pause <<= 1;
    }
    waiters.fetch_add(1, Ordering::SeqCst);
    let stolen = sleep_until_taken(word, me);
    waiters.fetch_sub(1, Ordering::SeqCst);
    stolen
}

fn try_take(word: &AtomicU32, me: u32) -> bool {
    word.compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed)
        .is_ok()
}

fn sleep_until_taken(word: &AtomicU32, me: u32) -> bool {
    loop {
        let holder = word.load(Ordering::SeqCst);
        if holder == 0 {
            if try_take(word, me) {
                return false;
            }
            continue;
        }
        if futex_wait(word, holder, LIVENESS_CHECK) == Wait::TimedOut
            && holder != me
            && is_dead(holder)
            && word
                .compare_exchange(holder, me, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        {
            return true;
        }
    }
}

/// Releases the lock taken by [`acquire`].
pub(crate) fn release(word: &AtomicU32, waiters: &AtomicU32) {
    word.store(0, Ordering::SeqCst);
    if waiters.load(Ordering::SeqCst) != 0 {
        futex_wake(word, 1);
    }
}

/// Frees the lock if `pid` holds it (the master calls this for every worker it reaps).
pub(crate) fn force_unlock(word: &AtomicU32, pid: u32) -> bool {
    if pid == 0 {
        return false;
    }
    let freed = word
        .compare_exchange(pid, 0, Ordering::SeqCst, Ordering::Relaxed)
        .is_ok();
    if freed {
        // Waiters may sleep on the dead pid's value; wake them all, the CAS picks one.
        futex_wake(word, i32::MAX);
    }
    freed
}

/// Whether `pid` no longer runs: gone (`ESRCH`) or a zombie waiting to be reaped.
fn is_dead(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return true;
    };
    match kill(Pid::from_raw(raw), None) {
        Err(Errno::ESRCH) => true,
        _ => is_zombie(pid),
    }
}

fn is_zombie(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        // The process vanished between kill() and the read.
        return true;
    };
    // "pid (comm) S ...": comm may contain spaces and parentheses, the state follows the last ')'.
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].trim_start().chars().next());
    matches!(state, Some('Z' | 'X' | 'x'))
}

#[derive(PartialEq, Eq)]
enum Wait {
    Woken,
    TimedOut,
}

fn futex_wait(word: &AtomicU32, expected: u32, timeout: Duration) -> Wait {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: FUTEX_WAIT (shared, not PRIVATE: the word lives in MAP_SHARED memory used by
    // several processes) only reads the u32 behind `word`, which stays valid for the call;
    // `ts` outlives the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &ts as *const libc::timespec,
        )
    };
    if rc == -1 && Errno::last() == Errno::ETIMEDOUT {
        Wait::TimedOut
    } else {
        Wait::Woken
    }
}

fn futex_wake(word: &AtomicU32, count: i32) {
    // SAFETY: FUTEX_WAKE does not access memory through the pointer; it only uses the
    // address as the key of the wait queue.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn pid_is_this_process() {
        assert_eq!(current_pid(), std::process::id());
    }

    #[test]
    fn threads_exclude_each_other() {
        let word = Arc::new(AtomicU32::new(0));
        let waiters = Arc::new(AtomicU32::new(0));
        let counter = Arc::new(AtomicU32::new(0));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (word, waiters, counter) = (word.clone(), waiters.clone(), counter.clone());
                std::thread::spawn(move || {
                    for _ in 0..20_000 {
                        acquire(&word, &waiters);
                        // A non-atomic read-modify-write made of two atomic steps: lost
                        // updates would show if two threads were inside at once.
                        let v = counter.load(Ordering::Relaxed);
                        counter.store(v + 1, Ordering::Relaxed);
                        release(&word, &waiters);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(counter.load(Ordering::Relaxed), 80_000);
        assert_eq!(word.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn force_unlock_only_frees_that_pid() {
        let word = AtomicU32::new(4242);
        assert!(!force_unlock(&word, 4243));
        assert!(!force_unlock(&word, 0));
        assert!(force_unlock(&word, 4242));
        assert_eq!(word.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn liveness() {
        assert!(!is_dead(std::process::id()));
        // pid_max is at most 2^22 on Linux, so this pid never exists.
        assert!(is_dead(1 << 23));
    }

    #[test]
    fn steals_from_a_dead_holder() {
        let word = AtomicU32::new(1 << 23);
        let waiters = AtomicU32::new(0);
        assert!(acquire(&word, &waiters));
        assert_eq!(word.load(Ordering::Relaxed), current_pid());
        release(&word, &waiters);
    }
}
