//! Forking: the only module of the master that calls `fork`. The master never starts a thread
//! (no runtime, no logging thread), which is what makes running Rust code in the child sound.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::panic::{catch_unwind, AssertUnwindSafe};

use nix::unistd::{fork, ForkResult, Pid};

/// Exit status of a child whose code panicked (respawned like any crash).
const EXIT_PANIC: i32 = 70;

/// Forks and runs `child` in the new process, which exits with its return value. The child never
/// returns into the master's code, even if `child` panics.
pub fn spawn(child: impl FnOnce() -> i32) -> io::Result<Pid> {
    debug_assert_eq!(
        thread_count(),
        1,
        "the master must be single-threaded when it forks"
    );
    // SAFETY: the master process is single-threaded (checked above in debug builds), so the child
    // is a complete copy with no lock held by a vanished thread, and may run arbitrary code.
    match unsafe { fork() }? {
        ForkResult::Parent { child } => Ok(child),
        ForkResult::Child => {
            let code = catch_unwind(AssertUnwindSafe(child)).unwrap_or(EXIT_PANIC);
            std::process::exit(code)
        }
    }
}

/// Detaches from the terminal (`sluice start --daemon`): the calling process exits, the
/// daemon continues in a new session with standard streams on `/dev/null`.
pub fn daemonize() -> io::Result<()> {
    if let ForkResult::Parent { .. } = {
        // SAFETY: called before any thread exists (same reasoning as `spawn`).
        unsafe { fork() }?
    } {
        std::process::exit(0);
    }
    nix::unistd::setsid()?;
    let null = OwnedFd::from(
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")?,
    );
    for fd in 0..=2 {
        // SAFETY: dup2 onto the standard descriptors, which this process owns; `null` stays open
        // for the duration of the call.
        if unsafe { libc::dup2(null.as_raw_fd(), fd) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(1, |d| d.count())
}

/// Starts a plugin-server sidecar as Kong does (`/bin/sh -c "exec <cmd>"`) in `dir`, stdin on
/// `/dev/null`, stdout and stderr into `output`. It gets `SIGTERM` if the master dies, so a
/// killed master leaves no orphan holding the socket.
///
/// It starts with no signal blocked: the master blocks the signals it reads from its signalfd,
/// and a blocked mask survives exec. Servers that keep the mask they are given (Python's
/// kong-pdk does; Node resets it) would otherwise leave `SIGTERM` pending forever, so stopping
/// them needed `SIGKILL` and a killed master left them running.
pub fn spawn_sidecar(cmd: &str, dir: &std::path::Path, output: OwnedFd) -> io::Result<Pid> {
    use nix::sys::signal::{sigprocmask, SigSet, SigmaskHow, Signal};
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};

    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(format!("exec {cmd}"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(output.try_clone()?))
        .stderr(Stdio::from(output));
    // SAFETY: the closure runs in the forked child before exec and only calls sigprocmask(2)
    // and prctl(2), which allocate nothing and take no lock.
    unsafe {
        command.pre_exec(|| {
            sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)?;
            nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).map_err(io::Error::from)
        });
    }
    let child = command.spawn()?;
    Ok(Pid::from_raw(child.id() as i32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::signal::{SigSet, Signal};
    use nix::sys::wait::waitpid;
    use std::io::Read;
    use std::path::Path;

    #[test]
    fn sidecars_start_with_no_signal_blocked() {
        // As the master does before it starts sidecars (the mask is this test thread's).
        let mut blocked = SigSet::empty();
        blocked.add(Signal::SIGTERM);
        blocked.thread_block().unwrap();
        let (read, write) = nix::unistd::pipe().unwrap();
        let pid = spawn_sidecar("grep SigBlk /proc/self/status", Path::new("/"), write);
        blocked.thread_unblock().unwrap();
        let pid = pid.unwrap();
        let mut out = String::new();
        std::fs::File::from(read).read_to_string(&mut out).unwrap();
        waitpid(pid, None).unwrap();
        assert_eq!(out.trim(), "SigBlk:\t0000000000000000");
    }
}
