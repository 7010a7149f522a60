use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// An append-only log destination that can be reopened after rotation (`USR1`).
///
/// `/dev/stdout` and `/dev/stderr` write to the inherited descriptors rather than opening the
/// device, so logs reach a terminal or a supervisor's pipe; `off` discards everything.
#[derive(Debug)]
pub enum LogFile {
    Off,
    Stdout,
    Stderr,
    File { path: PathBuf, file: File },
}

impl LogFile {
    /// Opens (creating it and its directory if needed) a log file for appending.
    pub fn file(path: &Path) -> io::Result<LogFile> {
        let file = open_append(path)?;
        Ok(LogFile::File {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Reopens a file by its path, so a rotated file is released and a new one created.
    pub fn reopen(&mut self) -> io::Result<()> {
        if let LogFile::File { path, file } = self {
            *file = open_append(path)?;
        }
        Ok(())
    }

    /// Writes one whole line (the caller includes the newline) with a single `write` call, so
    /// lines from several processes appending to one file never interleave.
    pub fn write_line(&mut self, line: &[u8]) {
        // A full disk or a closed pipe must not take the gateway down: the line is dropped.
        let _ = match self {
            LogFile::Off => Ok(()),
            LogFile::Stdout => io::stdout().lock().write_all(line),
            LogFile::Stderr => io::stderr().lock().write_all(line),
            LogFile::File { file, .. } => file.write_all(line),
        };
    }

    pub fn is_off(&self) -> bool {
        matches!(self, LogFile::Off)
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    OpenOptions::new().create(true).append(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopen_follows_a_rotated_file() {
        let dir = std::env::temp_dir().join(format!("sluice-log-test-{}", std::process::id()));
        let path = dir.join("access.log");
        let mut log = LogFile::file(&path).unwrap();
        log.write_line(b"one\n");
        std::fs::rename(&path, dir.join("access.log.1")).unwrap();
        log.write_line(b"two\n");
        log.reopen().unwrap();
        log.write_line(b"three\n");
        assert_eq!(
            std::fs::read_to_string(dir.join("access.log.1")).unwrap(),
            "one\ntwo\n"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "three\n");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
