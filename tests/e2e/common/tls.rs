//! Test certificates: a throwaway CA issuing certificates for loopback names, and HTTPS clients
//! that trust it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

/// A certificate and its key, PEM.
pub struct Leaf {
    pub cert: String,
    pub key: String,
}

impl Leaf {
    /// Writes `<name>.crt` and `<name>.key` into `dir`; returns their paths.
    pub fn write(&self, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let (cert, key) = (
            dir.join(format!("{name}.crt")),
            dir.join(format!("{name}.key")),
        );
        std::fs::write(&cert, &self.cert).unwrap();
        std::fs::write(&key, &self.key).unwrap();
        (cert, key)
    }
}

pub struct TestCa {
    pub pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl TestCa {
    pub fn new() -> TestCa {
        let mut params = CertificateParams::new(Vec::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // Not rcgen's default name, which self-signed test certificates carry too.
        params
            .distinguished_name
            .push(DnType::CommonName, "Sluice test CA");
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        TestCa {
            pem,
            issuer: Issuer::new(params, key),
        }
    }

    /// A certificate for `names` (DNS names or IP addresses) signed by this CA.
    /// A CA whose certificate this one issues (an intermediate); its `pem` is that certificate.
    pub fn intermediate(&self) -> TestCa {
        let mut params = CertificateParams::new(Vec::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "Sluice test intermediate CA");
        let key = KeyPair::generate().unwrap();
        let pem = params.signed_by(&key, &self.issuer).unwrap().pem();
        TestCa {
            pem,
            issuer: Issuer::new(params, key),
        }
    }

    pub fn leaf(&self, names: &[&str]) -> Leaf {
        let params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        let key = KeyPair::generate().unwrap();
        Leaf {
            cert: params.signed_by(&key, &self.issuer).unwrap().pem(),
            key: key.serialize_pem(),
        }
    }

    /// Node config serving a certificate for `names` from this CA (written into `dir`).
    pub fn ssl_conf(&self, dir: &Path, names: &[&str]) -> String {
        let (cert, key) = self.leaf(names).write(dir, "server");
        format!(
            "ssl_cert = {}\nssl_cert_key = {}\n",
            cert.display(),
            key.display()
        )
    }

    /// Writes the CA certificate as `ca.crt` into `dir`.
    pub fn write(&self, dir: &Path) -> PathBuf {
        let path = dir.join("ca.crt");
        std::fs::write(&path, &self.pem).unwrap();
        path
    }

    pub fn der(&self) -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(self.pem.as_bytes()).unwrap()
    }

    /// A client trusting only this CA.
    pub fn client(&self) -> reqwest::blocking::Client {
        client_trusting(self.der(), None)
    }

    /// A client trusting only this CA that offers `h2` and `http/1.1` in ALPN, as browsers do,
    /// and keeps its connections.
    pub fn h2_client(&self) -> reqwest::blocking::Client {
        let mut config = tls_config(self.der());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        super::http::builder()
            .tls_backend_preconfigured(config)
            .build()
            .unwrap()
    }
}

/// A client TLS config that trusts only `root`.
fn tls_config(root: CertificateDer<'static>) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// A fresh-connection client that trusts only `root` (a CA, or a self-signed certificate) and,
/// with `resolve`, sends requests for that name to that address (so the name is the SNI and what
/// the certificate is checked against).
pub fn client_trusting(
    root: CertificateDer<'static>,
    resolve: Option<(&str, SocketAddr)>,
) -> reqwest::blocking::Client {
    let mut builder = super::http::builder()
        .pool_max_idle_per_host(0)
        .tls_backend_preconfigured(tls_config(root));
    if let Some((name, addr)) = resolve {
        builder = builder.resolve(name, addr);
    }
    builder.build().unwrap()
}
