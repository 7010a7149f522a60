//! Accepting connections and serving HTTP/1.1 on them, and draining them on shutdown.

use std::cell::Cell;
use std::convert::Infallible;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};

use crate::gateway::Gateway;
use crate::proxy::ConnInfo;
use crate::runloop;
use crate::{admin, ListenKind};

/// How long a client may take to send a request head (nginx's `client_header_timeout`).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Connections accepted by this worker so far: the source of `ConnInfo::serial`.
static CONNECTIONS: AtomicU64 = AtomicU64::new(0);

/// Where a worker is in its life; connections watch it to know when to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Serving,
    /// No new connections; responses say `Connection: close` so keep-alive clients move on.
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
/// own task.
pub async fn accept_loop(
    listener: TcpListener,
    kind: ListenKind,
    gw: Rc<Gateway>,
    life: Rc<Lifecycle>,
) {
    let mut phase = life.phase.subscribe();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::task::spawn_local(serve(stream, kind, gw.clone(), life.clone()));
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

async fn serve(stream: TcpStream, kind: ListenKind, gw: Rc<Gateway>, life: Rc<Lifecycle>) {
    let _open = life.track();
    let (Ok(client), Ok(local)) = (stream.peer_addr(), stream.local_addr()) else {
        return;
    };
    let _ = stream.set_nodelay(true);
    let conn_info = Rc::new(ConnInfo {
        client,
        local,
        scheme: "http",
        serial: CONNECTIONS.fetch_add(1, Ordering::Relaxed) + 1,
        requests: Cell::new(0),
    });
    let max_buf = max_buf(&gw);
    let svc = service_fn(move |req| {
        let (gw, conn_info) = (gw.clone(), conn_info.clone());
        conn_info.requests.set(conn_info.requests.get() + 1);
        async move {
            Ok::<_, Infallible>(match kind {
                ListenKind::Proxy => runloop::handle(gw, conn_info, req).await,
                ListenKind::Admin | ListenKind::Status => admin::handle(&gw, kind, req),
            })
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(max_buf);
    let conn = builder.serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(conn);
    let mut phase = life.phase.subscribe();
    let result = tokio::select! {
        r = conn.as_mut() => r,
        _ = phase.wait_for(|p| *p == Phase::Closing) => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        sluice_log::debug!("connection from {client} ended: {e}");
    }
}

/// hyper refuses buffers under 8 KiB; nginx's `large_client_header_buffers` default is 8k too.
fn max_buf(gw: &Gateway) -> usize {
    gw.settings.max_header_bytes.max(8192)
}
