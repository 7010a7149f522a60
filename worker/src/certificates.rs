//! Kong's certificate entities. Toward clients, `certificates` are chosen by the client's SNI
//! as Kong does (`snis`): the exact name, else a leading wildcard (`*.example.com` for one
//! label), else a trailing one (`example.*`); without a match the listener's default
//! (`ssl_cert`, or the generated one) is served. Toward upstreams, a service presents its
//! `client_certificate` and may verify against its `ca_certificates`.

use std::collections::HashMap;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::ClientHello;
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;
use sluice_conf::DeclarativeConfig;
use uuid::Uuid;

/// One certificate's pairs (the main one, and `cert_alt`/`key_alt` of the other key type): the
/// first whose key can sign with a scheme the client offers is served, as nginx serves an RSA
/// and an ECDSA certificate side by side.
#[derive(Debug)]
pub struct KeyTypes(pub Vec<Arc<CertifiedKey>>);

impl KeyTypes {
    pub fn choose(&self, hello: &ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.0
            .iter()
            .find(|k| k.key.choose_scheme(hello.signature_schemes()).is_some())
            .cloned()
    }
}

/// The certificates by SNI name (lower-case, wildcards as written).
#[derive(Debug, Default)]
pub struct BySni(HashMap<String, Arc<KeyTypes>>);

impl BySni {
    /// Loads every `certificates` entity (a bad one fails the load, naming its id) and maps
    /// each SNI to its certificate.
    pub fn load(decl: &DeclarativeConfig, provider: &CryptoProvider) -> Result<BySni, String> {
        let mut by_id = HashMap::new();
        for c in &decl.certificates {
            let load = |cert: &str, key: &str, field: &str| {
                certified_key(cert, key, provider)
                    .map(Arc::new)
                    .map_err(|e| format!("certificate {}: {field}: {e}", c.id))
            };
            let mut pairs = vec![load(&c.cert, &c.key, "cert")?];
            if let Some((cert, key)) = &c.alt {
                pairs.push(load(cert, key, "cert_alt")?);
            }
            by_id.insert(c.id, Arc::new(KeyTypes(pairs)));
        }
        Ok(BySni(
            decl.snis
                .iter()
                .filter_map(|s| {
                    Some((
                        s.name.to_ascii_lowercase(),
                        by_id.get(&s.certificate_id)?.clone(),
                    ))
                })
                .collect(),
        ))
    }

    /// The certificate for a client's server name, if an SNI entity matches it.
    pub fn find(&self, server_name: &str) -> Option<&KeyTypes> {
        let name = server_name.to_ascii_lowercase();
        let wildcards = || {
            let (first, last) = (name.find('.')?, name.rfind('.')?);
            let leading = self.0.get(&format!("*{}", &name[first..]));
            leading.or_else(|| self.0.get(&format!("{}*", &name[..=last])))
        };
        self.0.get(&name).or_else(wildcards).map(|keys| &**keys)
    }
}

/// A certificate chain and its key, from PEM text.
fn certified_key(cert: &str, key: &str, provider: &CryptoProvider) -> Result<CertifiedKey, String> {
    let (chain, der) = pem_pair(cert, key)?;
    CertifiedKey::from_der(chain, der, provider)
        .map_err(|e| format!("the key does not fit the certificate: {e}"))
}

type Pair = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

fn pem_pair(cert: &str, key: &str) -> Result<Pair, String> {
    let chain = pem_certificates(cert)?;
    let key =
        PrivateKeyDer::from_pem_slice(key.as_bytes()).map_err(|e| format!("invalid key: {e}"))?;
    Ok((chain, key))
}

fn pem_certificates(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("invalid certificate: {e}"))?;
    if certs.is_empty() {
        return Err("invalid certificate: no PEM certificate".into());
    }
    Ok(certs)
}

/// A service's `client_certificate`: the chain and key it presents to its upstream.
pub fn client_auth(decl: &DeclarativeConfig, id: Uuid) -> Result<Pair, String> {
    let c = decl
        .certificates
        .iter()
        .find(|c| c.id == id)
        .ok_or_else(|| format!("certificate {id} does not exist"))?;
    pem_pair(&c.cert, &c.key).map_err(|e| format!("certificate {id}: cert: {e}"))
}

/// A service's `ca_certificates`: the roots its upstream's certificate must chain to.
pub fn ca_roots(decl: &DeclarativeConfig, ids: &[Uuid]) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for id in ids {
        let ca = decl
            .ca_certificates
            .iter()
            .find(|c| c.id == *id)
            .ok_or_else(|| format!("ca_certificate {id} does not exist"))?;
        let fail = |e: String| format!("ca_certificate {id}: cert: {e}");
        for cert in pem_certificates(&ca.cert).map_err(fail)? {
            roots.add(cert).map_err(|e| fail(e.to_string()))?;
        }
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_conf::{Certificate, Sni};

    fn certificate(id: u128, name: &str) -> Certificate {
        let c = rcgen::generate_simple_self_signed(vec![name.into()]).unwrap();
        Certificate {
            id: Uuid::from_u128(id),
            cert: c.cert.pem(),
            key: c.signing_key.serialize_pem(),
            alt: None,
            tags: vec![],
        }
    }

    fn sni(name: &str, certificate: u128) -> Sni {
        Sni {
            id: Uuid::new_v4(),
            name: name.into(),
            certificate_id: Uuid::from_u128(certificate),
            tags: vec![],
        }
    }

    #[test]
    fn exact_names_then_leading_then_trailing_wildcards() {
        let decl = DeclarativeConfig {
            certificates: (1..=4).map(|i| certificate(i, "x.test")).collect(),
            snis: vec![
                sni("a.example.com", 1),
                sni("*.example.com", 2),
                sni("a.example.*", 3),
                sni("localhost", 4),
            ],
            ..DeclarativeConfig::default()
        };
        let by_sni = BySni::load(&decl, &rustls::crypto::ring::default_provider()).unwrap();
        let served = |name: &str| {
            let keys = by_sni.find(name)?;
            let index = decl.certificates.iter().position(|c| {
                CertificateDer::pem_slice_iter(c.cert.as_bytes())
                    .next()
                    .is_some_and(|der| der.unwrap() == keys.0[0].cert[0])
            });
            index.map(|i| i + 1)
        };
        assert_eq!(served("a.example.com"), Some(1));
        assert_eq!(
            served("A.Example.COM"),
            Some(1),
            "names are case-insensitive"
        );
        assert_eq!(served("b.example.com"), Some(2));
        assert_eq!(served("a.b.example.com"), None, "a wildcard is one label");
        assert_eq!(served("a.example.org"), Some(3));
        assert_eq!(served("localhost"), Some(4));
        assert_eq!(served("other.test"), None);
    }

    #[test]
    fn a_bad_certificate_is_named_by_its_id() {
        let mut bad = certificate(7, "x.test");
        bad.key = certificate(8, "y.test").key;
        let decl = DeclarativeConfig {
            certificates: vec![bad],
            ..DeclarativeConfig::default()
        };
        let provider = rustls::crypto::ring::default_provider();
        let err = BySni::load(&decl, &provider).unwrap_err();
        assert!(
            err.starts_with(
                "certificate 00000000-0000-0000-0000-000000000007: cert: the key does not fit"
            ),
            "{err}"
        );
        let mut garbage = certificate(9, "z.test");
        garbage.cert = "not a certificate".into();
        let decl = DeclarativeConfig {
            certificates: vec![garbage],
            ..DeclarativeConfig::default()
        };
        let err = BySni::load(&decl, &provider).unwrap_err();
        assert!(
            err.ends_with("cert: invalid certificate: no PEM certificate"),
            "{err}"
        );
    }
}
