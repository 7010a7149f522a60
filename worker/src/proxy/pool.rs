//! Keep-alive connections to upstream peers, per worker (nginx's `keepalive` upstream pool with
//! Kong's `upstream_keepalive_*` limits).

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

use super::body::Body;
use crate::settings::Keepalive;

/// Why a request could not be proxied; each maps to one of Kong's error responses.
#[derive(Debug)]
pub enum UpstreamError {
    /// No connection could be made: refused, unreachable, or the connect timeout passed.
    Connect(std::io::Error),
    /// The peer did not answer within the read timeout.
    Timeout,
    /// The connection broke or the peer's answer was not valid HTTP.
    Protocol(hyper::Error),
}

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpstreamError::Connect(e) => write!(f, "connect() failed: {e}"),
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

struct Pooled {
    sender: SendRequest<Body>,
    requests: u32,
    idle_since: Instant,
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
        mut req: Request<Body>,
        connect_timeout: Duration,
        read_timeout: Duration,
    ) -> Result<Response<Incoming>, Failed> {
        while let Some(mut conn) = self.checkout(peer) {
            match timeout(read_timeout, conn.sender.try_send_request(req)).await {
                Err(_) => return Err(UpstreamError::Timeout.into()),
                Ok(Ok(resp)) => {
                    self.checkin(peer, conn);
                    return Ok(resp);
                }
                Ok(Err(mut e)) => match e.take_message() {
                    // The peer closed the idle connection first: retry on the next one.
                    Some(unsent) => req = unsent,
                    None => return Err(UpstreamError::Protocol(e.into_error()).into()),
                },
            }
        }
        let mut conn = match self.connect(peer, connect_timeout).await {
            Ok(conn) => conn,
            Err(error) => {
                return Err(Failed {
                    error,
                    unsent: Some(req),
                })
            }
        };
        match timeout(read_timeout, conn.sender.send_request(req)).await {
            Err(_) => Err(UpstreamError::Timeout.into()),
            Ok(Err(e)) => Err(UpstreamError::Protocol(e).into()),
            Ok(Ok(resp)) => {
                self.checkin(peer, conn);
                Ok(resp)
            }
        }
    }

    async fn connect(
        &self,
        peer: SocketAddr,
        connect_timeout: Duration,
    ) -> Result<Pooled, UpstreamError> {
        let stream = match timeout(connect_timeout, TcpStream::connect(peer)).await {
            Err(_) => return Err(UpstreamError::Connect(std::io::ErrorKind::TimedOut.into())),
            Ok(r) => r.map_err(UpstreamError::Connect)?,
        };
        let _ = stream.set_nodelay(true);
        let (sender, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(UpstreamError::Protocol)?;
        tokio::task::spawn_local(async move {
            // Errors surface through the SendRequest of the request in flight.
            let _ = conn.await;
        });
        Ok(Pooled {
            sender,
            requests: 0,
            idle_since: Instant::now(),
        })
    }

    /// The longest-idle usable connection. Only the connections before it are checked for
    /// closure and expiry; [`checkin`](Self::checkin) sweeps the whole list when it is full.
    fn checkout(&self, peer: SocketAddr) -> Option<Pooled> {
        let mut peers = self.peers.borrow_mut();
        let list = peers.get_mut(&peer)?;
        let now = Instant::now();
        let mut i = 0;
        while let Some(c) = list.get(i) {
            if !self.usable(c, now) {
                list.remove(i);
            } else if c.sender.is_ready() {
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
