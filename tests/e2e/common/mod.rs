//! The harness: start `sluice` in a temporary prefix, find its ports, talk to it, stop it.

pub mod http;
pub mod load;
pub mod tls;
pub mod upstream;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Polls `cond` until it holds or `timeout` passes; panics with `what` on timeout.
pub fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A running gateway, stopped (by pid) when dropped.
pub struct Sluice {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub proxy: SocketAddr,
    /// The last `ssl` proxy listener, if any.
    pub proxy_ssl: Option<SocketAddr>,
    pub admin: SocketAddr,
}

/// The node config of a test: loopback ports chosen by the kernel and two workers, unless
/// `extra` sets those keys itself.
/// Runs `sluice check -c conf`, which must fail; returns what it printed on stderr.
pub fn failed_check(conf: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["check", "-c"])
        .arg(conf)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "the check passed: {stderr}");
    stderr
}

pub fn node_conf(prefix: &Path, extra: &str) -> String {
    let base = format!(
        "prefix = {}\nproxy_listen = 127.0.0.1:0\nadmin_listen = 127.0.0.1:0\nworker_processes = 2\n\
         declarative_config = {}\nlog_level = info\n",
        prefix.display(),
        prefix.join("kong.yml").display()
    );
    let key = |line: &str| line.split('=').next().unwrap_or("").trim().to_string();
    let overridden: Vec<String> = extra.lines().map(key).collect();
    let kept: String = base
        .lines()
        .filter(|l| !overridden.contains(&key(l)))
        .map(|l| format!("{l}\n"))
        .collect();
    kept + extra
}

impl Sluice {
    /// Starts `sluice` with `declarative` as its kong.yml and `extra` node config lines, and
    /// waits until it serves.
    pub fn start(declarative: &str, extra: &str) -> Sluice {
        Sluice::start_with(declarative, |_| extra.to_owned())
    }

    /// [`Sluice::start`] with node config lines that name paths inside the prefix (a plugin
    /// server's `-p <prefix>`), made from the prefix once it exists.
    pub fn start_with(declarative: &str, extra: impl FnOnce(&Path) -> String) -> Sluice {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().to_path_buf();
        std::fs::write(prefix.join("kong.yml"), declarative).unwrap();
        let conf = node_conf(&prefix, &extra(&prefix));
        std::fs::write(prefix.join("sluice.conf"), conf).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["start", "-c"])
            .arg(prefix.join("sluice.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut sluice = Sluice {
            child,
            dir,
            proxy: "0.0.0.0:0".parse().unwrap(),
            proxy_ssl: None,
            admin: "0.0.0.0:0".parse().unwrap(),
        };
        let addrs = sluice.prefix().join("listen.addrs");
        wait_for("sluice to listen", Duration::from_secs(30), || {
            assert!(
                sluice.child.try_wait().unwrap().is_none(),
                "sluice exited during start-up"
            );
            sluice.master_ready(&addrs)
        });
        sluice
    }

    fn master_ready(&mut self, addrs: &Path) -> bool {
        if !self.prefix().join("sluice.pid").exists() {
            return false;
        }
        let Ok(text) = std::fs::read_to_string(addrs) else {
            return false;
        };
        for line in text.lines() {
            match line.split_whitespace().collect::<Vec<_>>()[..] {
                ["proxy", a] => self.proxy = a.parse().unwrap(),
                ["proxy", a, "ssl"] => self.proxy_ssl = Some(a.parse().unwrap()),
                ["admin", a] => self.admin = a.parse().unwrap(),
                _ => {}
            }
        }
        true
    }

    /// Every proxy listener's address, plain or `ssl`, in the config's order.
    pub fn proxy_addrs(&self, ssl: bool) -> Vec<SocketAddr> {
        let text = std::fs::read_to_string(self.prefix().join("listen.addrs")).unwrap();
        text.lines()
            .filter_map(
                |line| match line.split_whitespace().collect::<Vec<_>>()[..] {
                    ["proxy", a] if !ssl => Some(a.parse().unwrap()),
                    ["proxy", a, "ssl"] if ssl => Some(a.parse().unwrap()),
                    _ => None,
                },
            )
            .collect()
    }

    pub fn prefix(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The master's worker processes, read from /proc.
    pub fn workers(&self) -> Vec<i32> {
        let path = format!("/proc/{0}/task/{0}/children", self.pid());
        let text = std::fs::read_to_string(path).unwrap_or_default();
        text.split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect()
    }

    pub fn signal(&self, sig: Signal) {
        kill(Pid::from_raw(self.pid()), sig).unwrap();
    }

    pub fn write_declarative(&self, text: &str) {
        std::fs::write(self.prefix().join("kong.yml"), text).unwrap();
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.prefix().join("logs/error.log")).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.proxy, path)
    }

    /// Waits for the master to exit and returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> i32 {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "sluice did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Sluice {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- sluice error log ---\n{}--- end ---", self.error_log());
        }
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
