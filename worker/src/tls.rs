//! TLS with rustls and its `ring` provider: the acceptor of `ssl` listeners and the connectors of
//! https upstreams. ALPN offers HTTP/1.1, and `h2` first on `http2` listeners; upstreams are
//! always spoken to in HTTP/1.1, as Kong does.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, OtherError, RootCertStore, ServerConfig,
    SignatureScheme,
};
use sluice_conf::{DeclarativeConfig, Service, TrustedCa};
use tokio_rustls::{TlsAcceptor, TlsConnector};
use uuid::Uuid;

use crate::certificates::{self, BySni, KeyTypes};

const ALPN_HTTP11: &[u8] = b"http/1.1";
const ALPN_H2: &[u8] = b"h2";

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The acceptor for `ssl` listeners, serving the certificate of the client's SNI from the
/// declarative config's `certificates`, else the `ssl_cert` / `ssl_cert_key` pairs (PEM).
pub fn acceptor(
    pairs: &[(PathBuf, PathBuf)],
    decl: &DeclarativeConfig,
) -> Result<TlsAcceptor, String> {
    let provider = provider();
    let by_sni = BySni::load(decl, &provider)?;
    let default = pairs
        .iter()
        .map(|(cert, key)| certified_key(cert, key, &provider).map(Arc::new))
        .collect::<Result<Vec<_>, _>>()?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Resolver {
            by_sni,
            default: KeyTypes(default),
        }));
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The acceptor of an `ssl http2` listener: the same certificates and session caches, with `h2`
/// offered before `http/1.1`.
pub fn offering_h2(acceptor: &TlsAcceptor) -> TlsAcceptor {
    let mut config = ServerConfig::clone(acceptor.config());
    config.alpn_protocols = vec![ALPN_H2.to_vec(), ALPN_HTTP11.to_vec()];
    TlsAcceptor::from(Arc::new(config))
}

/// Whether the client chose HTTP/2 in the handshake.
pub fn negotiated_h2(conn: &rustls::ServerConnection) -> bool {
    conn.alpn_protocol() == Some(ALPN_H2)
}

fn certified_key(
    cert: &Path,
    key: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, String> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| format!("ssl_cert: cannot load '{}': {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("ssl_cert: no certificate in '{}'", cert.display()));
    }
    let der = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("ssl_cert_key: cannot load '{}': {e}", key.display()))?;
    CertifiedKey::from_der(chain, der, provider).map_err(|e| {
        format!(
            "ssl_cert_key: '{}' does not fit '{}': {e}",
            key.display(),
            cert.display()
        )
    })
}

/// The SNI's certificate when one matches, else the default.
#[derive(Debug)]
struct Resolver {
    by_sni: BySni,
    default: KeyTypes,
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let keys = hello.server_name().and_then(|name| self.by_sni.find(name));
        keys.unwrap_or(&self.default).choose(&hello)
    }
}

/// How upstream TLS connections are made for one service: verified or not (Kong's default),
/// against `lua_ssl_trusted_certificate` or the service's `ca_certificates`, with its
/// `client_certificate` if it has one.
#[derive(Clone)]
pub struct Connector {
    pub inner: TlsConnector,
    /// The connector's settings: a pooled connection is reused only by a connector with the
    /// same (Kong keys its upstream keep-alive pools the same way).
    pub kind: Arc<str>,
}

/// The shared connectors (unverified, and verified against `lua_ssl_trusted_certificate`
/// when some service asks for `tls_verify`), and what a service's own connector needs.
pub struct Connectors {
    provider: Arc<CryptoProvider>,
    unverified: Connector,
    /// The verified connector and the roots it trusts.
    verified: Option<(Connector, Arc<RootCertStore>)>,
}

impl Connectors {
    /// Loads the trusted CAs only when `verifying` (some service has `tls_verify` without
    /// `ca_certificates` of its own).
    pub fn new(trusted: &[TrustedCa], verifying: bool) -> Result<Connectors, String> {
        let provider = provider();
        let no_verification: Arc<dyn ServerCertVerifier> =
            Arc::new(NoVerification(provider.clone()));
        let unverified = Connector {
            inner: client_config(&provider, no_verification, None)?,
            kind: "unverified".into(),
        };
        let verified = if verifying {
            let roots = Arc::new(root_store(trusted)?);
            let verifier = verifier(&roots, None, &provider)
                .map_err(|e| format!("lua_ssl_trusted_certificate: {e}"))?;
            let connector = Connector {
                inner: client_config(&provider, verifier, None)?,
                kind: "verified".into(),
            };
            Some((connector, roots))
        } else {
            None
        };
        Ok(Connectors {
            provider,
            unverified,
            verified,
        })
    }

    /// The connector of `s`: a shared one, unless it presents a client certificate, or verifies
    /// against its own `ca_certificates` or within a `tls_verify_depth` (both only with
    /// `tls_verify`, as in Kong).
    /// `client_certificate` is the service's, else its upstream's (Kong's precedence).
    pub fn for_service(
        &self,
        s: &Service,
        client_certificate: Option<Uuid>,
        decl: &DeclarativeConfig,
    ) -> Result<Connector, String> {
        let verify = s.tls_verify == Some(true);
        let own_cas = verify && !s.ca_certificate_ids.is_empty();
        let depth = s.tls_verify_depth.filter(|_| verify);
        let shared = match &self.verified {
            _ if !verify || own_cas => None,
            Some(verified) => Some(verified),
            // Never: the gateway asks for the verified connector when a service needs it.
            None => return Err("tls_verify: lua_ssl_trusted_certificate is not loaded".into()),
        };
        if client_certificate.is_none() && !own_cas && depth.is_none() {
            return Ok(shared.map_or(&self.unverified, |(c, _)| c).clone());
        }
        let verifier = match shared {
            _ if own_cas => {
                let roots = Arc::new(certificates::ca_roots(decl, &s.ca_certificate_ids)?);
                verifier(&roots, depth, &self.provider)?
            }
            Some((_, roots)) => verifier(roots, depth, &self.provider)?,
            None => Arc::new(NoVerification(self.provider.clone())),
        };
        let client = client_certificate
            .map(|id| certificates::client_auth(decl, id))
            .transpose()?;
        let verified = if verify { "verified" } else { "unverified" };
        Ok(Connector {
            inner: client_config(&self.provider, verifier, client)?,
            kind: format!(
                "{verified} ca={:?} client={client_certificate:?} depth={depth:?}",
                s.ca_certificate_ids
            )
            .into(),
        })
    }
}

/// A WebPKI verifier of `roots`, within `depth` intermediate certificates if given.
fn verifier(
    roots: &Arc<RootCertStore>,
    depth: Option<u8>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, String> {
    let webpki = WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone())
        .build()
        .map_err(|e| e.to_string())?;
    Ok(match depth {
        None => webpki,
        Some(depth) => Arc::new(DepthLimited {
            webpki,
            roots: roots.clone(),
            depth,
            provider: provider.clone(),
        }),
    })
}

/// `tls_verify_depth`, with OpenSSL's meaning (nginx's `proxy_ssl_verify_depth`): at most that
/// many intermediate certificates between the upstream's certificate and a trusted CA. rustls
/// has no such limit and does not expose the path it built, so once it accepted the certificate
/// the path is built again by webpki, keeping only paths within the depth.
#[derive(Debug)]
struct DepthLimited {
    webpki: Arc<WebPkiServerVerifier>,
    roots: Arc<RootCertStore>,
    depth: u8,
    provider: Arc<CryptoProvider>,
}

/// Why a certificate that chains to a trusted CA was refused. Its `Debug` is its message too:
/// rustls shows certificate errors with `{:?}`.
struct TooDeep(u8);

impl std::fmt::Display for TooDeep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no chain to a trusted CA within {} intermediate certificates (tls_verify_depth)",
            self.0
        )
    }
}

impl std::fmt::Debug for TooDeep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for TooDeep {}

impl ServerCertVerifier for DepthLimited {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        let too_deep = || {
            let error = OtherError(Arc::new(TooDeep(self.depth)));
            rustls::Error::InvalidCertificate(CertificateError::Other(error))
        };
        let cert = webpki::EndEntityCert::try_from(end_entity).map_err(|_| too_deep())?;
        let within = |path: &webpki::VerifiedPath<'_>| {
            if path.intermediate_certificates().count() <= usize::from(self.depth) {
                Ok(())
            } else {
                Err(webpki::Error::MaximumPathDepthExceeded)
            }
        };
        cert.verify_for_usage(
            self.provider.signature_verification_algorithms.all,
            &self.roots.roots,
            intermediates,
            now,
            webpki::KeyUsage::server_auth(),
            None,
            Some(&within),
        )
        .map(|_| verified)
        .map_err(|_| too_deep())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

fn client_config(
    provider: &Arc<CryptoProvider>,
    verifier: Arc<dyn ServerCertVerifier>,
    client: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> Result<TlsConnector, String> {
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match client {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| format!("client_certificate: {e}"))?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

fn root_store(trusted: &[TrustedCa]) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for ca in trusted {
        match ca {
            TrustedCa::System => {
                // Unparsable system certificates are skipped, as OpenSSL does.
                roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            }
            TrustedCa::File(path) => {
                let certs = CertificateDer::pem_file_iter(path)
                    .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                    .map_err(|e| {
                        format!(
                            "lua_ssl_trusted_certificate: cannot load '{}': {e}",
                            path.display()
                        )
                    })?;
                for cert in certs {
                    roots.add(cert).map_err(|e| {
                        format!("lua_ssl_trusted_certificate: '{}': {e}", path.display())
                    })?;
                }
            }
        }
    }
    Ok(roots)
}

/// The upstream name as TLS sees it: sent as SNI (unless it is an IP address) and, when
/// verifying, matched against the certificate. `host` may carry a port and IPv6 brackets.
pub fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    ServerName::try_from(name.to_owned()).map_err(|_| format!("invalid upstream name '{name}'"))
}

/// Accepts any certificate (Kong's `tls_verify` off) but still checks the handshake signatures,
/// so the connection is encrypted to whoever holds the presented key.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_drop_ports_and_brackets() {
        let name = |h| server_name(h).unwrap().to_str().into_owned();
        assert_eq!(name("example.com"), "example.com");
        assert_eq!(name("example.com:8443"), "example.com");
        assert_eq!(name("127.0.0.1:443"), "127.0.0.1");
        assert_eq!(name("[::1]:8443"), "::1");
        assert!(matches!(
            server_name("[::1]").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(server_name("bad name").is_err());
    }

    /// A declarative config without certificates.
    fn none() -> DeclarativeConfig {
        DeclarativeConfig::default()
    }

    /// Writes a PEM file into a fresh temporary directory.
    fn pem(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sluice-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn acceptor_loads_pairs_and_refuses_a_foreign_key() {
        let a = rcgen::generate_simple_self_signed(vec!["a.test".into()]).unwrap();
        let b = rcgen::generate_simple_self_signed(vec!["b.test".into()]).unwrap();
        let (a_crt, a_key) = (
            pem("a.crt", &a.cert.pem()),
            pem("a.key", &a.signing_key.serialize_pem()),
        );
        let b_key = pem("b.key", &b.signing_key.serialize_pem());
        assert!(acceptor(&[(a_crt.clone(), a_key.clone())], &none()).is_ok());
        let Err(e) = acceptor(&[(a_crt.clone(), b_key)], &none()) else {
            panic!("a key of another certificate was accepted");
        };
        assert!(
            e.starts_with("ssl_cert_key: '") && e.contains("does not fit"),
            "{e}"
        );
        let Err(e) = acceptor(&[(a_key.clone(), a_key)], &none()) else {
            panic!("a key was accepted as a certificate");
        };
        assert!(e.starts_with("ssl_cert: no certificate in"), "{e}");
        // A PEM certificate is a trusted CA as well.
        let verified = Connectors::new(&[TrustedCa::File(a_crt)], true).unwrap();
        assert!(verified
            .verified
            .is_some_and(|(c, _)| &*c.kind == "verified"));
    }

    #[test]
    fn services_with_their_own_certificates_get_their_own_connector() {
        let leaf = rcgen::generate_simple_self_signed(vec!["c.test".into()]).unwrap();
        let (cert, ca) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let decl = DeclarativeConfig {
            certificates: vec![sluice_conf::Certificate {
                id: cert,
                cert: leaf.cert.pem(),
                key: leaf.signing_key.serialize_pem(),
                alt: None,
                tags: vec![],
            }],
            ca_certificates: vec![sluice_conf::CaCertificate {
                id: ca,
                cert: "not PEM".into(),
                tags: vec![],
            }],
            ..DeclarativeConfig::default()
        };
        let trusted = TrustedCa::File(pem("trusted.crt", &leaf.cert.pem()));
        let connectors = Connectors::new(&[trusted], true).unwrap();
        let service = |verify, client, cas: Vec<Uuid>| Service {
            tls_verify: verify,
            client_certificate_id: client,
            ca_certificate_ids: cas,
            ..DeclarativeConfig::parse(
                "_format_version: \"3.0\"\nservices:\n- url: https://x.test\n",
                "k",
            )
            .unwrap()
            .services[0]
                .clone()
        };
        let kind = |s: &Service| {
            let client = s.client_certificate_id;
            connectors.for_service(s, client, &decl).map(|c| c.kind)
        };
        assert_eq!(
            kind(&service(None, None, vec![])).unwrap(),
            "unverified".into()
        );
        assert_eq!(
            kind(&service(Some(true), None, vec![])).unwrap(),
            "verified".into()
        );
        let own = kind(&service(None, Some(cert), vec![])).unwrap();
        assert!(own.starts_with("unverified ca=[] client=Some("), "{own}");
        // CAs count only with tls_verify, as in Kong.
        assert_eq!(
            kind(&service(None, None, vec![ca])).unwrap(),
            "unverified".into()
        );
        let err = kind(&service(Some(true), None, vec![ca])).unwrap_err();
        assert_eq!(
            err,
            format!("ca_certificate {ca}: cert: invalid certificate: no PEM certificate")
        );
    }

    #[test]
    fn h2_is_offered_only_by_the_http2_acceptor() {
        let cert = rcgen::generate_simple_self_signed(vec!["h2.test".into()]).unwrap();
        let pair = (
            pem("h2.crt", &cert.cert.pem()),
            pem("h2.key", &cert.signing_key.serialize_pem()),
        );
        let http1 = acceptor(&[pair], &none()).unwrap();
        let http2 = offering_h2(&http1);
        assert_eq!(http1.config().alpn_protocols, [b"http/1.1".to_vec()]);
        assert_eq!(
            http2.config().alpn_protocols,
            [b"h2".to_vec(), b"http/1.1".to_vec()]
        );
    }

    #[test]
    fn missing_files_name_the_key() {
        let missing = Path::new("/nonexistent/cert.pem");
        let Err(e) = acceptor(&[(missing.into(), missing.into())], &none()) else {
            panic!("a missing certificate was accepted");
        };
        assert!(
            e.starts_with("ssl_cert: cannot load '/nonexistent/cert.pem'"),
            "{e}"
        );
        let Err(e) = Connectors::new(&[TrustedCa::File(missing.into())], true) else {
            panic!("a missing CA file was accepted");
        };
        assert!(
            e.starts_with("lua_ssl_trusted_certificate: cannot load"),
            "{e}"
        );
        // Not verifying: the trusted CAs are not even read.
        assert!(Connectors::new(&[TrustedCa::File(missing.into())], false)
            .unwrap()
            .verified
            .is_none());
    }
}
