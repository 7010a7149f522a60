//! One access-log line per request, written when the response body has been sent (or abandoned),
//! in nginx's `combined` format followed by the upstream status and the timings.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::time::Duration;

use sluice_log::LogFile;
use tokio::time::Instant;

use crate::proxy::body::OnEnd;
use crate::runloop::RequestCtx;

thread_local! {
    static ACCESS_LOG: RefCell<LogFile> = const { RefCell::new(LogFile::Off) };
}

/// Sets this worker's access log destination.
pub fn init(log: LogFile) {
    ACCESS_LOG.with(|l| *l.borrow_mut() = log);
}

/// Reopens the access log after rotation (`USR1`).
pub fn reopen() -> std::io::Result<()> {
    ACCESS_LOG.with(|l| l.borrow_mut().reopen())
}

fn enabled() -> bool {
    ACCESS_LOG.with(|l| !l.borrow().is_off())
}

/// What the line says about one request, filled in as the request goes.
pub struct Entry {
    /// The request's part of the line: `(before status, after bytes)`; `None` when logging is off.
    line: Option<(String, String)>,
    pub status: u16,
    pub upstream_status: Option<u16>,
    pub upstream_latency: Option<Duration>,
    /// The upstream read timeout that applies to the response body, when proxied.
    pub read_timeout: Option<Duration>,
    started: Option<Instant>,
}

impl Entry {
    /// Captures the request's part of the line now, before the request is consumed.
    pub fn new(ctx: &RequestCtx) -> Entry {
        let line = enabled().then(|| {
            let req = ctx.req.borrow();
            let header = |name| {
                req.headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-")
            };
            let head = format!(
                "{} - - [{}] \"{} {} {:?}\"",
                ctx.conn.client.ip(),
                chrono::Local::now().format("%d/%b/%Y:%H:%M:%S %z"),
                req.method,
                req.uri,
                req.version,
            );
            (
                head,
                format!("\"{}\" \"{}\"", header("referer"), header("user-agent")),
            )
        });
        Entry {
            line,
            status: 0,
            upstream_status: None,
            upstream_latency: None,
            read_timeout: None,
            started: None,
        }
    }

    pub fn started_at(mut self, at: Instant) -> Entry {
        self.started = Some(at);
        self
    }
}

impl OnEnd for Entry {
    fn on_end(self: Box<Self>, bytes_sent: u64) {
        let Some((head, tail)) = self.line else {
            return;
        };
        let mut line = format!("{head} {} {bytes_sent} {tail}", self.status);
        let secs =
            |d: Option<Duration>| d.map_or("-".to_string(), |d| format!("{:.3}", d.as_secs_f64()));
        let _ = writeln!(
            line,
            " upstream_status={} upstream_time={} request_time={}",
            self.upstream_status
                .map_or("-".to_string(), |s| s.to_string()),
            secs(self.upstream_latency),
            secs(self.started.map(|s| s.elapsed())),
        );
        ACCESS_LOG.with(|l| l.borrow_mut().write_line(line.as_bytes()));
    }
}
