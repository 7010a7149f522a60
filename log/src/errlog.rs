use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

use crate::LogFile;

/// nginx's (and so Kong's) log levels, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    Emerg,
    Alert,
    Crit,
    Error,
    Warn,
    Notice,
    Info,
    Debug,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Emerg => "emerg",
            Level::Alert => "alert",
            Level::Crit => "crit",
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Notice => "notice",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        [
            Level::Emerg,
            Level::Alert,
            Level::Crit,
            Level::Error,
            Level::Warn,
            Level::Notice,
            Level::Info,
            Level::Debug,
        ]
        .into_iter()
        .find(|l| l.name() == s)
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Notice as u8);
static SINK: Mutex<Option<LogFile>> = Mutex::new(None);

/// Sets the error log's destination (stderr until this is called) and its threshold.
pub fn init(dest: LogFile, level: Level) {
    LEVEL.store(level as u8, Ordering::Relaxed);
    *SINK.lock().unwrap_or_else(|e| e.into_inner()) = Some(dest);
}

/// Reopens the error log file (`USR1`).
pub fn reopen() -> std::io::Result<()> {
    match SINK.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        Some(sink) => sink.reopen(),
        None => Ok(()),
    }
}

pub fn enabled(level: Level) -> bool {
    level as u8 <= LEVEL.load(Ordering::Relaxed)
}

/// Writes one line in nginx's error-log shape: `2026/11/23 09:17:00 [error] 1234#0: message`.
pub fn log(level: Level, args: fmt::Arguments) {
    let mut line = Vec::with_capacity(128);
    let now = chrono::Local::now().format("%Y/%m/%d %H:%M:%S");
    let _ = writeln!(
        line,
        "{now} [{}] {}#0: {args}",
        level.name(),
        std::process::id()
    );
    let mut sink = SINK.lock().unwrap_or_else(|e| e.into_inner());
    match sink.as_mut() {
        Some(sink) => sink.write_line(&line),
        None => {
            let _ = std::io::stderr().write_all(&line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_and_order_like_nginx() {
        assert_eq!(Level::parse("warn"), Some(Level::Warn));
        assert_eq!(Level::parse("verbose"), None);
        assert!(Level::Error < Level::Debug);
    }
}
