//! `certificates` (a PEM certificate chain and key, optionally a second pair of the other key
//! type), `snis` (a server name, possibly a wildcard, and the certificate served for it) and
//! `ca_certificates` (authorities services may verify their upstreams against).
//! The PEM itself is checked when the listener is built, before any worker starts.

use super::fields::{self, Fields, Sink};
use super::model::{CaCertificate, Certificate};
use super::validate;
use uuid::Uuid;

pub(crate) fn read_certificate(f: &mut Fields, sink: &mut Sink) -> Certificate {
    let cert = f.required_string("cert", sink).unwrap_or_default();
    let key = f.required_string("key", sink).unwrap_or_default();
    let cert_alt = f.string("cert_alt", sink);
    let key_alt = f.string("key_alt", sink);
    if cert_alt.is_some() != key_alt.is_some() {
        sink.error(
            f.path(),
            "all or none of these fields must be set: 'cert_alt', 'key_alt'",
        );
    }
    Certificate {
        id: Uuid::nil(),
        cert,
        key,
        alt: cert_alt.zip(key_alt),
        tags: fields::tags(f, sink),
    }
}

/// An SNI's name (checked as Kong does: a host name, at most one `*` as its first or last
/// label, no port, not an IP) and tags.
pub(crate) fn read_sni(f: &mut Fields, sink: &mut Sink) -> (Option<String>, Vec<String>) {
    let path = f.at("name");
    let name = f.required_string("name", sink).filter(|name| {
        validate::sni(name)
            .map_err(|message| sink.error(&path, message))
            .is_ok()
    });
    (name, fields::tags(f, sink))
}

/// A CA certificate; Kong's `cert_digest` (a hash it computes itself) is accepted and ignored.
pub(crate) fn read_ca_certificate(f: &mut Fields, sink: &mut Sink) -> CaCertificate {
    let cert = f.required_string("cert", sink).unwrap_or_default();
    f.string("cert_digest", sink);
    CaCertificate {
        id: Uuid::nil(),
        cert,
        tags: fields::tags(f, sink),
    }
}
