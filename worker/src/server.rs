//! Accepting connections (with a TLS handshake on `ssl` listeners) and serving HTTP/1.1 on them,
//! or HTTP/2 on `http2` listeners, and draining them on shutdown.

use std::cell::Cell;
use std::convert::Infallible;
use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::Version;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use crate::gateway::Gateway;
use crate::http2::{self, LocalExec};
use crate::proxy::body::OnEnd;
use crate::proxy::ConnInfo;
use crate::runloop;
use crate::{admin, tls, ListenKind};

/// How long a client may take to send a request head, and how long a keep-alive connection may
/// stay idle (nginx's `client_header_timeout`).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a client may take to complete the TLS handshake (nginx's `ssl_handshake_timeout`).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);

/// Connections accepted by this worker so far: the source of `ConnInfo::serial`.
static CONNECTIONS: AtomicU64 = AtomicU64::new(0);

/// Where a worker is in its life; connections watch it to know when to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Serving,
    /// No new connections; responses say `Connection: close` so keep-alive clients move on, and
    /// HTTP/2 clients get GOAWAY.
    Draining,
    /// Idle connections are closed; in-flight requests finish.
    Closing,
}

/// The worker's phase plus a count of open connections, so shutdown can wait for the last one.
pub struct Lifecycle {
    phase: watch::Sender<Phase>,
    open: Cell<usize>,
    all_closed: Notify,
}

impl Lifecycle {
    pub fn new() -> Rc<Lifecycle> {
        Rc::new(Lifecycle {
            phase: watch::Sender::new(Phase::Serving),
            open: Cell::new(0),
            all_closed: Notify::new(),
        })
    }

    pub fn set(&self, phase: Phase) {
        self.phase.send_replace(phase);
    }

    pub fn phase(&self) -> Phase {
        *self.phase.borrow()
    }

    pub fn open_connections(&self) -> usize {
        self.open.get()
    }

    /// Resolves once no connection is open.
    pub async fn closed(&self) {
        while self.open.get() > 0 {
            self.all_closed.notified().await;
        }
    }

    fn track(self: &Rc<Self>) -> ConnGuard {
        self.open.set(self.open.get() + 1);
        ConnGuard(self.clone())
    }
}

struct ConnGuard(Rc<Lifecycle>);

impl Drop for ConnGuard {
    fn drop(&mut self) {
        let open = self.0.open.get() - 1;
        self.0.open.set(open);
        if open == 0 {
            self.0.all_closed.notify_waiters();
        }
    }
}

/// Accepts on one listening socket until the worker starts draining; each connection gets its
/// own task. With `tls`, connections start with a TLS handshake. With `http2`, they may speak
/// HTTP/2: as `tls` negotiates it in ALPN, or with h2c's preface.
pub async fn accept_loop(
    listener: TcpListener,
    kind: ListenKind,
    tls: Option<TlsAcceptor>,
    http2: bool,
    gw: Rc<Gateway>,
    life: Rc<Lifecycle>,
) {
    let mut phase = life.phase.subscribe();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let conn = Conn { kind, http2, gw: gw.clone(), life: life.clone() };
                    tokio::task::spawn_local(conn.start(stream, tls.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    sluice_log::error!("accept() failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = phase.wait_for(|p| *p != Phase::Serving) => return,
        }
    }
}

/// One accepted connection, before and while it serves HTTP.
struct Conn {
    kind: ListenKind,
    /// The listener's `http2` flag.
    http2: bool,
    gw: Rc<Gateway>,
    life: Rc<Lifecycle>,
}

/// Which HTTP a connection speaks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Http1,
    /// Chosen in ALPN.
    Http2,
    /// h2c if the client starts with HTTP/2's preface, else HTTP/1.1.
    Detect,
}

impl Conn {
    async fn start(self, stream: TcpStream, tls: Option<TlsAcceptor>) {
        let _open = self.life.track();
        let (Ok(client), Ok(local)) = (stream.peer_addr(), stream.local_addr()) else {
            return;
        };
        let _ = stream.set_nodelay(true);
        let Some(acceptor) = tls else {
            let info = ConnInfo::new(client, local, "http", None, next_serial());
            let protocol = if self.http2 {
                Protocol::Detect
            } else {
                Protocol::Http1
            };
            return self.serve(stream, info, protocol).await;
        };
        let mut phase = self.life.phase.subscribe();
        let handshake = tokio::select! {
            r = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)) => r,
            _ = phase.wait_for(|p| *p == Phase::Closing) => return,
        };
        // A client that cannot speak our TLS is its own problem: nginx logs it at info.
        let stream = match handshake {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                sluice_log::info!("SSL handshake with client {client} failed: {e}");
                return;
            }
            Err(_) => {
                sluice_log::info!("SSL handshake with client {client} timed out");
                return;
            }
        };
        let sni = stream.get_ref().1.server_name().map(str::to_owned);
        let protocol = if tls::negotiated_h2(stream.get_ref().1) {
            Protocol::Http2
        } else {
            Protocol::Http1
        };
        let info = ConnInfo::new(client, local, "https", sni, next_serial());
        self.serve(stream, info, protocol).await
    }

    async fn serve<S>(self, stream: S, info: ConnInfo, protocol: Protocol)
    where
        S: AsyncRead + AsyncWrite + Unpin + 'static,
    {
        let Conn { kind, gw, life, .. } = self;
        let client = info.client;
        let conn_info = Rc::new(info);
        let max_buf = max_buf(&gw);
        let max_header_bytes = gw.settings.max_header_bytes;
        let idle = Idle::new(protocol == Protocol::Http2);
        let svc = {
            let idle = idle.clone();
            service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let (gw, conn_info) = (gw.clone(), conn_info.clone());
                let request = InFlight::start(&idle);
                conn_info.requests.set(conn_info.requests.get() + 1);
                // Everything the future needs is moved into it, so hyper gets it without a copy.
                async move {
                    let mut req = req;
                    if req.version() == Version::HTTP_2 {
                        request.0.http2.set(true);
                        http2::as_http1(&mut req);
                    }
                    let resp = match kind {
                        ListenKind::Proxy => runloop::handle(gw, conn_info, req).await,
                        ListenKind::Admin | ListenKind::Status => admin::handle(&gw, kind, req),
                    };
                    Ok::<_, Infallible>(resp.map(|body| body.on_end(Box::new(request))))
                }
            })
        };
        let io = TokioIo::new(stream);
        let result = if protocol == Protocol::Http1 {
            // HTTP/1.1-only connections skip the auto builder's protocol detection and buffer.
            let mut builder = http1::Builder::new();
            builder.header_read_timeout(None).max_buf_size(max_buf);
            let conn = builder.serve_connection(io, svc);
            watch(conn, |c| c.graceful_shutdown(), &life, &idle).await
        } else {
            let mut builder = auto::Builder::new(LocalExec);
            if protocol == Protocol::Http2 {
                builder = builder.http2_only();
            }
            builder
                .http1()
                .header_read_timeout(None)
                .max_buf_size(max_buf);
            http2::limit(&mut builder.http2(), max_header_bytes);
            let conn = builder.serve_connection(io, svc);
            watch(conn, |c| c.graceful_shutdown(), &life, &idle).await
        };
        if let Err(e) = result {
            sluice_log::debug!("connection from {client} ended: {e}");
        }
    }
}

/// Drives a connection to its end, shutting it down gracefully when the worker drains (HTTP/2
/// at once, with GOAWAY; HTTP/1.1 once idle connections close, after `Connection: close` had its
/// chance) or when a request head is overdue.
async fn watch<C, E>(
    conn: C,
    shutdown: impl Fn(Pin<&mut C>),
    life: &Lifecycle,
    idle: &Idle,
) -> Result<(), String>
where
    C: Future<Output = Result<(), E>>,
    E: Display,
{
    tokio::pin!(conn);
    let mut phase = life.phase.subscribe();
    let head_deadline = tokio::time::sleep(HEADER_READ_TIMEOUT);
    tokio::pin!(head_deadline);
    let mut closing = false;
    let stop = |p: &Phase| *p == Phase::Closing || (*p == Phase::Draining && idle.http2.get());
    loop {
        tokio::select! {
            // The connection first: the other branches are rare, and no coin toss per poll.
            biased;
            r = conn.as_mut() => return r.map_err(|e| e.to_string()),
            _ = phase.wait_for(stop), if !closing => {
                shutdown(conn.as_mut());
                closing = true;
            }
            _ = head_deadline.as_mut() => {
                let since = idle.since.get();
                if since.is_some_and(|t| t.elapsed() >= HEADER_READ_TIMEOUT) {
                    // hyper's own header timeout closes without a response too.
                    if !idle.answered.get() {
                        return Ok(());
                    }
                    shutdown(conn.as_mut());
                    closing = true;
                }
                let from = since.filter(|_| !closing).unwrap_or_else(Instant::now);
                head_deadline.as_mut().reset(from + HEADER_READ_TIMEOUT);
            }
        }
    }
}

/// When the connection went idle, while it is: from the accept and from the end of the last
/// response in flight until the next request arrives. One sleep per connection checks it, waking
/// at most once per timeout, where hyper's own header timer is a timer registration per request.
/// On HTTP/2 an idle connection gets GOAWAY after the timeout, as nginx's `keepalive_timeout`.
struct Idle {
    since: Cell<Option<Instant>>,
    /// Requests whose response has not ended yet (HTTP/2 has several at once).
    in_flight: Cell<usize>,
    /// Whether a response has been sent. Before the first one hyper's connection is not idle, so
    /// a graceful shutdown would go on waiting for the head: the connection is dropped instead.
    answered: Cell<bool>,
    /// The connection speaks HTTP/2, so draining tells it at once with GOAWAY.
    http2: Cell<bool>,
}

/// One request in flight, from its head until its response ends or is abandoned (an HTTP/2
/// stream the client resets drops it unanswered).
struct InFlight(Rc<Idle>);

impl Idle {
    /// A connection just accepted: idle since now. `http2` when ALPN chose it.
    fn new(http2: bool) -> Rc<Idle> {
        Rc::new(Idle {
            since: Cell::new(Some(Instant::now())),
            in_flight: Cell::new(0),
            answered: Cell::new(false),
            http2: Cell::new(http2),
        })
    }
}

impl InFlight {
    fn start(idle: &Rc<Idle>) -> InFlight {
        idle.in_flight.set(idle.in_flight.get() + 1);
        idle.since.set(None);
        InFlight(idle.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let idle = &self.0;
        let left = idle.in_flight.get() - 1;
        idle.in_flight.set(left);
        idle.answered.set(true);
        if left == 0 {
            idle.since.set(Some(Instant::now()));
        }
    }
}

/// The response's end ends the request (by dropping it).
impl OnEnd for InFlight {
    fn on_end(self: Box<Self>, _bytes_sent: u64) {}
}

/// The next connection serial number of this worker (`$connection`).
fn next_serial() -> u64 {
    CONNECTIONS.fetch_add(1, Ordering::Relaxed) + 1
}

/// hyper refuses buffers under 8 KiB; nginx's `large_client_header_buffers` default is 8k too.
fn max_buf(gw: &Gateway) -> usize {
    gw.settings.max_header_bytes.max(8192)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::pending;
    use tokio::time::timeout;

    /// Watches a connection that never ends by itself; returns how many times it was told to
    /// shut down (shared with the caller) and the watch.
    fn watching<'a>(
        life: &'a Lifecycle,
        idle: &'a Idle,
        shutdowns: &'a Cell<u32>,
    ) -> impl Future<Output = Result<(), String>> + 'a {
        let conn = pending::<Result<(), String>>();
        watch(
            conn,
            move |_| shutdowns.set(shutdowns.get() + 1),
            life,
            idle,
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_that_never_sends_a_head_is_dropped() {
        let (life, idle, shutdowns) = (Lifecycle::new(), Idle::new(false), Cell::new(0));
        let watched = timeout(HEADER_READ_TIMEOUT * 2, watching(&life, &idle, &shutdowns)).await;
        assert_eq!(watched, Ok(Ok(())));
        assert_eq!(shutdowns.get(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_in_flight_keep_it_open_and_the_last_one_starts_the_idle_clock() {
        let (life, idle, shutdowns) = (Lifecycle::new(), Idle::new(true), Cell::new(0));
        let (a, b) = (InFlight::start(&idle), InFlight::start(&idle));
        let watched = watching(&life, &idle, &shutdowns);
        tokio::pin!(watched);
        assert!(timeout(HEADER_READ_TIMEOUT * 3, &mut watched)
            .await
            .is_err());
        drop(a);
        assert!(timeout(HEADER_READ_TIMEOUT * 3, &mut watched)
            .await
            .is_err());
        assert_eq!(shutdowns.get(), 0, "one stream is still in flight");
        drop(b);
        let almost = HEADER_READ_TIMEOUT - Duration::from_secs(1);
        assert!(timeout(almost, &mut watched).await.is_err());
        assert_eq!(shutdowns.get(), 0);
        assert!(timeout(Duration::from_secs(2), &mut watched).await.is_err());
        assert_eq!(
            shutdowns.get(),
            1,
            "idle after its last response: shut down"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn draining_stops_http2_at_once_and_http1_when_idle_ones_close() {
        for (http2, on_draining) in [(true, 1), (false, 0)] {
            let (life, idle, shutdowns) = (Lifecycle::new(), Idle::new(http2), Cell::new(0));
            let _request = InFlight::start(&idle);
            let watched = watching(&life, &idle, &shutdowns);
            tokio::pin!(watched);
            life.set(Phase::Draining);
            assert!(timeout(Duration::from_millis(1), &mut watched)
                .await
                .is_err());
            assert_eq!(shutdowns.get(), on_draining, "http2: {http2}");
            life.set(Phase::Closing);
            assert!(timeout(Duration::from_millis(1), &mut watched)
                .await
                .is_err());
            assert_eq!(shutdowns.get(), 1, "http2: {http2}");
        }
    }
}
