//! One unix-socket connection to a plugin server, one call outstanding at a time
//! (Kong's plugin servers assume that).

use std::io;
use std::mem::MaybeUninit;
use std::path::Path;
use std::time::Duration;

use rmpv::Value;
use socket2::SockRef;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use crate::codec::{Decoder, Message};
use crate::error::Error;

const READ_CHUNK: usize = 16 * 1024;

#[derive(Debug)]
pub(crate) struct Conn {
    stream: UnixStream,
    decoder: Decoder,
    /// The last `serverPid` notification seen and not yet taken.
    pid: Option<u32>,
    /// Completed calls; a connection that answered before may have gone stale since.
    calls: u64,
    /// Read buffer, kept for the life of the connection.
    chunk: Box<[u8]>,
}

impl Conn {
    pub(crate) async fn connect(path: &Path, timeout: Duration) -> Result<Conn, Error> {
        let connect_err = |source| Error::Connect {
            path: path.to_owned(),
            source,
        };
        let stream = tokio::time::timeout(timeout, UnixStream::connect(path))
            .await
            .map_err(|_| connect_err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")))?
            .map_err(connect_err)?;
        Ok(Conn {
            stream,
            decoder: Decoder::new(),
            pid: None,
            calls: 0,
            chunk: vec![0u8; READ_CHUNK].into_boxed_slice(),
        })
    }

    /// Whether this connection answered calls before (it came from the pool).
    pub(crate) fn reused(&self) -> bool {
        self.calls > 0
    }

    /// The pid from a `serverPid` notification received since the last take.
    pub(crate) fn take_pid(&mut self) -> Option<u32> {
        self.pid.take()
    }

    /// False if the peer closed the connection (or sent unsolicited bytes) while idle.
    /// Peeks with a real non-blocking `recv`, not tokio's cached readiness.
    pub(crate) fn is_idle_alive(&self) -> bool {
        let mut probe = [MaybeUninit::<u8>::uninit(); 1];
        match SockRef::from(&self.stream).peek(&mut probe) {
            Err(e) => e.kind() == io::ErrorKind::WouldBlock,
            Ok(_) => false,
        }
    }

    /// Sends one encoded request and reads until its response, skipping notifications.
    /// The server's error string comes back as [`Error::Remote`]; any other error leaves
    /// the stream in an unknown state, so the caller must drop the connection.
    pub(crate) async fn call(
        &mut self,
        msgid: u32,
        method: &str,
        request: &[u8],
        timeout: Duration,
    ) -> Result<Value, Error> {
        let result = tokio::time::timeout(timeout, self.round_trip(msgid, method, request))
            .await
            .unwrap_or_else(|_| {
                Err(Error::Timeout {
                    method: method.to_owned(),
                    after: timeout,
                })
            });
        if matches!(result, Ok(_) | Err(Error::Remote { .. })) {
            self.calls += 1;
        }
        result
    }

    async fn round_trip(
        &mut self,
        msgid: u32,
        method: &str,
        request: &[u8],
    ) -> Result<Value, Error> {
        let gone = |source| Error::Gone {
            method: method.to_owned(),
            source,
        };
        self.stream.write_all(request).await.map_err(gone)?;
        loop {
            while let Some(message) = self.decoder.next_message()? {
                if let Some(pid) = message.server_pid() {
                    self.pid = Some(pid);
                    continue;
                }
                match message {
                    Message::Response { msgid: got, result } if got == msgid => {
                        return result.map_err(|message| Error::Remote {
                            method: method.to_owned(),
                            message,
                        });
                    }
                    Message::Response { msgid: got, .. } => {
                        return Err(Error::Protocol {
                            reason: format!("response #{got} to {method} #{msgid}"),
                            context: String::new(),
                        });
                    }
                    // Kong ignores notifications it has no handler for.
                    Message::Notification { .. } => {}
                }
            }
            let n = self.stream.read(&mut self.chunk).await.map_err(gone)?;
            if n == 0 {
                return Err(gone(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "plugin server closed the connection",
                )));
            }
            self.decoder.feed(&self.chunk[..n]);
        }
    }
}
