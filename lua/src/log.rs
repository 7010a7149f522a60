//! Where `ngx.log` (and `print`) lines go.

use sluice_log::Level;

/// The destination of the VM's log lines. The worker uses [`ErrorLog`]; tests capture lines.
pub trait LogSink {
    /// Whether a line at `level` would be written (so callers can skip formatting it).
    fn enabled(&self, level: Level) -> bool;
    /// Writes one message (without the timestamp/level/pid prefix, which the sink adds).
    fn write(&self, level: Level, msg: &str);
}

/// The process's error log (`sluice_log`), with its configured threshold.
#[derive(Debug, Default, Clone, Copy)]
pub struct ErrorLog;

impl LogSink for ErrorLog {
    fn enabled(&self, level: Level) -> bool {
        sluice_log::enabled(level)
    }

    fn write(&self, level: Level, msg: &str) {
        sluice_log::log(level, format_args!("{msg}"));
    }
}
