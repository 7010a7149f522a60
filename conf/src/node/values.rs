//! Parsers for scalar property values, in nginx's and Kong's notations.

use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// Kong's booleans: `on`/`off`/`true`/`false`.
pub(crate) fn boolean(s: &str) -> Result<bool, String> {
    match s {
        "on" | "true" => Ok(true),
        "off" | "false" => Ok(false),
        _ => Err(format!(
            "expected 'on', 'off', 'true' or 'false', got '{s}'"
        )),
    }
}

/// An nginx size: bytes, or a number with a `k`, `m` or `g` suffix (either case).
pub(crate) fn size(s: &str) -> Result<u64, String> {
    let invalid = || format!("invalid size '{s}' (expected e.g. 512, 8k, 5m, 1g)");
    let (digits, multiplier) = match s.as_bytes().last() {
        Some(b'k' | b'K') => (&s[..s.len() - 1], 1 << 10),
        Some(b'm' | b'M') => (&s[..s.len() - 1], 1 << 20),
        Some(b'g' | b'G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(invalid)
}

/// An nginx time: `10s`, `500ms`, `1m30s`, `2h`, `1d`, `1w`; a bare number is seconds.
pub(crate) fn duration(s: &str) -> Result<Duration, String> {
    let invalid = || format!("invalid time '{s}' (expected e.g. 10s, 500ms, 1m30s, or seconds)");
    if s.is_empty() {
        return Err(invalid());
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map(Duration::from_secs).map_err(|_| invalid());
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let unit_len = rest[digits..]
            .bytes()
            .take_while(u8::is_ascii_alphabetic)
            .count();
        if digits == 0 || unit_len == 0 {
            return Err(invalid());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| invalid())?;
        let unit_ms: u64 = match &rest[digits..digits + unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            "M" => 30 * 86_400_000,
            "y" => 365 * 86_400_000,
            _ => return Err(invalid()),
        };
        let ms = n.checked_mul(unit_ms).ok_or_else(invalid)?;
        total = total
            .checked_add(Duration::from_millis(ms))
            .ok_or_else(invalid)?;
        rest = &rest[digits + unit_len..];
    }
    Ok(total)
}

/// An integer in `min..=max`.
pub(crate) fn integer<T>(s: &str, min: T, max: T) -> Result<T, String>
where
    T: FromStr + PartialOrd + fmt::Display + Copy,
{
    match s.parse::<T>() {
        Ok(n) if n >= min && n <= max => Ok(n),
        _ => Err(format!(
            "expected an integer between {min} and {max}, got '{s}'"
        )),
    }
}

/// A comma-separated list; surrounding blanks trimmed, empty items dropped.
pub(crate) fn list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(String::from)
        .collect()
}

/// Kong's (nginx's) log levels, least severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    #[default]
    Notice,
    Warn,
    Error,
    Crit,
    Alert,
    Emerg,
}

impl LogLevel {
    const ALL: [(&'static str, LogLevel); 8] = [
        ("debug", LogLevel::Debug),
        ("info", LogLevel::Info),
        ("notice", LogLevel::Notice),
        ("warn", LogLevel::Warn),
        ("error", LogLevel::Error),
        ("crit", LogLevel::Crit),
        ("alert", LogLevel::Alert),
        ("emerg", LogLevel::Emerg),
    ];

    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, level)| *level == self)
            .map_or("notice", |(name, _)| name)
    }
}

impl FromStr for LogLevel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .find(|(name, _)| *name == s)
            .map(|(_, level)| *level)
            .ok_or_else(|| {
                format!(
                    "unknown log level '{s}' (expected debug, info, notice, warn, error, crit, alert or emerg)"
                )
            })
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a log goes: Kong's `*_log` properties.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase", tag = "to", content = "path")]
pub enum LogTarget {
    /// `off`.
    #[default]
    Off,
    /// `/dev/stdout`: written to the process's stdout, never reopened.
    Stdout,
    /// `/dev/stderr`.
    Stderr,
    /// A file; relative paths are resolved against the prefix, as Kong does.
    File(PathBuf),
}

/// Parses a log path relative to `prefix`.
pub(crate) fn log_target(s: &str, prefix: &Path) -> Result<LogTarget, String> {
    match s {
        "off" => Ok(LogTarget::Off),
        "/dev/stdout" => Ok(LogTarget::Stdout),
        "/dev/stderr" => Ok(LogTarget::Stderr),
        "" => Err("expected a path, /dev/stdout, /dev/stderr or off".into()),
        s if s.contains(char::is_whitespace) => Err(format!(
            "expected a single path, got '{s}' (custom log formats are not supported)"
        )),
        s => Ok(LogTarget::File(prefix.join(s))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans() {
        assert_eq!(boolean("on"), Ok(true));
        assert_eq!(boolean("true"), Ok(true));
        assert_eq!(boolean("off"), Ok(false));
        assert_eq!(boolean("false"), Ok(false));
        assert!(boolean("yes").unwrap_err().contains("'yes'"));
    }

    #[test]
    fn sizes() {
        assert_eq!(size("512"), Ok(512));
        assert_eq!(size("8k"), Ok(8192));
        assert_eq!(size("5m"), Ok(5 << 20));
        assert_eq!(size("5M"), Ok(5 << 20));
        assert_eq!(size("1g"), Ok(1 << 30));
        for bad in ["", "k", "5x", "-1", "1.5m", "99999999999999999999g"] {
            assert!(size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(duration("1d"), Ok(Duration::from_secs(86400)));
        for bad in ["", "s", "10x", "1.5s", "10s5", "-1s"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn integers_and_lists() {
        assert_eq!(integer::<u32>("5", 1, 10), Ok(5));
        assert_eq!(
            integer::<u32>("0", 1, 10),
            Err("expected an integer between 1 and 10, got '0'".into())
        );
        assert!(integer::<u32>("x", 1, 10).is_err());
        assert_eq!(list(" a, b ,,c "), vec!["a", "b", "c"]);
        assert!(list("").is_empty());
    }

    #[test]
    fn log_levels() {
        assert_eq!("warn".parse(), Ok(LogLevel::Warn));
        assert!(LogLevel::Debug < LogLevel::Emerg);
        assert_eq!(LogLevel::Crit.to_string(), "crit");
        assert!("verbose"
            .parse::<LogLevel>()
            .unwrap_err()
            .contains("'verbose'"));
    }

    #[test]
    fn log_targets() {
        let prefix = Path::new("/p");
        assert_eq!(log_target("off", prefix), Ok(LogTarget::Off));
        assert_eq!(log_target("/dev/stdout", prefix), Ok(LogTarget::Stdout));
        assert_eq!(log_target("/dev/stderr", prefix), Ok(LogTarget::Stderr));
        assert_eq!(
            log_target("logs/access.log", prefix),
            Ok(LogTarget::File("/p/logs/access.log".into()))
        );
        assert_eq!(
            log_target("/var/log/a.log", prefix),
            Ok(LogTarget::File("/var/log/a.log".into()))
        );
        assert!(log_target("logs/a.log basic", prefix)
            .unwrap_err()
            .contains("log formats"));
        assert!(log_target("", prefix).is_err());
    }
}
