//! The master process loop (nginx's `ngx_master_process_cycle`): signals arrive through a
//! signalfd and become flags; a slot table tracks workers by generation; reload starts a new
//! generation on the same sockets and retires the old one only once the new one serves.

use std::collections::HashMap;
use std::io::Read;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use sluice_conf::{Checked as Config, LoadOptions};
use sluice_shdict::ZoneSet;
use sluice_worker::{ListenKind, Listener, Loaded, WorkerInit, EXIT_FATAL};

use crate::listen::{self, ListenGroup};
use crate::process;
use crate::sidecars::Sidecars;

/// How long a new generation has to report ready before a reload is abandoned.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// After `TERM`, how long workers get before `SIGKILL`.
const FAST_STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait between respawns of a slot whose workers keep dying at once.
const MAX_RESPAWN_DELAY: Duration = Duration::from_secs(5);
/// A worker that lived this long is considered healthy: its slot's backoff resets.
const HEALTHY_UPTIME: Duration = Duration::from_secs(10);

struct Worker {
    slot: usize,
    generation: u64,
    started: Instant,
    /// Sent `QUIT` (reload or graceful stop): its exit is expected, no respawn.
    retiring: bool,
}

/// Per-slot respawn state, so a worker that crashes at once does not cause a fork loop.
#[derive(Default, Clone, Copy)]
struct Backoff {
    failures: u32,
    due: Option<Instant>,
}

enum Stop {
    Graceful,
    Fast {
        kill_at: Instant,
    },
    /// The workers are gone; the plugin servers got `SIGTERM` and are killed at this time.
    Sidecars {
        kill_at: Instant,
    },
}

pub struct Master {
    load: LoadOptions,
    prefix: PathBuf,
    /// The running configuration and what its plugin servers serve.
    loaded: Loaded,
    sidecars: Sidecars,
    groups: Vec<ListenGroup>,
    /// Shared dicts live as long as the master: worker crashes and reloads keep their contents.
    zones: ZoneSet,
    workers: HashMap<Pid, Worker>,
    generation: u64,
    backoff: Vec<Backoff>,
    stopping: Option<Stop>,
    signals: SignalFd,
}

/// The signals the master acts on; blocked so they queue on the signalfd (and so workers start
/// with them blocked until their own handlers exist).
fn handled_signals() -> SigSet {
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGCHLD,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGUSR1,
    ] {
        set.add(s);
    }
    set
}

impl Master {
    /// Binds every listening socket and starts the first generation. Fails (and leaves nothing
    /// running) if the workers cannot start.
    pub fn start(load: LoadOptions, loaded: Loaded) -> Result<Master, String> {
        let mask = handled_signals();
        mask.thread_block()
            .map_err(|e| format!("sigprocmask: {e}"))?;
        let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .map_err(|e| format!("signalfd: {e}"))?;
        let config = &loaded.config;
        let prefix = config.node.prefix.clone();
        let slots = config.node.worker_processes;
        let mut groups = Vec::new();
        listen::reconcile(&mut groups, &listen_addrs(config), slots).map_err(|e| e.to_string())?;
        let zones = ZoneSet::create(&zone_specs(config)).map_err(|e| e.to_string())?;
        let mut sidecars = Sidecars::new(prefix.clone());
        sidecars.reconcile(&config.node.pluginservers);
        let mut master = Master {
            load,
            prefix,
            loaded,
            sidecars,
            groups,
            zones,
            workers: HashMap::new(),
            generation: 0,
            backoff: vec![Backoff::default(); slots],
            stopping: None,
            signals,
        };
        master.write_listen_addrs();
        if let Err(e) = master.start_generation() {
            return Err(format!("workers failed to start: {e}"));
        }
        Ok(master)
    }

    /// Runs until the gateway is stopped; returns the exit status.
    pub fn run(mut self) -> i32 {
        sluice_log::notice!(
            "sluice {} started, {} workers",
            env!("CARGO_PKG_VERSION"),
            self.backoff.len()
        );
        loop {
            let timeout = self.next_timer().map_or(PollTimeout::NONE, |d| {
                PollTimeout::try_from(d.as_millis().min(60_000) as u32 + 1)
                    .unwrap_or(PollTimeout::MAX)
            });
            let mut fds = vec![PollFd::new(self.signals.as_fd(), PollFlags::POLLIN)];
            let outputs = self.sidecars.fds();
            fds.extend(outputs.iter().map(|fd| PollFd::new(*fd, PollFlags::POLLIN)));
            match poll(&mut fds, timeout) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => sluice_log::alert!("poll() failed: {e}"),
            }
            drop(fds);
            self.sidecars.read_output();
            while let Ok(Some(info)) = self.signals.read_signal() {
                match Signal::try_from(info.ssi_signo as i32) {
                    Ok(Signal::SIGCHLD) => self.reap(),
                    Ok(Signal::SIGHUP) => self.reload(),
                    Ok(Signal::SIGQUIT) => self.stop(Stop::Graceful),
                    Ok(Signal::SIGTERM | Signal::SIGINT) => self.stop(Stop::Fast {
                        kill_at: Instant::now() + FAST_STOP_TIMEOUT,
                    }),
                    Ok(Signal::SIGUSR1) => self.reopen_logs(),
                    _ => {}
                }
            }
            self.reap();
            self.run_timers();
            if self.stopping.is_some() && self.workers.is_empty() {
                if self.sidecars.is_empty() {
                    sluice_log::notice!("exit");
                    return 0;
                }
                if !matches!(self.stopping, Some(Stop::Sidecars { .. })) {
                    // Plugin servers stop last: the workers' log phases may still need them.
                    self.sidecars.terminate();
                    self.stopping = Some(Stop::Sidecars {
                        kill_at: Instant::now() + FAST_STOP_TIMEOUT,
                    });
                }
            }
        }
    }

    /// Forks one worker per slot for a new generation and waits until all of them serve.
    fn start_generation(&mut self) -> Result<(), String> {
        self.generation += 1;
        let mut ready = Vec::new();
        for slot in 0..self.loaded.config.node.worker_processes {
            match self.spawn(slot) {
                Ok(r) => ready.push(r),
                Err(e) => {
                    self.abandon_generation();
                    return Err(e);
                }
            }
        }
        let deadline = Instant::now() + READY_TIMEOUT;
        for (pid, mut pipe) in ready {
            if let Err(e) = wait_ready(&mut pipe, deadline) {
                self.abandon_generation();
                return Err(format!("worker {pid} did not start: {e}"));
            }
        }
        Ok(())
    }

    /// Stops the workers of a generation that failed to start.
    fn abandon_generation(&mut self) {
        let generation = self.generation;
        for (pid, w) in &mut self.workers {
            if w.generation == generation {
                w.retiring = true;
                let _ = kill(*pid, Signal::SIGKILL);
            }
        }
        self.generation -= 1;
    }

    /// Forks the worker for `slot` in the current generation; returns the read end of its
    /// ready pipe.
    fn spawn(&mut self, slot: usize) -> Result<(Pid, std::fs::File), String> {
        let (ready_rx, ready_tx) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| format!("pipe: {e}"))?;
        let worker_count = self.loaded.config.node.worker_processes;
        let pid = process::spawn(|| {
            // Keep only this slot's sockets; the other slots' copies are closed in the child.
            let listeners = self
                .groups
                .iter_mut()
                .map(|g| Listener {
                    kind: g.kind,
                    ssl: g.ssl,
                    http2: g.http2,
                    socket: g.sockets.swap_remove(slot),
                })
                .collect();
            self.groups.clear();
            sluice_worker::run(WorkerInit {
                slot,
                worker_count,
                loaded: &self.loaded,
                zones: &self.zones,
                listeners,
                ready: ready_tx,
            })
        })
        .map_err(|e| format!("fork: {e}"))?;
        self.workers.insert(
            pid,
            Worker {
                slot,
                generation: self.generation,
                started: Instant::now(),
                retiring: false,
            },
        );
        Ok((pid, std::fs::File::from(ready_rx)))
    }

    /// Collects every exited child (signals coalesce, so loop until none is left) and schedules
    /// the respawn of unexpected deaths.
    fn reap(&mut self) {
        loop {
            let (pid, status, code) = match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => {
                    (pid, format!("exited with code {code}"), Some(code))
                }
                Ok(WaitStatus::Signaled(pid, sig, core)) => {
                    let core = if core { " (core dumped)" } else { "" };
                    (pid, format!("exited on signal {}{core}", sig as i32), None)
                }
                Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return,
                Ok(_) => continue,
                Err(e) => {
                    sluice_log::alert!("waitpid() failed: {e}");
                    return;
                }
            };
            if self.sidecars.reaped(pid, &status, code) {
                continue;
            }
            let fatal = code == Some(EXIT_FATAL);
            // A worker killed while holding a shared dict's lock must not block the others.
            let unlocked = self.zones.force_unlock(pid.as_raw() as u32);
            if unlocked > 0 {
                sluice_log::warn!(
                    "released {unlocked} shared dict lock(s) held by dead process {pid}"
                );
            }
            let Some(worker) = self.workers.remove(&pid) else {
                continue;
            };
            if worker.retiring || self.stopping.is_some() {
                sluice_log::info!("worker process {pid} {status}");
            } else if worker.generation != self.generation {
                sluice_log::notice!("old worker process {pid} {status}");
            } else if fatal {
                sluice_log::alert!(
                    "worker process {pid} {status}: fatal, slot {} not respawned",
                    worker.slot
                );
            } else {
                sluice_log::alert!(
                    "worker process {pid} {status}, respawning slot {}",
                    worker.slot
                );
                self.schedule_respawn(worker.slot, worker.started.elapsed());
            }
        }
    }

    fn schedule_respawn(&mut self, slot: usize, uptime: Duration) {
        let b = &mut self.backoff[slot];
        b.failures = if uptime >= HEALTHY_UPTIME {
            0
        } else {
            b.failures + 1
        };
        let delay = if b.failures == 0 {
            Duration::ZERO
        } else {
            (Duration::from_millis(100) * 2u32.saturating_pow(b.failures - 1))
                .min(MAX_RESPAWN_DELAY)
        };
        b.due = Some(Instant::now() + delay);
    }

    fn next_timer(&self) -> Option<Duration> {
        let now = Instant::now();
        let kill_at = match self.stopping {
            Some(Stop::Fast { kill_at } | Stop::Sidecars { kill_at }) => Some(kill_at),
            _ => None,
        };
        self.backoff
            .iter()
            .filter_map(|b| b.due)
            .chain(kill_at)
            .chain(self.sidecars.next_timer())
            .min()
            .map(|t| t.saturating_duration_since(now))
    }

    fn run_timers(&mut self) {
        let now = Instant::now();
        if let Some(Stop::Fast { kill_at }) = self.stopping {
            if now >= kill_at {
                for pid in self.workers.keys() {
                    sluice_log::warn!("worker process {pid} did not exit in time, sending SIGKILL");
                    let _ = kill(*pid, Signal::SIGKILL);
                }
                self.stopping = Some(Stop::Fast {
                    kill_at: now + FAST_STOP_TIMEOUT,
                });
            }
        }
        if let Some(Stop::Sidecars { kill_at }) = self.stopping {
            if now >= kill_at {
                self.sidecars.kill_all();
                self.stopping = Some(Stop::Sidecars {
                    kill_at: now + FAST_STOP_TIMEOUT,
                });
            }
        }
        if self.stopping.is_some() {
            return;
        }
        self.sidecars.run_timers();
        for slot in 0..self.backoff.len() {
            if self.backoff[slot].due.is_some_and(|due| due <= now) {
                self.backoff[slot].due = None;
                // The new worker reports ready on its own; the master does not wait for it.
                if let Err(e) = self.spawn(slot) {
                    sluice_log::alert!("could not respawn slot {slot}: {e}");
                    self.schedule_respawn(slot, Duration::ZERO);
                }
            }
        }
    }

    /// `HUP`: re-read the config; on success start a new generation and retire the old one once
    /// the new one serves. On any failure the running generation keeps serving, untouched.
    fn reload(&mut self) {
        if self.stopping.is_some() {
            return;
        }
        sluice_log::notice!("reloading configuration");
        let loaded = match crate::load(&self.load) {
            Ok(c) => c,
            Err(errors) => {
                for e in errors {
                    sluice_log::error!("reload failed, keeping the current configuration: {e}");
                }
                return;
            }
        };
        let config = &loaded.config;
        if let Err(e) = crate::certificate::ensure_default(&config.node) {
            sluice_log::error!("reload failed, keeping the current configuration: {e}");
            return;
        }
        let slots = config.node.worker_processes;
        if let Err(e) = listen::reconcile(&mut self.groups, &listen_addrs(config), slots) {
            sluice_log::error!("reload failed, keeping the current configuration: {e}");
            return;
        }
        match self.zones.reconcile(&zone_specs(config)) {
            Ok(r) if !r.created.is_empty() || !r.dropped.is_empty() => {
                sluice_log::notice!(
                    "shared dicts: kept {:?}, created empty {:?}, dropped {:?}",
                    r.kept,
                    r.created,
                    r.dropped
                )
            }
            Ok(_) => {}
            Err(e) => {
                sluice_log::error!("reload failed, keeping the current configuration: {e}");
                return;
            }
        }
        self.sidecars.reconcile(&config.node.pluginservers);
        let old = std::mem::replace(&mut self.loaded, loaded);
        let old_generation = self.generation;
        let old_backoff = std::mem::replace(&mut self.backoff, vec![Backoff::default(); slots]);
        if let Err(e) = self.start_generation() {
            sluice_log::error!("reload failed, keeping the current configuration: {e}");
            self.loaded = old;
            self.backoff = old_backoff;
            self.sidecars
                .reconcile(&self.loaded.config.node.pluginservers);
            let _ = listen::reconcile(
                &mut self.groups,
                &listen_addrs(&self.loaded.config),
                self.backoff.len(),
            );
            return;
        }
        self.write_listen_addrs();
        for (pid, w) in &mut self.workers {
            if w.generation == old_generation {
                w.retiring = true;
                let _ = kill(*pid, Signal::SIGQUIT);
            }
        }
        sluice_log::notice!("configuration reloaded (generation {})", self.generation);
    }

    fn stop(&mut self, how: Stop) {
        if matches!(self.stopping, Some(Stop::Sidecars { .. })) {
            return;
        }
        let signal = match how {
            Stop::Graceful => Signal::SIGQUIT,
            Stop::Fast { .. } | Stop::Sidecars { .. } => Signal::SIGTERM,
        };
        sluice_log::notice!(
            "{} shutdown",
            if signal == Signal::SIGQUIT {
                "graceful"
            } else {
                "fast"
            }
        );
        for pid in self.workers.keys() {
            let _ = kill(*pid, signal);
        }
        if !matches!(
            (&self.stopping, &how),
            (Some(Stop::Fast { .. }), Stop::Graceful)
        ) {
            self.stopping = Some(how);
        }
    }

    fn reopen_logs(&mut self) {
        if let Err(e) = sluice_log::reopen() {
            sluice_log::error!("reopening the error log failed: {e}");
        }
        for pid in self.workers.keys() {
            let _ = kill(*pid, Signal::SIGUSR1);
        }
    }

    fn write_listen_addrs(&self) {
        let path = self.prefix.join("listen.addrs");
        if let Err(e) = std::fs::write(&path, listen::describe(&self.groups)) {
            sluice_log::error!("cannot write {}: {e}", path.display());
        }
    }

    pub fn prefix(&self) -> &Path {
        &self.prefix
    }
}

/// The addresses the config asks to listen on, by kind.
fn listen_addrs(config: &Config) -> Vec<(ListenKind, &sluice_conf::Listen)> {
    let node = &config.node;
    let kinds = [
        (ListenKind::Proxy, &node.proxy_listen),
        (ListenKind::Admin, &node.admin_listen),
        (ListenKind::Status, &node.status_listen),
    ];
    kinds
        .into_iter()
        .flat_map(|(kind, addrs)| addrs.iter().map(move |l| (kind, l)))
        .collect()
}

/// `lua_shared_dict` as `(name, bytes)` pairs.
fn zone_specs(config: &Config) -> Vec<(&str, usize)> {
    config
        .node
        .lua_shared_dict
        .iter()
        .map(|d| {
            (
                d.name.as_str(),
                usize::try_from(d.size).unwrap_or(usize::MAX),
            )
        })
        .collect()
}

/// Waits for a worker's ready byte; EOF means the worker died first.
fn wait_ready(pipe: &mut std::fs::File, deadline: Instant) -> Result<(), String> {
    let timeout = deadline.saturating_duration_since(Instant::now());
    let ms = u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX);
    let mut fds = [PollFd::new(pipe.as_fd(), PollFlags::POLLIN)];
    match poll(
        &mut fds,
        PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
    ) {
        Ok(0) => return Err("timed out".into()),
        Ok(_) => {}
        Err(e) => return Err(e.to_string()),
    }
    let mut byte = [0u8; 1];
    match pipe.read(&mut byte) {
        Ok(1) => Ok(()),
        Ok(_) => Err("it exited during start-up (see the error log)".into()),
        Err(e) => Err(e.to_string()),
    }
}
