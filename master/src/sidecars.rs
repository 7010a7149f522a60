//! Plugin-server sidecars (`pluginserver_<name>_start_cmd`), supervised by the master as Kong's
//! worker 0 does: started before the workers, their output copied to the error log line by line,
//! restarted with backoff when they die (except on exit code 127, "command not found", as
//! Kong), kept across reloads while their settings are unchanged, and stopped after the workers.
//! They run in the prefix directory, so relative paths in a start command (`-kong-prefix .`)
//! resolve as relative socket paths do.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use sluice_conf::PluginServer;

use crate::process;

/// How long start-up waits for a new sidecar's socket to accept connections, so the first
/// requests find it (Kong 3.2–3.4 waited 20 s the same way).
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// Sidecars start at least this far apart (Kong's respawn interval); repeated quick deaths
/// double it up to [`MAX_RESTART_DELAY`].
const MIN_RESTART_DELAY: Duration = Duration::from_secs(1);
const MAX_RESTART_DELAY: Duration = Duration::from_secs(30);
/// A sidecar that lived this long restarts at once when it dies.
const HEALTHY_UPTIME: Duration = Duration::from_secs(10);
/// The shell's status for a command it cannot find: restarting would not help.
const EXIT_NOT_FOUND: i32 = 127;

struct Sidecar {
    server: PluginServer,
    /// The start command (servers without one are managed outside the gateway).
    cmd: String,
    pid: Option<Pid>,
    /// Read end of the pipe its stdout and stderr go to.
    output: Option<File>,
    /// Bytes of an output line not yet complete.
    partial: Vec<u8>,
    started: Instant,
    failures: u32,
    restart_at: Option<Instant>,
    /// Dropped by a reload or stopping: its exit is expected.
    retiring: bool,
}

pub struct Sidecars {
    /// The working directory of every sidecar.
    prefix: PathBuf,
    list: Vec<Sidecar>,
}

impl Sidecars {
    pub fn new(prefix: PathBuf) -> Sidecars {
        Sidecars {
            prefix,
            list: Vec::new(),
        }
    }

    /// Starts the sidecars of `servers` that are not running yet with the same settings, and
    /// retires those no longer configured. Waits (bounded) until every new one listens.
    pub fn reconcile(&mut self, servers: &[PluginServer]) {
        for s in &mut self.list {
            if !servers.iter().any(|n| same(n, &s.server)) {
                s.retire();
            }
        }
        let mut started = Vec::new();
        for server in servers {
            let Some(cmd) = &server.start_cmd else {
                sluice_log::warn!(
                    "start_command undefined for pluginserver {}; assuming external process management",
                    server.name
                );
                continue;
            };
            if self
                .list
                .iter()
                .any(|s| !s.retiring && same(server, &s.server))
            {
                continue;
            }
            let mut sidecar = Sidecar {
                server: server.clone(),
                cmd: cmd.clone(),
                pid: None,
                output: None,
                partial: Vec::new(),
                started: Instant::now(),
                failures: 0,
                restart_at: None,
                retiring: false,
            };
            // A socket left by a previous run would make the server fail to bind.
            let _ = std::fs::remove_file(&server.socket);
            sidecar.start(&self.prefix);
            started.push(server.socket.clone());
            self.list.push(sidecar);
        }
        let deadline = Instant::now() + READY_TIMEOUT;
        for socket in started {
            while UnixStream::connect(&socket).is_err() {
                if Instant::now() >= deadline {
                    sluice_log::warn!(
                        "plugin server socket {} is not accepting connections yet",
                        socket.display()
                    );
                    break;
                }
                self.pump_output(Duration::from_millis(20));
            }
        }
    }

    /// Handles the exit of `pid` if it is a sidecar; returns whether it was one.
    pub fn reaped(&mut self, pid: Pid, status: &str, code: Option<i32>) -> bool {
        let Some(i) = self.list.iter().position(|s| s.pid == Some(pid)) else {
            return false;
        };
        let s = &mut self.list[i];
        s.drain_output();
        s.pid = None;
        if s.retiring {
            sluice_log::info!("plugin server {} (pid {pid}) {status}", s.server.name);
            self.list.remove(i);
        } else if code == Some(EXIT_NOT_FOUND) {
            sluice_log::alert!(
                "plugin server {} (pid {pid}) {status}: command not found, not restarted: {}",
                s.server.name,
                s.cmd
            );
            self.list.remove(i);
        } else {
            let uptime = s.started.elapsed();
            s.failures = if uptime >= HEALTHY_UPTIME {
                0
            } else {
                s.failures + 1
            };
            let delay = match s.failures {
                0 => Duration::ZERO,
                n => (MIN_RESTART_DELAY * 2u32.saturating_pow(n - 1)).min(MAX_RESTART_DELAY),
            };
            sluice_log::alert!(
                "plugin server {} (pid {pid}) {status}, restarting in {delay:?}",
                s.server.name
            );
            s.restart_at = Some(Instant::now() + delay);
        }
        true
    }

    /// The earliest pending restart.
    pub fn next_timer(&self) -> Option<Instant> {
        self.list.iter().filter_map(|s| s.restart_at).min()
    }

    /// Restarts the sidecars whose backoff has passed.
    pub fn run_timers(&mut self) {
        let now = Instant::now();
        for s in &mut self.list {
            if s.restart_at.is_some_and(|t| t <= now) {
                s.restart_at = None;
                s.start(&self.prefix);
            }
        }
    }

    /// The output pipes to poll.
    pub fn fds(&self) -> Vec<BorrowedFd<'_>> {
        self.list
            .iter()
            .filter_map(|s| s.output.as_ref().map(|o| o.as_fd()))
            .collect()
    }

    /// Copies what the sidecars wrote to the error log (the pipes are non-blocking).
    pub fn read_output(&mut self) {
        for s in &mut self.list {
            s.drain_output();
        }
    }

    /// Stopping: `SIGTERM` to every sidecar, none restarted.
    pub fn terminate(&mut self) {
        for s in &mut self.list {
            s.retire();
        }
        self.list.retain(|s| s.pid.is_some());
    }

    /// `SIGKILL` to the sidecars that ignored `terminate`.
    pub fn kill_all(&self) {
        for pid in self.list.iter().filter_map(|s| s.pid) {
            sluice_log::warn!("plugin server {pid} did not exit in time, sending SIGKILL");
            let _ = kill(pid, Signal::SIGKILL);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Waits up to `wait` for output while start-up polls a socket.
    fn pump_output(&mut self, wait: Duration) {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let fds = self.fds();
        let mut polled: Vec<PollFd> = fds
            .iter()
            .map(|fd| PollFd::new(*fd, PollFlags::POLLIN))
            .collect();
        let timeout = PollTimeout::try_from(wait.as_millis() as u32).unwrap_or(PollTimeout::MAX);
        let _ = poll(&mut polled, timeout);
        drop(polled);
        self.read_output();
    }
}

impl Sidecar {
    fn start(&mut self, dir: &Path) {
        let pipe = nix::unistd::pipe2(OFlag::O_CLOEXEC).and_then(|(r, w)| {
            fcntl(&r, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
            Ok((r, w))
        });
        let (read, write) = match pipe {
            Ok(p) => p,
            Err(e) => {
                sluice_log::alert!("plugin server {}: pipe: {e}", self.server.name);
                self.restart_at = Some(Instant::now() + MIN_RESTART_DELAY);
                return;
            }
        };
        self.started = Instant::now();
        match process::spawn_sidecar(&self.cmd, dir, write) {
            Ok(pid) => {
                sluice_log::notice!(
                    "started plugin server {} (pid {pid}): {}",
                    self.server.name,
                    self.cmd
                );
                self.pid = Some(pid);
                self.output = Some(File::from(read));
            }
            Err(e) => {
                sluice_log::alert!("cannot start plugin server {}: {e}", self.server.name);
                self.restart_at = Some(Instant::now() + MAX_RESTART_DELAY);
            }
        }
    }

    fn retire(&mut self) {
        self.retiring = true;
        self.restart_at = None;
        if let Some(pid) = self.pid {
            let _ = kill(pid, Signal::SIGTERM);
        }
    }

    /// Logs every complete line the sidecar wrote, as `[name:pid] line` (Kong's format).
    fn drain_output(&mut self) {
        let Some(file) = &mut self.output else {
            return;
        };
        let mut buf = [0u8; 16 * 1024];
        let eof = loop {
            match file.read(&mut buf) {
                Ok(0) => break true,
                Ok(n) => self.partial.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break false,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => break true,
            }
        };
        let pid = self.pid.map_or(0, Pid::as_raw);
        let mut lines: Vec<&[u8]> = self.partial.split(|&b| b == b'\n').collect();
        // Without EOF the last piece is an incomplete line, kept for the next read.
        let rest = if eof {
            Vec::new()
        } else {
            lines.pop().unwrap_or_default().to_vec()
        };
        for line in printable(lines) {
            sluice_log::notice!("[{}:{pid}] {line}", self.server.name);
        }
        self.partial = rest;
        if eof {
            self.output = None;
        }
    }
}

/// Moves the cursor one line up, at the start of a line that redraws the one before.
const CURSOR_UP: &[u8] = b"\x1b[1A";

/// Complete output lines as plain text for the error log, blank ones left out. Terminal escape
/// sequences and control characters are dropped, and a line that starts by moving the cursor
/// up replaces the line before it when both came in together: Kong's JS server logs through a
/// library that draws each line several times over that way.
fn printable<'a>(lines: impl IntoIterator<Item = &'a [u8]>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in lines {
        if line.starts_with(CURSOR_UP) {
            out.pop();
        }
        out.push(plain(line));
    }
    out.retain(|l| !l.is_empty());
    out
}

/// `line` without escape sequences (`ESC [ ... final`, or `ESC` and one character), control
/// characters but tabs, and trailing white space.
fn plain(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.next() == Some('[') {
                chars.find(|c| ('@'..='~').contains(c));
            }
        } else if c == '\t' || !c.is_control() {
            out.push(c);
        }
    }
    out.truncate(out.trim_end().len());
    out
}

/// Whether a running sidecar still matches a server's settings.
fn same(a: &PluginServer, b: &PluginServer) -> bool {
    a.name == b.name && a.socket == b.socket && a.start_cmd == b.start_cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_lines_are_plain_text() {
        let lines: [&[u8]; 3] = [b"plain\tline  ", b"", b"\x1b[31mred\x1b[0m \x07bell\r"];
        assert_eq!(printable(lines), ["plain\tline", "red bell"]);
    }

    #[test]
    fn redrawn_lines_collapse_into_the_last_drawing() {
        // What kong-js-pluginserver 0.6.0 (node-color-log) writes for one message.
        let out: &[u8] = b"2026-11-23T12:17:39.511Z \x1b[0m\n\x1b[1A\x1b[K\n\
            \x1b[1A2026-11-23T12:17:39.511Z \x1b[0m\x1b[42m\x1b[30m[INFO]\x1b[0m\n\x1b[1A\x1b[K\n\
            \x1b[1A2026-11-23T12:17:39.511Z \x1b[0m\x1b[42m\x1b[30m[INFO]\x1b[0m \x1b[0m\n\
            \x1b[1A\x1b[K\n\x1b[1A2026-11-23T12:17:39.511Z \x1b[0m\x1b[42m\x1b[30m[INFO]\x1b[0m \
            \x1b[0m\x1b[32mserver started at /p/js.sock\x1b[0m";
        assert_eq!(
            printable(out.split(|&b| b == b'\n')),
            ["2026-11-23T12:17:39.511Z [INFO] server started at /p/js.sock"]
        );
    }
}
