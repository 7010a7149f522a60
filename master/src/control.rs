//! The pid file, and signalling a running master from another `sluice` invocation.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::Target;

/// `<prefix>/sluice.pid`, removed when the master exits.
pub struct PidFile(PathBuf);

impl PidFile {
    pub fn create(prefix: &Path) -> PidFile {
        let path = pid_path(prefix);
        if let Err(e) = std::fs::write(&path, format!("{}\n", std::process::id())) {
            sluice_log::error!("cannot write pid file {}: {e}", path.display());
        }
        PidFile(path)
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn pid_path(prefix: &Path) -> PathBuf {
    prefix.join("sluice.pid")
}

/// The pid in the prefix's pid file, if that process is alive.
pub fn running_master(prefix: &Path) -> Option<Pid> {
    let text = std::fs::read_to_string(pid_path(prefix)).ok()?;
    let pid = Pid::from_raw(text.trim().parse().ok()?);
    kill(pid, None).is_ok().then_some(pid)
}

/// `sluice reload|quit|stop`: sends `signal` to the master named by the pid file.
pub fn signal(target: &Target, signal: Signal) -> ExitCode {
    // With -p the config is not needed: a broken config must still be reloadable (the master
    // reports the errors and keeps serving).
    let prefix = match &target.prefix {
        Some(prefix) => prefix.clone(),
        None => match crate::load_or_report(target) {
            Ok(loaded) => loaded.config.node.prefix,
            Err(code) => return code,
        },
    };
    let Some(pid) = running_master(&prefix) else {
        eprintln!("error: sluice is not running in {}", prefix.display());
        return ExitCode::FAILURE;
    };
    match kill(pid, signal) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot signal the master (pid {pid}): {e}");
            ExitCode::FAILURE
        }
    }
}
