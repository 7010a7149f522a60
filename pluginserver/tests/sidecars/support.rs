//! Shared pieces of the sidecar tests: a sidecar process on a temp socket, a recording
//! PDK dispatcher, and a raw RPC for looking behind the client's back.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use rmpv::Value;
use serde::Serialize;
use sluice_pluginserver::codec::{encode_request, Decoder, Message};
use sluice_pluginserver::{PdkDispatch, PdkFuture, PdkReply};
use tokio::sync::Notify;

/// A scratch directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("sluice-ps-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A plugin server process serving `socket`, killed on drop.
pub struct Sidecar {
    /// Holds the socket, the server's log and whatever the server needs.
    pub dir: TempDir,
    socket: PathBuf,
    command: Box<dyn Fn() -> Command>,
    child: Option<Child>,
}

impl Sidecar {
    /// Runs `command` (output to `dir/server.log`) and waits until `socket` accepts.
    pub fn start(
        dir: TempDir,
        socket: PathBuf,
        command: impl Fn() -> Command + 'static,
    ) -> Sidecar {
        let mut sidecar = Sidecar {
            dir,
            socket,
            command: Box::new(command),
            child: None,
        };
        sidecar.restart();
        sidecar
    }

    pub fn socket(&self) -> PathBuf {
        self.socket.clone()
    }

    /// Starts a new server process on the same socket (after [`Sidecar::kill`]).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "kill the running server first");
        let log = std::fs::File::create(self.dir.0.join("server.log")).unwrap();
        let child = (self.command)()
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn the plugin server");
        self.child = Some(child);
        self.wait_ready();
    }

    /// Waits until the server accepts connections (servers unlink and rebind the socket).
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if UnixStream::connect(&self.socket).is_ok() {
                return;
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!("plugin server exited with {status}: {}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "plugin server not ready: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("server.log")).unwrap_or_default()
    }

    /// SIGKILL, and reap.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One blocking RPC, outside the client: for checking and disturbing server state.
pub fn raw_call<A: Serialize>(socket: &Path, method: &str, arg: &A) -> Result<Value, String> {
    let mut stream = UnixStream::connect(socket).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(&encode_request(1, method, arg).unwrap())
        .unwrap();
    let mut decoder = Decoder::new();
    let mut chunk = [0u8; 4096];
    loop {
        match decoder.next_message().unwrap() {
            Some(Message::Response { result, .. }) => return result,
            Some(Message::Notification { .. }) => continue,
            None => {}
        }
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "server closed the raw connection");
        decoder.feed(&chunk[..n]);
    }
}

/// Something to do when the plugin makes a given PDK call.
pub enum Hook {
    /// Wait until notified (a slow PDK call).
    Wait(Rc<Notify>),
    /// Wake whoever waits.
    Wake(Rc<Notify>),
    /// Run a closure (e.g. kill the server mid-conversation).
    Run(Box<dyn FnMut()>),
}

/// A PDK that answers like a gateway would for one request and records every call.
pub struct Recorder {
    pub request_headers: Vec<(String, Value)>,
    pub calls: Vec<(String, Vec<Value>)>,
    pub hooks: HashMap<&'static str, Hook>,
    /// Methods whose call raises (the event is abandoned).
    pub raise_on: Option<&'static str>,
    /// Send `request_headers` with `HandleEvent`, as the gateway does in rewrite and access.
    pub send_headers: bool,
}

impl Recorder {
    pub fn new(user: &str) -> Recorder {
        Recorder {
            request_headers: vec![
                ("host".into(), "example.com".into()),
                (
                    "accept".into(),
                    Value::Array(vec!["a/b".into(), "c/d".into()]),
                ),
                ("x-user".into(), user.into()),
            ],
            calls: Vec::new(),
            hooks: HashMap::new(),
            raise_on: None,
            send_headers: false,
        }
    }

    pub fn methods(&self) -> Vec<&str> {
        self.calls.iter().map(|(m, _)| m.as_str()).collect()
    }

    pub fn args_of(&self, method: &str) -> &[Value] {
        &self
            .calls
            .iter()
            .find(|(m, _)| m == method)
            .unwrap_or_else(|| panic!("{method} was not called: {:?}", self.methods()))
            .1
    }

    pub fn serialized() -> String {
        r#"{"request":{"method":"GET","uri":"/"},"response":{"status":200}}"#.into()
    }

    fn answer(&self, method: &str, args: &[Value]) -> PdkReply {
        if self.raise_on == Some(method) {
            return PdkReply::Raise("bad argument #1".into());
        }
        let header = |name: &str| {
            self.request_headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        match method {
            "kong.request.get_header" => match args.first().and_then(Value::as_str) {
                Some("x-fail") => PdkReply::Error("header lookup failed".into()),
                Some(name) => PdkReply::Value(match header(name) {
                    Some(Value::Array(values)) => values[0].clone(),
                    Some(v) => v,
                    None => Value::Nil,
                }),
                None => PdkReply::Value(Value::Nil),
            },
            "kong.request.get_headers" => PdkReply::Value(Value::Map(
                self.request_headers
                    .iter()
                    .map(|(k, v)| (Value::from(k.as_str()), v.clone()))
                    .collect(),
            )),
            "kong.request.get_raw_body" => PdkReply::Value("raw-body".into()),
            "kong.log.serialize" => PdkReply::Value(Self::serialized().into()),
            _ => PdkReply::Value(Value::Nil),
        }
    }
}

impl PdkDispatch for Recorder {
    fn request_headers(&self) -> Option<Value> {
        self.send_headers.then(|| {
            Value::Map(
                self.request_headers
                    .iter()
                    .map(|(k, v)| (Value::from(k.as_str()), v.clone()))
                    .collect(),
            )
        })
    }

    fn tell(&mut self, method: &str, args: Vec<Value>) -> PdkReply {
        let reply = self.answer(method, &args);
        self.calls.push((method.to_owned(), args));
        reply
    }

    fn call<'a>(&'a mut self, method: &'a str, args: Vec<Value>) -> PdkFuture<'a> {
        Box::pin(async move {
            let reply = self.answer(method, &args);
            self.calls.push((method.to_owned(), args));
            match self.hooks.get_mut(method) {
                Some(Hook::Wait(n)) => n.notified().await,
                Some(Hook::Wake(n)) => n.notify_one(),
                Some(Hook::Run(f)) => f(),
                None => {}
            }
            reply
        })
    }
}

/// Runs a setup command to completion, failing the test if it fails.
pub fn run(cmd: &mut Command) {
    let status = cmd.status().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(status.success(), "{cmd:?}: {status}");
}
