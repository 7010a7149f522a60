//! Sluice's logs: the error log (nginx's format and levels, shared by master and workers) and
//! reopenable append-only files (also used for access logs), so `USR1` can rotate them.
#![forbid(unsafe_code)]

mod errlog;
mod file;

pub use errlog::{enabled, init, log, reopen, Level};
pub use file::LogFile;

/// Logs at a level with `format!` arguments, skipping the formatting when the level is off.
#[macro_export]
macro_rules! log_at {
    ($lvl:expr, $($arg:tt)+) => {
        if $crate::enabled($lvl) {
            $crate::log($lvl, format_args!($($arg)+))
        }
    };
}
#[macro_export]
macro_rules! error { ($($arg:tt)+) => { $crate::log_at!($crate::Level::Error, $($arg)+) }; }
#[macro_export]
macro_rules! warn { ($($arg:tt)+) => { $crate::log_at!($crate::Level::Warn, $($arg)+) }; }
#[macro_export]
macro_rules! notice { ($($arg:tt)+) => { $crate::log_at!($crate::Level::Notice, $($arg)+) }; }
#[macro_export]
macro_rules! info { ($($arg:tt)+) => { $crate::log_at!($crate::Level::Info, $($arg)+) }; }
#[macro_export]
macro_rules! debug { ($($arg:tt)+) => { $crate::log_at!($crate::Level::Debug, $($arg)+) }; }
#[macro_export]
macro_rules! emerg { ($($arg:tt)+) => { $crate::log_at!($crate::Level::Emerg, $($arg)+) }; }
#[macro_export]
macro_rules! alert { ($($arg:tt)+) => { $crate::log_at!($crate::Level::Alert, $($arg)+) }; }
