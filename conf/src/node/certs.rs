//! Certificate properties: `ssl_cert` / `ssl_cert_key` (what `ssl` listeners serve) and
//! `lua_ssl_trusted_certificate` (what verified upstream connections trust). Files are only
//! checked for being readable here; the worker parses them, so `sluice check` reports both.

use super::values;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// One entry of `lua_ssl_trusted_certificate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "from", content = "path")]
pub enum TrustedCa {
    /// `system`: the operating system's CA store, as Kong's default.
    System,
    /// A PEM file of CA certificates.
    File(PathBuf),
}

/// A comma-separated list of readable files; relative paths are resolved against `cwd`.
pub(crate) fn files(v: &str, cwd: &Path) -> Result<Vec<PathBuf>, String> {
    values::list(v).iter().map(|p| file(p, cwd)).collect()
}

/// `lua_ssl_trusted_certificate`: `system` and/or PEM files; `off` (or empty) trusts nothing.
pub(crate) fn trusted(v: &str, cwd: &Path) -> Result<Vec<TrustedCa>, String> {
    if v == "off" {
        return Ok(Vec::new());
    }
    values::list(v)
        .iter()
        .map(|entry| match entry.as_str() {
            "system" => Ok(TrustedCa::System),
            path => file(path, cwd).map(TrustedCa::File),
        })
        .collect()
}

fn file(path: &str, cwd: &Path) -> Result<PathBuf, String> {
    let path = cwd.join(path);
    match std::fs::File::open(&path) {
        Ok(_) => Ok(path),
        Err(e) => Err(format!("cannot read '{}': {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_must_be_readable() {
        let dir = std::env::temp_dir();
        let existing = std::env::current_exe().unwrap();
        let name = existing.display().to_string();
        assert_eq!(files(&name, &dir), Ok(vec![existing.clone()]));
        assert_eq!(files("", &dir), Ok(vec![]));
        let err = files(&format!("{name}, /nonexistent/a.crt"), &dir).unwrap_err();
        assert!(
            err.starts_with("cannot read '/nonexistent/a.crt':"),
            "{err}"
        );
        assert_eq!(
            trusted(&format!("system,{name}"), &dir),
            Ok(vec![TrustedCa::System, TrustedCa::File(existing)])
        );
        assert_eq!(trusted("off", &dir), Ok(vec![]));
        assert!(trusted("system, nope.pem", Path::new("/nonexistent"))
            .unwrap_err()
            .contains("/nonexistent/nope.pem"));
    }
}
