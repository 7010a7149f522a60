//! Walks a declarative document: reads every entity, nested or top-level, gives it its id,
//! checks uniqueness, then resolves the references written by name or id once every entity is
//! known (Kong's `flatten`).

use super::consumers::{self, CredentialSchema, CREDENTIALS};
use super::fields::{Fields, Sink};
use super::model::{Certificate, ConsumerGroupConsumer, DeclarativeConfig, Plugin, Sni, Target};
use super::{certificates, ids, plugins, routes, services, upstreams};
use crate::error::Errors;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// The entities others refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Services,
    Routes,
    Upstreams,
    Consumers,
    ConsumerGroups,
    Certificates,
    CaCertificates,
}

impl Kind {
    fn entity(self) -> &'static str {
        match self {
            Kind::Services => "services",
            Kind::Routes => "routes",
            Kind::Upstreams => "upstreams",
            Kind::Consumers => "consumers",
            Kind::ConsumerGroups => "consumer_groups",
            Kind::Certificates => "certificates",
            Kind::CaCertificates => "ca_certificates",
        }
    }
}

/// The record a nested record sits under.
#[derive(Debug, Clone, Copy)]
struct Parent {
    kind: Kind,
    id: Uuid,
}

/// A foreign key as written.
enum Foreign {
    Absent,
    /// Filled from the enclosing record.
    Parent(Uuid),
    /// A top-level record's name-or-id string.
    Named(String),
}

impl Foreign {
    /// Its part of a Kong cache key: the parent's id, the reference as written, or empty.
    fn key_part(&self) -> String {
        match self {
            Foreign::Absent => String::new(),
            Foreign::Parent(id) => id.to_string(),
            Foreign::Named(value) => value.clone(),
        }
    }
}

/// One of a plugin's foreign-key fields.
type PluginKey = fn(&mut Plugin) -> &mut Option<Uuid>;

/// Where a resolved reference is written.
enum Slot {
    RouteService(usize),
    Plugin(usize, PluginKey),
    Target(usize),
    Credential(&'static str, usize),
    Member(usize, Kind),
    SniCertificate(usize),
    ServiceClientCertificate(usize),
    UpstreamClientCertificate(usize),
    ServiceCaCertificate(usize, usize),
}

/// A reference by name or id, resolved after every entity is read.
struct Reference {
    slot: Slot,
    field: &'static str,
    target: Kind,
    value: String,
    path: String,
}

/// Top-level entities Kong accepts that Sluice does not support yet.
const UNSUPPORTED: [&str; 4] = ["vaults", "keys", "key_sets", "filter_chains"];

/// Reads `doc` into a resolved config; every problem is in the returned errors.
pub(crate) fn collect(doc: &Value, source: &str) -> (DeclarativeConfig, Errors) {
    let mut c = Collector {
        sink: Sink::new(source),
        legacy_paths: false,
        out: DeclarativeConfig::default(),
        loose_targets: Vec::new(),
        references: Vec::new(),
        ids: HashSet::new(),
        keys: HashMap::new(),
        uniques: HashSet::new(),
        plugin_paths: Vec::new(),
        member_paths: Vec::new(),
    };
    c.document(doc);
    c.resolve();
    c.check_plugins();
    c.check_members();
    (c.out, c.sink.into_errors())
}

struct Collector {
    sink: Sink,
    legacy_paths: bool,
    out: DeclarativeConfig,
    /// Top-level targets, until their upstream is resolved.
    loose_targets: Vec<Target>,
    references: Vec<Reference>,
    /// Every id, by entity name.
    ids: HashSet<(&'static str, Uuid)>,
    /// Endpoint keys (names, usernames) to ids.
    keys: HashMap<(Kind, String), Uuid>,
    /// Values of unique fields seen: (entity, field, value).
    uniques: HashSet<(&'static str, &'static str, String)>,
    /// Each plugin's path, and whether its id already clashed.
    plugin_paths: Vec<(String, bool)>,
    member_paths: Vec<String>,
}

impl Collector {
    fn document(&mut self, doc: &Value) {
        if doc.is_null() {
            self.sink.error("", "the declarative config is empty");
            return;
        }
        let Some(mut f) = Fields::new(doc, String::new(), &mut self.sink) else {
            return;
        };
        let version = f
            .required_string("_format_version", &mut self.sink)
            .unwrap_or_default();
        if !version.is_empty() && !["1.1", "2.1", "3.0"].contains(&version.as_str()) {
            self.sink
                .error("_format_version", "expected one of: 1.1, 2.1, 3.0");
        }
        self.legacy_paths = version == "1.1" || version == "2.1";
        self.out.format_version = version;
        self.out.transform = f.boolean("_transform", true, &mut self.sink);
        self.each(&mut f, "services", |c, v, p| c.service(v, p));
        self.each(&mut f, "routes", |c, v, p| c.route(v, p, None));
        self.each(&mut f, "upstreams", |c, v, p| c.upstream(v, p));
        self.each(&mut f, "targets", |c, v, p| {
            c.target(v, p, None);
        });
        self.each(&mut f, "consumers", |c, v, p| c.consumer(v, p));
        self.each(&mut f, "consumer_groups", |c, v, p| c.consumer_group(v, p));
        self.each(&mut f, "consumer_group_consumers", |c, v, p| {
            c.member(v, p, None)
        });
        self.each(&mut f, "plugins", |c, v, p| c.plugin(v, p, None));
        self.each(&mut f, "certificates", |c, v, p| c.certificate(v, p));
        self.each(&mut f, "snis", |c, v, p| c.sni(v, p, None));
        self.each(&mut f, "ca_certificates", |c, v, p| c.ca_certificate(v, p));
        for schema in &CREDENTIALS {
            self.each(&mut f, schema.entity, |c, v, p| {
                c.credential(schema, v, p, None)
            });
        }
        for key in UNSUPPORTED {
            if f.value(key).is_some() {
                self.sink.error(
                    key,
                    format!("'{key}' entities are not supported by Sluice yet"),
                );
            }
        }
        f.finish(&mut self.sink);
    }

    /// Visits each record of the array field `key`.
    fn each<'a>(
        &mut self,
        f: &mut Fields<'a>,
        key: &'static str,
        mut visit: impl FnMut(&mut Self, &'a Value, String),
    ) {
        let path = f.at(key);
        for (i, item) in f.array(key, &mut self.sink).iter().enumerate() {
            visit(self, item, format!("{path}[{i}]"));
        }
    }

    fn given_id(&mut self, f: &mut Fields) -> Option<Uuid> {
        let id = f.string("id", &mut self.sink)?;
        Uuid::parse_str(&id)
            .map_err(|_| self.sink.error(f.at("id"), "expected a valid UUID"))
            .ok()
    }

    /// The given id, else Kong's v5 of `key`, else one from the record's position; registered
    /// for the primary-key uniqueness check. Returns the id and whether it was new.
    fn assign_id(
        &mut self,
        entity: &'static str,
        given: Option<Uuid>,
        key: Option<String>,
        path: &str,
    ) -> (Uuid, bool) {
        let id = given.unwrap_or_else(|| match key {
            Some(key) => ids::generate(entity, &key),
            None => ids::positional(entity, path),
        });
        let new = self.ids.insert((entity, id));
        if !new {
            self.sink.error(path, format!("uniqueness violation: '{entity}' entity with primary key set to '{id}' already declared"));
        }
        (id, new)
    }

    fn unique(
        &mut self,
        entity: &'static str,
        field: &'static str,
        value: &str,
        path: &str,
    ) -> bool {
        let new = self.uniques.insert((entity, field, value.to_string()));
        if !new {
            self.sink.error(path, format!("uniqueness violation: '{entity}' entity with {field} set to '{value}' already declared"));
        }
        new
    }

    /// Registers the unique key other records may reference this one by.
    fn endpoint_key(&mut self, kind: Kind, field: &'static str, value: &str, id: Uuid, path: &str) {
        if self.unique(kind.entity(), field, value, path) {
            self.keys.insert((kind, value.to_string()), id);
        }
    }

    /// Reads a foreign key. Nested records take their parent and must leave its field (and, as
    /// in Kong, every other foreign key) null; top-level records name their targets.
    fn foreign(
        &mut self,
        f: &mut Fields,
        field: &'static str,
        target: Kind,
        parent: Option<Parent>,
    ) -> Foreign {
        match parent {
            Some(p) if p.kind == target => {
                if f.value(field).is_some() {
                    self.sink.error(
                        f.at(field),
                        "value must be null (it is taken from the enclosing entity)",
                    );
                }
                Foreign::Parent(p.id)
            }
            Some(_) => {
                if f.value(field).is_some() {
                    self.sink.error(
                        f.at(field),
                        "value must be null (an entity referencing two others must be declared at the top level)",
                    );
                }
                Foreign::Absent
            }
            None => f
                .string(field, &mut self.sink)
                .map_or(Foreign::Absent, Foreign::Named),
        }
    }

    /// The id now for a parent reference; a named one is queued for resolution into `slot`.
    fn refer(
        &mut self,
        foreign: Foreign,
        slot: Slot,
        field: &'static str,
        target: Kind,
        path: String,
    ) -> Option<Uuid> {
        match foreign {
            Foreign::Absent => None,
            Foreign::Parent(id) => Some(id),
            Foreign::Named(value) => {
                self.references.push(Reference {
                    slot,
                    field,
                    target,
                    value,
                    path,
                });
                None
            }
        }
    }

    /// Reports a required foreign key that is missing (one written but refused is already
    /// reported).
    fn require(&mut self, foreign: &Foreign, f: &Fields, field: &str) {
        if matches!(foreign, Foreign::Absent) && !f.has(field) {
            self.sink.error(f.at(field), "required field missing");
        }
    }

    fn service(&mut self, v: &Value, path: String) {
        let Some(mut f) = Fields::new(v, path, &mut self.sink) else {
            return;
        };
        let given = self.given_id(&mut f);
        let mut s = services::read(&mut f, &mut self.sink);
        (s.id, _) = self.assign_id("services", given, s.name.clone(), f.path());
        let index = self.out.services.len();
        self.client_certificate(&mut f, Slot::ServiceClientCertificate(index));
        let path = f.at("ca_certificates");
        let cas = f.strings("ca_certificates", &mut self.sink);
        s.ca_certificate_ids = vec![Uuid::nil(); cas.len()];
        for (j, value) in cas.into_iter().enumerate() {
            let slot = Slot::ServiceCaCertificate(index, j);
            let (kind, path) = (Kind::CaCertificates, format!("{path}[{j}]"));
            self.refer(Foreign::Named(value), slot, "ca_certificates", kind, path);
        }
        if let Some(name) = &s.name {
            self.endpoint_key(Kind::Services, "name", name, s.id, f.path());
        }
        let parent = Some(Parent {
            kind: Kind::Services,
            id: s.id,
        });
        self.each(&mut f, "routes", |c, v, p| c.route(v, p, parent));
        self.each(&mut f, "plugins", |c, v, p| c.plugin(v, p, parent));
        f.finish(&mut self.sink);
        self.out.services.push(s);
    }

    fn route(&mut self, v: &Value, path: String, parent: Option<Parent>) {
        let Some(mut f) = Fields::new(v, path, &mut self.sink) else {
            return;
        };
        let given = self.given_id(&mut f);
        let service = self.foreign(&mut f, "service", Kind::Services, parent);
        let mut r = routes::read(&mut f, &mut self.sink, self.legacy_paths);
        (r.id, _) = self.assign_id("routes", given, r.name.clone(), f.path());
        if let Some(name) = &r.name {
            self.endpoint_key(Kind::Routes, "name", name, r.id, f.path());
        }
        let here = Some(Parent {
            kind: Kind::Routes,
            id: r.id,
        });
        self.each(&mut f, "plugins", |c, v, p| c.plugin(v, p, here));
        f.finish(&mut self.sink);
        let slot = Slot::RouteService(self.out.routes.len());
        r.service_id = self.refer(service, slot, "service", Kind::Services, f.at("service"));
        self.out.routes.push(r);
    }

    fn plugin(&mut self, v: &Value, path: String, parent: Option<Parent>) {
        let Some(mut f) = Fields::new(v, path, &mut self.sink) else {
            return;
        };
        let given = self.given_id(&mut f);
        let keys: [(&'static str, Kind, PluginKey); 4] = [
            ("route", Kind::Routes, |p| &mut p.route_id),
            ("service", Kind::Services, |p| &mut p.service_id),
            ("consumer", Kind::Consumers, |p| &mut p.consumer_id),
            ("consumer_group", Kind::ConsumerGroups, |p| {
                &mut p.consumer_group_id
            }),
        ];
        let fks = keys.map(|(field, kind, key)| {
            (field, kind, key, self.foreign(&mut f, field, kind, parent))
        });
        let mut p = plugins::read(&mut f, &mut self.sink);
        let key = (!p.name.is_empty()).then(|| {
            let parts: Vec<String> = std::iter::once(p.name.clone())
                .chain(fks.iter().map(|(_, _, _, fk)| fk.key_part()))
                .collect();
            ids::cache_key("plugins", &parts)
        });
        let (id, new) = self.assign_id("plugins", given, key, f.path());
        p.id = id;
        if let Some(name) = &p.instance_name {
            self.unique("plugins", "instance_name", name, f.path());
        }
        f.finish(&mut self.sink);
        let index = self.out.plugins.len();
        for (field, kind, key, fk) in fks {
            *key(&mut p) = self.refer(fk, Slot::Plugin(index, key), field, kind, f.at(field));
        }
        self.out.plugins.push(p);
        self.plugin_paths.push((f.path().to_string(), !new));
    }

    /// A `client_certificate` field: an id, or `{id: ...}` (the form of Kong's own exports).
    fn client_certificate(&mut self, f: &mut Fields, slot: Slot) {
        const FIELD: &str = "client_certificate";
        let value = match f.value(FIELD) {
            None => return,
            Some(Value::String(value)) => value.clone(),
            Some(Value::Object(o)) if o.len() == 1 && o.get("id").is_some_and(Value::is_string) => {
                o["id"].as_str().unwrap_or_default().to_owned()
            }
            Some(_) => {
                self.sink
                    .error(f.at(FIELD), "expected an id, or a record {id = ...}");
                return;
            }
        };
        let path = f.at(FIELD);
        self.refer(Foreign::Named(value), slot, FIELD, Kind::Certificates, path);
    }

    fn ca_certificate(&mut self, v: &Value, path: String) {
        let Some(mut f) = Fields::new(v, path, &mut self.sink) else {
            return;
        };
        let given = self.given_id(&mut f);
        let mut ca = certificates::read_ca_certificate(&mut f, &mut self.sink);
        (ca.id, _) = self.assign_id("ca_certificates", given, None, f.path());
        f.finish(&mut self.sink);
        self.out.ca_certificates.push(ca);
    }

    fn certificate(&mut self, v: &Value, path: String) {
        let Some(mut f) = Fields::new(v, path, &mut self.sink) else {
            return;
        };
        let given = self.given_id(&mut f);
        let mut c: Certificate = certificates::read_certificate(&mut f, &mut self.sink);
        (c.id, _) = self.assign_id("certificates", given, None, f.path());
        let parent = Some(Parent {
            kind: Kind::Certificates,
            id: c.id,
        });
        self.each(&mut f, "snis", |col, v, p| col.sni(v, p, parent));
        f.finish(&mut self.sink);
        self.out.certificates.push(c);
    }

    /// A nested SNI may also be written as its bare name, as Kong's Admin API takes it.
    fn sni(&mut self, v: &Value, path: String, parent: Option<Parent>) {
        let named;
        let v = match (v, parent) {
            (Value::String(name), Some(_)) => {
                named = json!({ "name": name });
                &named
            }
            _ => v,
        };
        let Some(mut f) = Fields::new(v, path, &mut self.sink) else {
            return;
        };
        let given = self.given_id(&mut f);
        let certificate = self.foreign(&mut f, "certificate", Kind::Certificates, parent);
        self.require(&certificate, &f, "certificate");
        let (name, tags) = certificates::read_sni(&mut f, &mut self.sink);
        f.finish(&mut self.sink);
        let Some(name) = name.filter(|name| self.unique("snis", "name", name, f.path())) else {
            return;
        };
        let (id, _) = self.assign_id("snis", given, Some(name.clone()), f.path());
        let slot = Slot::SniCertificate(self.out.snis.len());
        let certificate_id = self
            .refer(
                certificate,
                slot,
                "certificate",
                Kind::Certificates,
                f.at("certificate"),
            )
            .unwrap_or_default();
        self.out.snis.push(Sni {
            id,
            name,
            certificate_id,
            tags,
        });
    }

    fn upstream(&mut self, v: &Value, path: String) {
        let Some(mut f) = Fields::new(v, path, &mut self.sink) else {
            return;
        };
        let given = self.given_id(&mut f);
        let mut u = upstreams::read_upstream(&mut f, &mut self.sink);
        let name = (!u.name.is_empty()).then(|| u.name.clone());
        (u.id, _) = self.assign_id("upstreams", given, name.clone(), f.path());
        let slot = Slot::UpstreamClientCertificate(self.out.upstreams.len());
        self.client_certificate(&mut f, slot);
        if let Some(name) = name {
            self.endpoint_key(Kind::Upstreams, "name", &name, u.id, f.path());
        }
        let parent = Some(Parent {
            kind: Kind::Upstreams,
            id: u.id,
        });
        let mut targets = Vec::new();
        self.each(&mut f, "targets", |c, v, p| {
            targets.extend(c.target(v, p, parent))
        });
        u.targets = targets;
        f.finish(&mut self.sink);
        self.out.upstreams.push(u);
    }

    /// A nested target is returned for its upstream; a top-level one waits in `loose_targets`.
    fn target(&mut self, v: &Value, path: String, parent: Option<Parent>) -> Option<Target> {
        let mut f = Fields::new(v, path, &mut self.sink)?;
        let given = self.given_id(&mut f);
        let upstream = self.foreign(&mut f, "upstream", Kind::Upstreams, parent);
        self.require(&upstream, &f, "upstream");
        let (mut t, raw) = upstreams::read_target(&mut f, &mut self.sink);
        let key = raw
            .filter(|_| !matches!(upstream, Foreign::Absent))
            .map(|raw| ids::cache_key("targets", &[&upstream.key_part(), &raw]));
        (t.id, _) = self.assign_id("targets", given, key, f.path());
        f.finish(&mut self.sink);
        let slot = Slot::Target(self.loose_targets.len());
        match self.refer(
            upstream,
            slot,
            "upstream",
            Kind::Upstreams,
            f.at("upstream"),
        ) {
            Some(id) => {
                t.upstream_id = id;
                Some(t)
            }
            None => {
                self.loose_targets.push(t);
                None
            }
        }
    }

    fn consumer(&mut self, v: &Value, path: String) {
        let Some(mut f) = Fields::new(v, path, &mut self.sink) else {
            return;
        };
        let given = self.given_id(&mut f);
        let mut c = consumers::read_consumer(&mut f, &mut self.sink);
        (c.id, _) = self.assign_id("consumers", given, c.username.clone(), f.path());
        if let Some(username) = &c.username {
            self.endpoint_key(Kind::Consumers, "username", username, c.id, f.path());
        }
        if let Some(custom_id) = &c.custom_id {
            self.unique("consumers", "custom_id", custom_id, f.path());
        }
        let parent = Some(Parent {
            kind: Kind::Consumers,
            id: c.id,
        });
        self.each(&mut f, "plugins", |c, v, p| c.plugin(v, p, parent));
        self.each(&mut f, "consumer_group_consumers", |c, v, p| {
            c.member(v, p, parent)
        });
        for schema in &CREDENTIALS {
            self.each(&mut f, schema.entity, |c, v, p| {
                c.credential(schema, v, p, parent)
            });
        }
        f.finish(&mut self.sink);
        self.out.consumers.push(c);
    }

    fn consumer_group(&mut self, v: &Value, path: String) {
        let Some(mut f) = Fields::new(v, path, &mut self.sink) else {
            return;
        };
        let given = self.given_id(&mut f);
        let mut g = consumers::read_group(&mut f, &mut self.sink);
        let key = (!g.name.is_empty()).then(|| ids::cache_key("consumer_groups", &[&g.name]));
        (g.id, _) = self.assign_id("consumer_groups", given, key, f.path());
        if !g.name.is_empty() {
            self.endpoint_key(Kind::ConsumerGroups, "name", &g.name, g.id, f.path());
        }
        let parent = Some(Parent {
            kind: Kind::ConsumerGroups,
            id: g.id,
        });
        self.each(&mut f, "plugins", |c, v, p| c.plugin(v, p, parent));
        self.each(&mut f, "consumer_group_consumers", |c, v, p| {
            c.member(v, p, parent)
        });
        f.finish(&mut self.sink);
        self.out.consumer_groups.push(g);
    }

    /// A `consumer_group_consumers` record (group membership; its key is the pair of ids).
    fn member(&mut self, v: &Value, path: String, parent: Option<Parent>) {
        let Some(mut f) = Fields::new(v, path, &mut self.sink) else {
            return;
        };
        let group = self.foreign(&mut f, "consumer_group", Kind::ConsumerGroups, parent);
        let consumer = self.foreign(&mut f, "consumer", Kind::Consumers, parent);
        self.require(&group, &f, "consumer_group");
        self.require(&consumer, &f, "consumer");
        f.finish(&mut self.sink);
        let index = self.out.consumer_group_consumers.len();
        let group_slot = Slot::Member(index, Kind::ConsumerGroups);
        let consumer_slot = Slot::Member(index, Kind::Consumers);
        let member = ConsumerGroupConsumer {
            consumer_group_id: self
                .refer(
                    group,
                    group_slot,
                    "consumer_group",
                    Kind::ConsumerGroups,
                    f.at("consumer_group"),
                )
                .unwrap_or_default(),
            consumer_id: self
                .refer(
                    consumer,
                    consumer_slot,
                    "consumer",
                    Kind::Consumers,
                    f.at("consumer"),
                )
                .unwrap_or_default(),
        };
        self.out.consumer_group_consumers.push(member);
        self.member_paths.push(f.path().to_string());
    }

    /// A plugin-owned credential: kept as written for its plugin, with its id and consumer.
    fn credential(
        &mut self,
        schema: &'static CredentialSchema,
        v: &Value,
        path: String,
        parent: Option<Parent>,
    ) {
        let Some(mut f) = Fields::new(v, path, &mut self.sink) else {
            return;
        };
        let Value::Object(map) = v else { return };
        let given = self.given_id(&mut f);
        let consumer = self.foreign(&mut f, "consumer", Kind::Consumers, parent);
        self.require(&consumer, &f, "consumer");
        let mut entry = map.clone();
        entry.remove("_comment");
        entry.remove("_ignore");
        entry.remove("consumer");
        let key = schema.cache_key.and_then(|fields| {
            let parts = fields
                .iter()
                .map(|field| match *field {
                    "consumer" if !matches!(consumer, Foreign::Absent) => Some(consumer.key_part()),
                    field => entry.get(field).and_then(Value::as_str).map(String::from),
                })
                .collect::<Option<Vec<String>>>()?;
            Some(ids::cache_key(schema.entity, &parts))
        });
        let (id, _) = self.assign_id(schema.entity, given, key, f.path());
        entry.insert("id".into(), Value::String(id.to_string()));
        for field in schema.unique {
            if let Some(value) = entry.get(*field).and_then(Value::as_str).map(String::from) {
                self.unique(schema.entity, field, &value, f.path());
            }
        }
        let index = self.out.credentials.get(schema.entity).map_or(0, Vec::len);
        let slot = Slot::Credential(schema.entity, index);
        if let Some(consumer_id) = self.refer(
            consumer,
            slot,
            "consumer",
            Kind::Consumers,
            f.at("consumer"),
        ) {
            entry.insert("consumer".into(), json!({ "id": consumer_id.to_string() }));
        }
        self.out
            .credentials
            .entry(schema.entity.to_string())
            .or_default()
            .push(Value::Object(entry));
    }

    /// Resolves every reference by endpoint key, then by id (Kong's `find_entity`).
    fn resolve(&mut self) {
        for r in std::mem::take(&mut self.references) {
            let found = self
                .keys
                .get(&(r.target, r.value.clone()))
                .copied()
                .or_else(|| {
                    Uuid::parse_str(&r.value)
                        .ok()
                        .filter(|id| self.ids.contains(&(r.target.entity(), *id)))
                });
            let Some(id) = found else {
                let message = format!(
                    "invalid reference '{}: {}' (no such entry in '{}')",
                    r.field,
                    r.value,
                    r.target.entity()
                );
                self.sink.error(r.path, message);
                continue;
            };
            match r.slot {
                Slot::RouteService(i) => self.out.routes[i].service_id = Some(id),
                Slot::Plugin(i, key) => *key(&mut self.out.plugins[i]) = Some(id),
                Slot::Target(i) => self.loose_targets[i].upstream_id = id,
                Slot::Credential(entity, i) => {
                    if let Some(Value::Object(entry)) = self
                        .out
                        .credentials
                        .get_mut(entity)
                        .and_then(|l| l.get_mut(i))
                    {
                        entry.insert("consumer".into(), json!({ "id": id.to_string() }));
                    }
                }
                Slot::Member(i, Kind::ConsumerGroups) => {
                    self.out.consumer_group_consumers[i].consumer_group_id = id
                }
                Slot::Member(i, _) => self.out.consumer_group_consumers[i].consumer_id = id,
                Slot::SniCertificate(i) => self.out.snis[i].certificate_id = id,
                Slot::ServiceClientCertificate(i) => {
                    self.out.services[i].client_certificate_id = Some(id)
                }
                Slot::UpstreamClientCertificate(i) => {
                    self.out.upstreams[i].client_certificate_id = Some(id)
                }
                Slot::ServiceCaCertificate(i, j) => self.out.services[i].ca_certificate_ids[j] = id,
            }
        }
        for t in std::mem::take(&mut self.loose_targets) {
            if let Some(u) = self
                .out
                .upstreams
                .iter_mut()
                .find(|u| u.id == t.upstream_id)
            {
                u.targets.push(t);
            }
        }
    }

    /// Kong's plugin entity checks, once references are resolved: not both a consumer and a
    /// consumer group, and one plugin of a name per scope.
    fn check_plugins(&mut self) {
        let mut scopes = HashSet::new();
        for (p, (path, clashed)) in self.out.plugins.iter().zip(&self.plugin_paths) {
            if p.consumer_id.is_some() && p.consumer_group_id.is_some() {
                self.sink.error(
                    path,
                    "only one or none of these fields must be set: 'consumer', 'consumer_group'",
                );
            }
            let scope = (
                &p.name,
                p.route_id,
                p.service_id,
                p.consumer_id,
                p.consumer_group_id,
            );
            if !scopes.insert(scope) && !clashed {
                self.sink.error(
                    path,
                    format!("uniqueness violation: plugin '{}' is already declared for the same route, service, consumer and consumer group", p.name),
                );
            }
        }
    }

    fn check_members(&mut self) {
        let mut seen = HashSet::new();
        for (m, path) in self
            .out
            .consumer_group_consumers
            .iter()
            .zip(&self.member_paths)
        {
            if !m.consumer_group_id.is_nil()
                && !m.consumer_id.is_nil()
                && !seen.insert((m.consumer_group_id, m.consumer_id))
            {
                self.sink.error(
                    path,
                    format!(
                        "uniqueness violation: 'consumer_group_consumers' entity with primary key set to '{}:{}' already declared",
                        m.consumer_group_id, m.consumer_id
                    ),
                );
            }
        }
    }
}
