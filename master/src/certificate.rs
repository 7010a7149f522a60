//! Kong's default certificate: `ssl` listeners without `ssl_cert` serve a self-signed certificate
//! for `localhost`, generated once into `<prefix>/ssl/` and reused on every restart and reload, so
//! clients that pinned it keep working.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use sluice_conf::NodeConfig;

/// Generates the default certificate if the config serves it and it does not exist yet.
pub fn ensure_default(node: &NodeConfig) -> Result<(), String> {
    if !node.has_ssl_listener() || !node.ssl_cert.is_empty() {
        return Ok(());
    }
    let (cert_path, key_path) = node.default_ssl_cert();
    if cert_path.exists() && key_path.exists() {
        return Ok(());
    }
    let (cert, key) =
        generate().map_err(|e| format!("cannot generate the default certificate: {e}"))?;
    if let Some(dir) = cert_path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    write(&key_path, &key, 0o600)?;
    write(&cert_path, &cert, 0o644)?;
    sluice_log::notice!(
        "generated the default certificate {} (ssl_cert is not set)",
        cert_path.display()
    );
    Ok(())
}

/// A self-signed certificate for `localhost` (also its common name, as Kong's), PEM, and its key.
fn generate() -> Result<(String, String), rcgen::Error> {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()])?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    let key = rcgen::KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn write(path: &Path, pem: &str, mode: u32) -> Result<(), String> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .and_then(|mut f| f.write_all(pem.as_bytes()))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(prefix: &Path, listen: &str) -> NodeConfig {
        NodeConfig::load(&sluice_conf::LoadOptions {
            prefix: Some(prefix.to_path_buf()),
            env: [("SLUICE_PROXY_LISTEN".into(), listen.into())].into(),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn generated_once_and_only_for_ssl_listeners() {
        let dir = tempfile::tempdir().unwrap();
        let plain = node(dir.path(), "127.0.0.1:0");
        ensure_default(&plain).unwrap();
        assert!(!dir.path().join("ssl").exists());

        let ssl = node(dir.path(), "127.0.0.1:0 ssl");
        ensure_default(&ssl).unwrap();
        let (cert, key) = ssl.default_ssl_cert();
        let first = std::fs::read_to_string(&cert).unwrap();
        assert!(first.starts_with("-----BEGIN CERTIFICATE-----"));
        let mode = std::os::unix::fs::PermissionsExt::mode(&key.metadata().unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600);
        ensure_default(&ssl).unwrap();
        assert_eq!(std::fs::read_to_string(&cert).unwrap(), first, "reused");
    }
}
