//! One access-log line per request, written when the response body has been sent (or abandoned),
//! in nginx's `combined` format followed by the upstream status and the timings.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::time::Duration;

use http::header::{REFERER, USER_AGENT};
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
            let mut head = String::with_capacity(128);
            head.push_str(ctx.conn.client_ip_text());
            head.push_str(" - - [");
            LOCAL_TIME.with(|t| head.push_str(t.borrow_mut().now()));
            let _ = write!(head, "] \"{} {} {:?}\"", req.method, req.uri, req.version);
            let tail = format!("\"{}\" \"{}\"", header(REFERER), header(USER_AGENT));
            (head, tail)
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
        let mut line = head;
        let _ = write!(line, " {} {bytes_sent} ", self.status);
        line.push_str(&tail);
        line.push_str(" upstream_status=");
        match self.upstream_status {
            Some(s) => {
                let _ = write!(line, "{s}");
            }
            None => line.push('-'),
        }
        line.push_str(" upstream_time=");
        push_secs(&mut line, self.upstream_latency);
        line.push_str(" request_time=");
        push_secs(&mut line, self.started.map(|s| s.elapsed()));
        line.push('\n');
        ACCESS_LOG.with(|l| l.borrow_mut().write_line(line.as_bytes()));
    }
}

/// Seconds with millisecond resolution (`0.004`), or `-`.
fn push_secs(line: &mut String, d: Option<Duration>) {
    match d {
        // Rounded to the nearest millisecond in integers: float formatting costs more than the
        // rest of the line.
        Some(d) => {
            let ms = (d.as_nanos() + 500_000) / 1_000_000;
            let _ = write!(line, "{}.{:03}", ms / 1000, ms % 1000);
        }
        None => line.push('-'),
    }
}

thread_local! {
    static LOCAL_TIME: RefCell<LocalTime> = const { RefCell::new(LocalTime { second: -1, text: String::new() }) };
}

/// The local time as the log writes it (`23/Nov/2026:12:57:04 +0000`), formatted once a second
/// as nginx caches `$time_local`.
struct LocalTime {
    second: i64,
    text: String,
}

impl LocalTime {
    fn now(&mut self) -> &str {
        let now = chrono::Local::now();
        if now.timestamp() != self.second {
            self.second = now.timestamp();
            self.text.clear();
            let _ = write!(self.text, "{}", now.format("%d/%b/%Y:%H:%M:%S %z"));
        }
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(d: Option<Duration>) -> String {
        let mut s = String::new();
        push_secs(&mut s, d);
        s
    }

    #[test]
    fn seconds_have_millisecond_resolution() {
        assert_eq!(secs(None), "-");
        assert_eq!(secs(Some(Duration::from_micros(4_400))), "0.004");
        assert_eq!(secs(Some(Duration::from_micros(4_600))), "0.005");
        assert_eq!(secs(Some(Duration::from_millis(61_250))), "61.250");
    }
}
