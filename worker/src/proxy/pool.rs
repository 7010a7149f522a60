//! Keep-alive connections to upstream peers, per worker (nginx's `keepalive` upstream pool with
//! Kong's `upstream_keepalive_*` limits).

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

use super::body::Body;
use super::write_timeout::WriteTimeout;
use crate::settings::Keepalive;
use crate::tls::Connector;

/// Why a request could not be proxied; each maps to one of Kong's error responses.
#[derive(Debug)]
pub enum UpstreamError {
    /// No connection could be made: refused, unreachable, or the connect timeout passed.
    Connect(std::io::Error),
    /// The TLS handshake failed, e.g. the certificate did not verify.
    Tls(std::io::Error),
    /// The peer did not answer within the read timeout, or took no data for the write timeout.
    Timeout,
    /// The connection broke or the peer's answer was not valid HTTP.
    Protocol(hyper::Error),
}

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpstreamError::Connect(e) => write!(f, "connect() failed: {e}"),
            UpstreamError::Tls(e) => write!(f, "SSL handshake with the upstream failed: {e}"),
            UpstreamError::Timeout => f.write_str("upstream timed out"),
            UpstreamError::Protocol(e) => write!(
                f,
                "upstream prematurely closed or sent an invalid response: {e}"
            ),
        }
    }
}

/// A failed send, with the request when it was never written (safe to retry elsewhere).
pub struct Failed {
    pub error: UpstreamError,
    pub unsent: Option<Request<Body>>,
}

impl From<UpstreamError> for Failed {
    fn from(error: UpstreamError) -> Failed {
        Failed {
            error,
            unsent: None,
        }
    }
}

/// Kong's per-service upstream timeouts.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub write: Duration,
    pub read: Duration,
}

/// TLS to an upstream: how, and the name sent as SNI and verified.
pub struct UpstreamTls<'a> {
    pub connector: &'a Connector,
    pub name: ServerName<'static>,
}

impl UpstreamTls<'_> {
    fn same(&self, made: &Option<(ServerName<'static>, Arc<str>)>) -> bool {
        made.as_ref()
            .is_some_and(|(name, kind)| *name == self.name && *kind == self.connector.kind)
    }
}

struct Pooled {
    sender: SendRequest<Body>,
    requests: u32,
    idle_since: Instant,
    /// The stall timeout of the connection's writes, set per request.
    write_timeout: Rc<Cell<Duration>>,
    /// What TLS the connection was made with (name, connector kind): reused only for the same,
    /// never for plain HTTP.
    tls: Option<(ServerName<'static>, Arc<str>)>,
}

/// Per-peer lists of open connections. A connection goes back in the list as soon as its response
/// head arrives; it is handed out again only once hyper reports it ready (body fully read).
pub struct Pool {
    peers: RefCell<HashMap<SocketAddr, VecDeque<Pooled>>>,
    limits: Keepalive,
}

impl Pool {
    pub fn new(limits: Keepalive) -> Pool {
        Pool {
            peers: RefCell::new(HashMap::new()),
            limits,
        }
    }

    /// Sends `req` to `peer` over a pooled connection, or a new one. A pooled connection that
    /// turns out to be closed before the request was written is skipped transparently. When no
    /// connection could be made the request comes back unsent, so the caller can try another peer.
    pub async fn send(
        &self,
        peer: SocketAddr,
        tls: Option<&UpstreamTls<'_>>,
        mut req: Request<Body>,
        timeouts: Timeouts,
    ) -> Result<Response<Incoming>, Failed> {
        while let Some(mut conn) = self.checkout(peer, tls) {
            conn.write_timeout.set(timeouts.write);
            match timeout(timeouts.read, conn.sender.try_send_request(req)).await {
                Err(_) => return Err(UpstreamError::Timeout.into()),
                Ok(Ok(resp)) => {
                    self.checkin(peer, conn);
                    return Ok(resp);
                }
                Ok(Err(mut e)) => match e.take_message() {
                    // The peer closed the idle connection first: retry on the next one.
                    Some(unsent) => req = unsent,
                    None => return Err(sent_error(e.into_error()).into()),
                },
            }
        }
        let mut conn = match self.connect(peer, tls, timeouts).await {
            Ok(conn) => conn,
            Err(error) => {
                return Err(Failed {
                    error,
                    unsent: Some(req),
                })
            }
        };
        match timeout(timeouts.read, conn.sender.send_request(req)).await {
            Err(_) => Err(UpstreamError::Timeout.into()),
            Ok(Err(e)) => Err(sent_error(e).into()),
            Ok(Ok(resp)) => {
                self.checkin(peer, conn);
                Ok(resp)
            }
        }
    }

    /// Connects, with TLS when asked; the TLS handshake counts in the connect timeout, as in nginx.
    async fn connect(
        &self,
        peer: SocketAddr,
        tls: Option<&UpstreamTls<'_>>,
        timeouts: Timeouts,
    ) -> Result<Pooled, UpstreamError> {
        let write_timeout = Rc::new(Cell::new(timeouts.write));
        let connecting = async {
            let stream = TcpStream::connect(peer)
                .await
                .map_err(UpstreamError::Connect)?;
            let _ = stream.set_nodelay(true);
            let stream = WriteTimeout::new(stream, write_timeout.clone());
            match tls {
                None => handshake(stream).await,
                Some(tls) => {
                    let stream = tls
                        .connector
                        .inner
                        .connect(tls.name.clone(), stream)
                        .await
                        .map_err(UpstreamError::Tls)?;
                    handshake(stream).await
                }
            }
        };
        let sender = match timeout(timeouts.connect, connecting).await {
            Err(_) => return Err(UpstreamError::Connect(std::io::ErrorKind::TimedOut.into())),
            Ok(r) => r?,
        };
        Ok(Pooled {
            sender,
            requests: 0,
            idle_since: Instant::now(),
            write_timeout,
            tls: tls.map(|t| (t.name.clone(), t.connector.kind.clone())),
        })
    }

    /// The longest-idle usable connection of the same kind (plain, or TLS to the same name
    /// with the same verification). Only the connections before it are checked for closure and
    /// expiry; [`checkin`](Self::checkin) sweeps the whole list when it is full.
    fn checkout(&self, peer: SocketAddr, tls: Option<&UpstreamTls<'_>>) -> Option<Pooled> {
        let mut peers = self.peers.borrow_mut();
        let list = peers.get_mut(&peer)?;
        let now = Instant::now();
        let mut i = 0;
        while let Some(c) = list.get(i) {
            let same_kind = match tls {
                None => c.tls.is_none(),
                Some(tls) => tls.same(&c.tls),
            };
            if !self.usable(c, now) {
                list.remove(i);
            } else if same_kind && c.sender.is_ready() {
                return list.remove(i);
            } else {
                i += 1;
            }
        }
        None
    }

    fn checkin(&self, peer: SocketAddr, mut conn: Pooled) {
        conn.requests += 1;
        conn.idle_since = Instant::now();
        if conn.requests >= self.limits.max_requests {
            return;
        }
        let mut peers = self.peers.borrow_mut();
        let list = peers.entry(peer).or_default();
        if list.len() >= self.limits.pool_size {
            list.retain(|c| self.usable(c, conn.idle_since));
        }
        if list.len() < self.limits.pool_size {
            list.push_back(conn);
        }
    }

    fn usable(&self, c: &Pooled, now: Instant) -> bool {
        !c.sender.is_closed() && now - c.idle_since < self.limits.idle_timeout
    }
}

/// Starts HTTP/1.1 on a connected stream; the connection runs in its own task.
async fn handshake<S>(stream: S) -> Result<SendRequest<Body>, UpstreamError>
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
{
    let (sender, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(UpstreamError::Protocol)?;
    tokio::task::spawn_local(async move {
        // Errors surface through the SendRequest of the request in flight.
        let _ = conn.await;
    });
    Ok(sender)
}

/// A request that failed once written: a write stall (`write_timeout`) is a timeout, anything
/// else a broken exchange.
fn sent_error(e: hyper::Error) -> UpstreamError {
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        if cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return UpstreamError::Timeout;
        }
        source = cause.source();
    }
    UpstreamError::Protocol(e)
}
