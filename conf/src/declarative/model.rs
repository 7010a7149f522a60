//! The flat, fully resolved declarative config: every entity has its id, every reference is an
//! id, every default is filled in. Field names are Kong's (`service` becomes `service_id`).

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use uuid::Uuid;

/// A loaded `kong.yml`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct DeclarativeConfig {
    /// `_format_version` as written ("1.1" and "2.1" are migrated on load, as Kong does).
    pub format_version: String,
    /// `_transform` (default true): whether plugins may transform their entities on load, e.g.
    /// basic-auth hashing passwords.
    pub transform: bool,
    /// In the order they appear.
    pub services: Vec<Service>,
    /// Nested ones in the order of their services, then top-level ones.
    pub routes: Vec<Route>,
    /// Each with its targets (nested and top-level ones).
    pub upstreams: Vec<Upstream>,
    pub consumers: Vec<Consumer>,
    pub consumer_groups: Vec<ConsumerGroup>,
    /// Consumer-group memberships (Kong's `consumer_group_consumers` entity).
    pub consumer_group_consumers: Vec<ConsumerGroupConsumer>,
    pub plugins: Vec<Plugin>,
    /// Plugin entities (`keyauth_credentials`, `basicauth_credentials`, `acls`, `jwt_secrets`, ...)
    /// by entity name, kept as JSON for the plugins that own them, each with its `id` and a
    /// resolved `consumer: {"id": ...}`.
    pub credentials: BTreeMap<String, Vec<Value>>,
    /// Certificates served to clients by SNI (`certificates`).
    pub certificates: Vec<Certificate>,
    /// Server names and their certificates (`snis`, nested in certificates or top-level).
    pub snis: Vec<Sni>,
    /// Trusted CAs services may verify their upstreams against (`ca_certificates`).
    pub ca_certificates: Vec<CaCertificate>,
}

impl DeclarativeConfig {
    pub fn service(&self, id: Uuid) -> Option<&Service> {
        self.services.iter().find(|s| s.id == id)
    }

    pub fn upstream_by_name(&self, name: &str) -> Option<&Upstream> {
        self.upstreams.iter().find(|u| u.name == name)
    }

    /// The consumer groups a consumer belongs to.
    pub fn groups_of(&self, consumer_id: Uuid) -> impl Iterator<Item = &ConsumerGroup> {
        self.consumer_group_consumers
            .iter()
            .filter(move |m| m.consumer_id == consumer_id)
            .filter_map(|m| {
                self.consumer_groups
                    .iter()
                    .find(|g| g.id == m.consumer_group_id)
            })
    }
}

/// The protocols Sluice proxies. Kong's other protocols (`tcp`, `tls`, `tls_passthrough`, `udp`,
/// `ws`, `wss`) are refused in services and routes with a clear error, and dropped from plugins'
/// `protocols` filters (where they could never match).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Grpc,
    Grpcs,
    Http,
    Https,
}

impl Protocol {
    pub const ALL: [Protocol; 4] = [
        Protocol::Grpc,
        Protocol::Grpcs,
        Protocol::Http,
        Protocol::Https,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::Grpcs => "grpcs",
            Protocol::Http => "http",
            Protocol::Https => "https",
        }
    }

    /// `Ok(Some)` for a protocol Sluice serves, `Ok(None)` for one Kong knows but Sluice does
    /// not, `Err` for anything else.
    pub(crate) fn parse(s: &str) -> Result<Option<Protocol>, String> {
        match s {
            "grpc" => Ok(Some(Protocol::Grpc)),
            "grpcs" => Ok(Some(Protocol::Grpcs)),
            "http" => Ok(Some(Protocol::Http)),
            "https" => Ok(Some(Protocol::Https)),
            "tcp" | "tls" | "tls_passthrough" | "udp" | "ws" | "wss" => Ok(None),
            _ => Err(
                "expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp, ws, wss"
                    .into(),
            ),
        }
    }

    /// Like [`Protocol::parse`], refusing the protocols Sluice does not serve.
    pub(crate) fn parse_supported(s: &str) -> Result<Protocol, String> {
        Protocol::parse(s)?.ok_or_else(|| format!("protocol '{s}' is not supported by Sluice"))
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An upstream API (`services`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    pub id: Uuid,
    pub name: Option<String>,
    pub protocol: Protocol,
    /// A hostname, an IP address (IPv6 without brackets), or the name of an `upstreams` entry.
    pub host: String,
    pub port: u16,
    pub path: Option<String>,
    pub retries: u16,
    /// Milliseconds.
    pub connect_timeout: u32,
    pub write_timeout: u32,
    pub read_timeout: u32,
    pub enabled: bool,
    pub tags: Vec<String>,
    pub tls_verify: Option<bool>,
    pub tls_verify_depth: Option<u8>,
    /// The `certificates` entity presented to the upstream when it asks for one (mutual TLS).
    pub client_certificate_id: Option<Uuid>,
    /// `ca_certificates` entities: with `tls_verify`, the upstream's certificate must chain to
    /// one of them (instead of `lua_ssl_trusted_certificate`).
    pub ca_certificate_ids: Vec<Uuid>,
}

/// Kong's `path_handling`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PathHandling {
    V0,
    V1,
}

/// How requests are matched (`routes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    pub id: Uuid,
    pub name: Option<String>,
    pub service_id: Option<Uuid>,
    pub protocols: Vec<Protocol>,
    /// Upper-case.
    pub methods: Vec<String>,
    /// Possibly with one leading or trailing `*` label, possibly with `:port`.
    pub hosts: Vec<String>,
    /// `/prefix` or `~/regex` (Kong 3.0 form; older formats are migrated).
    pub paths: Vec<String>,
    /// Header name (as written) to accepted values.
    pub headers: BTreeMap<String, Vec<String>>,
    pub https_redirect_status_code: u16,
    pub regex_priority: i64,
    pub strip_path: bool,
    pub path_handling: PathHandling,
    pub preserve_host: bool,
    pub request_buffering: bool,
    pub response_buffering: bool,
    pub snis: Vec<String>,
    pub tags: Vec<String>,
}

/// A certificate served to TLS clients whose SNI names it (`certificates`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Certificate {
    pub id: Uuid,
    /// PEM: the certificate, then its chain.
    pub cert: String,
    /// PEM private key.
    pub key: String,
    /// `cert_alt` and `key_alt`: a second pair, of the other key type (RSA or ECDSA), served to
    /// clients that cannot use the first.
    pub alt: Option<(String, String)>,
    pub tags: Vec<String>,
}

/// A certificate authority a service may trust for its upstream (`ca_certificates`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaCertificate {
    pub id: Uuid,
    /// PEM.
    pub cert: String,
    pub tags: Vec<String>,
}

/// A server name and the certificate served for it (`snis`): a host name, or a wildcard with a
/// leading (`*.example.com`) or trailing (`example.*`) `*` label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sni {
    pub id: Uuid,
    pub name: String,
    pub certificate_id: Uuid,
    pub tags: Vec<String>,
}

/// A load-balanced set of targets (`upstreams`); a service whose host is its name uses it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Upstream {
    pub id: Uuid,
    pub name: String,
    /// `round-robin` (default), `consistent-hashing`, `least-connections` or `latency`.
    pub algorithm: String,
    /// `none` (default), `consumer`, `ip`, `header`, `cookie`, `path`, `query_arg`, `uri_capture`.
    pub hash_on: String,
    pub hash_fallback: String,
    pub hash_on_header: Option<String>,
    pub hash_fallback_header: Option<String>,
    pub hash_on_cookie: Option<String>,
    pub hash_on_cookie_path: String,
    pub hash_on_query_arg: Option<String>,
    pub hash_fallback_query_arg: Option<String>,
    pub hash_on_uri_capture: Option<String>,
    pub hash_fallback_uri_capture: Option<String>,
    pub slots: u32,
    /// Kept as written; health checking is not implemented.
    pub healthchecks: Option<Value>,
    pub host_header: Option<String>,
    /// The `certificates` entity presented to targets that ask for one, by services without a
    /// `client_certificate` of their own.
    pub client_certificate_id: Option<Uuid>,
    pub use_srv_name: bool,
    pub tags: Vec<String>,
    pub targets: Vec<Target>,
}

/// One backend of an upstream (`targets`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub id: Uuid,
    pub upstream_id: Uuid,
    /// `host:port` as Kong stores it (port defaulted to 8000, IPv6 in brackets).
    pub target: String,
    /// The host part (IPv6 without brackets).
    pub host: String,
    pub port: u16,
    /// 0 disables the target.
    pub weight: u16,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Consumer {
    pub id: Uuid,
    pub username: Option<String>,
    pub custom_id: Option<String>,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsumerGroup {
    pub id: Uuid,
    pub name: String,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ConsumerGroupConsumer {
    pub consumer_group_id: Uuid,
    pub consumer_id: Uuid,
}

/// A plugin instance (`plugins`). Its `config` is validated later against the plugin's schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plugin {
    pub id: Uuid,
    pub name: String,
    pub instance_name: Option<String>,
    /// A JSON object (`{}` when not given).
    pub config: Value,
    pub enabled: bool,
    pub protocols: Vec<Protocol>,
    pub route_id: Option<Uuid>,
    pub service_id: Option<Uuid>,
    pub consumer_id: Option<Uuid>,
    pub consumer_group_id: Option<Uuid>,
    /// Kong Enterprise's dynamic `ordering`, kept as written.
    pub ordering: Option<Value>,
    pub tags: Vec<String>,
}
