//! Whole-document tests: nesting, references, ids, formats and every error class.

use super::*;
use serde_json::json;
use uuid::Uuid;

fn parse(text: &str) -> DeclarativeConfig {
    DeclarativeConfig::parse(text, "kong.yml").unwrap_or_else(|e| panic!("{e}"))
}

fn errors(text: &str) -> Vec<String> {
    DeclarativeConfig::parse(text, "kong.yml")
        .expect_err("expected errors")
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn id(s: &str) -> Uuid {
    s.parse().unwrap()
}

fn service<'a>(c: &'a DeclarativeConfig, name: &str) -> &'a Service {
    c.services
        .iter()
        .find(|s| s.name.as_deref() == Some(name))
        .unwrap()
}

fn route<'a>(c: &'a DeclarativeConfig, name: &str) -> &'a Route {
    c.routes
        .iter()
        .find(|r| r.name.as_deref() == Some(name))
        .unwrap()
}

fn consumer<'a>(c: &'a DeclarativeConfig, username: &str) -> &'a Consumer {
    c.consumers
        .iter()
        .find(|x| x.username.as_deref() == Some(username))
        .unwrap()
}

#[test]
fn built_in_example_routes_to_the_status_listener() {
    let c = DeclarativeConfig::load(&DeclarativeSource::Embedded).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.services.len(), 1);
    let s = &c.services[0];
    assert_eq!(
        (s.protocol, s.host.as_str(), s.port, s.path.as_deref()),
        (Protocol::Http, "127.0.0.1", 8007, Some("/status"))
    );
    assert_eq!(c.routes.len(), 1);
    assert_eq!(c.routes[0].paths, vec!["/"]);
    assert_eq!(c.routes[0].service_id, Some(s.id));
    assert_eq!(c.service(s.id), Some(s));
}

#[test]
fn realistic_kong_config_loads_unchanged() {
    let c = parse(include_str!("../../tests/fixtures/kong.yml"));
    assert_eq!((c.format_version.as_str(), c.transform), ("3.0", true));
    assert_eq!(c.services.len(), 3);
    assert_eq!(c.routes.len(), 4);

    let catalog = service(&c, "catalog");
    assert_eq!(
        (catalog.host.as_str(), catalog.port, catalog.path.as_deref()),
        ("catalog-upstream", 80, Some("/api"))
    );
    assert_eq!(
        (
            catalog.connect_timeout,
            catalog.read_timeout,
            catalog.retries
        ),
        (5000, 30000, 3)
    );
    let items = route(&c, "catalog-items");
    assert_eq!(items.service_id, Some(catalog.id));
    assert_eq!(
        items.paths,
        vec!["/catalog", "~/catalog/items/(?<id>\\d+)$"]
    );
    assert_eq!(items.hosts, vec!["*.shop.example.com", "shop.example.com"]);
    assert_eq!(route(&c, "catalog-admin").headers["x-admin"], vec!["true"]);
    assert_eq!(
        route(&c, "orders-route").service_id,
        Some(service(&c, "orders").id)
    );
    let legacy = route(&c, "legacy-route");
    assert_eq!(legacy.service_id, Some(service(&c, "legacy").id));
    assert!(legacy.preserve_host && !legacy.request_buffering);
    assert_eq!(service(&c, "legacy").port, 443);

    let up = c.upstream_by_name("catalog-upstream").unwrap();
    let targets: Vec<(&str, u16)> = up
        .targets
        .iter()
        .map(|t| (t.target.as_str(), t.weight))
        .collect();
    assert_eq!(
        targets,
        vec![
            ("10.0.0.11:8080", 100),
            ("10.0.0.12:8080", 50),
            ("catalog-3.internal:8000", 0)
        ]
    );
    assert!(up.targets.iter().all(|t| t.upstream_id == up.id));
    assert!(up.healthchecks.is_some());

    let alice = consumer(&c, "alice");
    let bob = consumer(&c, "bob");
    assert_eq!(alice.custom_id.as_deref(), Some("customer-001"));
    assert!(c
        .consumers
        .iter()
        .any(|x| x.username.is_none() && x.custom_id.as_deref() == Some("service-account-7")));
    let keys = &c.credentials["keyauth_credentials"];
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["key"], "alice-secret-key");
    assert_eq!(keys[0]["consumer"], json!({"id": alice.id.to_string()}));
    assert_eq!(keys[1]["consumer"], json!({"id": bob.id.to_string()}));
    assert_eq!(c.credentials["acls"].len(), 2);
    assert_eq!(
        c.credentials["basicauth_credentials"][0]["password"],
        "s3cret"
    );

    let premium = &c.consumer_groups[0];
    let mut members: Vec<Uuid> = c
        .consumer_group_consumers
        .iter()
        .map(|m| m.consumer_id)
        .collect();
    members.sort();
    let mut expected = vec![alice.id, bob.id];
    expected.sort();
    assert_eq!(members, expected);
    assert_eq!(
        c.groups_of(bob.id)
            .map(|g| g.name.as_str())
            .collect::<Vec<_>>(),
        vec!["premium"]
    );

    let plugin = |name: &str, pred: &dyn Fn(&Plugin) -> bool| -> Plugin {
        c.plugins
            .iter()
            .find(|p| p.name == name && pred(p))
            .cloned()
            .unwrap()
    };
    assert_eq!(plugin("cors", &|_| true).service_id, Some(catalog.id));
    assert_eq!(
        plugin("rate-limiting", &|p| p.route_id.is_some()).route_id,
        Some(items.id)
    );
    assert_eq!(
        plugin("rate-limiting", &|p| p.consumer_id == Some(alice.id)).config,
        json!({"minute": 1000})
    );
    let two_keys = plugin("rate-limiting", &|p| p.consumer_id == Some(bob.id));
    assert_eq!(two_keys.service_id, Some(service(&c, "orders").id));
    assert_eq!(
        plugin("request-size-limiting", &|_| true).consumer_group_id,
        Some(premium.id)
    );
    let global = plugin("prometheus", &|_| true);
    assert_eq!(
        (global.route_id, global.service_id, global.consumer_id),
        (None, None, None)
    );
    let audit = plugin("file-log", &|_| true);
    assert_eq!(
        (audit.instance_name.as_deref(), audit.enabled),
        (Some("orders-audit"), false)
    );
    assert_eq!(audit.route_id, Some(route(&c, "orders-route").id));
    assert_eq!(c.plugins.len(), 9);
}

#[test]
fn json_documents() {
    let c = DeclarativeConfig::parse(
        r#"{"_format_version": "3.0", "services": [{"name": "s", "url": "http://a", "routes": [{"paths": ["/"]}]}]}"#,
        "declarative_config_string",
    )
    .unwrap();
    assert_eq!(c.routes[0].service_id, Some(c.services[0].id));
}

/// Ids used in Kong's own test fixtures for these names.
#[test]
fn ids_match_kong() {
    let c = parse(
        "_format_version: \"3.0\"\n\
         services:\n- name: my-service\n  url: https://example.com\n  routes:\n  - name: my-route\n    paths: [/]\n\
         consumers:\n- username: my-user\n",
    );
    assert_eq!(c.services[0].id, id("0855b320-0dd2-547d-891d-601e9b38647f"));
    assert_eq!(c.routes[0].id, id("481a9539-f49c-51b6-b2e2-fe99ee68866c"));
    assert_eq!(
        c.consumers[0].id,
        id("4b1b701d-de2b-5588-9aa2-3b97061d9f52")
    );
}

#[test]
fn cache_key_ids_follow_kong() {
    let c = parse(
        "_format_version: \"3.0\"\n\
         services:\n- name: svc\n  url: http://a\n  plugins:\n  - name: cors\n\
         plugins:\n- name: acl\n  service: svc\n- name: key-auth\n\
         upstreams:\n- name: up\n  targets:\n  - target: 10.0.0.1:80\n\
         consumer_groups:\n- name: gold\n\
         consumers:\n- username: al\n  acls:\n  - group: admins\n",
    );
    let sid = c.services[0].id.to_string();
    let nested = c.plugins.iter().find(|p| p.name == "cors").unwrap();
    assert_eq!(
        nested.id,
        ids::generate("plugins", &format!("plugins:*:cors::{sid}::"))
    );
    // A top-level reference enters the key as written, as in Kong.
    let named = c.plugins.iter().find(|p| p.name == "acl").unwrap();
    assert_eq!(named.id, ids::generate("plugins", "plugins:*:acl::svc::"));
    assert_eq!(named.service_id, Some(c.services[0].id));
    let global = c.plugins.iter().find(|p| p.name == "key-auth").unwrap();
    assert_eq!(
        global.id,
        ids::generate("plugins", "plugins:*:key-auth::::")
    );
    let up = &c.upstreams[0];
    assert_eq!(up.id, ids::generate("upstreams", "up"));
    assert_eq!(
        up.targets[0].id,
        ids::generate("targets", &format!("targets:*:{}:10.0.0.1:80", up.id))
    );
    assert_eq!(
        c.consumer_groups[0].id,
        ids::generate("consumer_groups", "consumer_groups:*:gold")
    );
    let acl = &c.credentials["acls"][0];
    let cid = c.consumers[0].id;
    assert_eq!(
        acl["id"],
        ids::generate("acls", &format!("acls:*:{cid}:admins")).to_string()
    );
}

#[test]
fn ids_are_stable_across_loads_even_where_kong_would_randomize() {
    let text = "_format_version: \"3.0\"\nservices:\n- url: http://a\n  routes:\n  - paths: [/a]\n  - paths: [/b]\nconsumers:\n- username: u\n  keyauth_credentials:\n  - key: k\n";
    let (a, b) = (parse(text), parse(text));
    assert_eq!(a, b);
    assert_ne!(a.routes[0].id, a.routes[1].id);
}

#[test]
fn legacy_formats_are_migrated() {
    let c = parse("_format_version: \"1.1\"\nroutes:\n- paths: [/users/\\d+, /plain]\n");
    assert_eq!(c.format_version, "1.1");
    assert_eq!(c.routes[0].paths, vec!["~/users/\\d+", "/plain"]);
    // In 3.0 the same path is a prefix, and a non-normalized prefix is an error.
    assert_eq!(
        parse("_format_version: \"3.0\"\nroutes:\n- paths: [/users/\\d+]\n").routes[0].paths,
        vec!["/users/\\d+"]
    );
}

#[test]
fn document_level_errors() {
    assert_eq!(
        errors(""),
        vec!["kong.yml: the declarative config is empty"]
    );
    assert_eq!(errors("- a\n"), vec!["kong.yml: expected a record"]);
    assert_eq!(
        errors("services: []\nservice: []\nvaults: []\n_format_version: 3.0\n"),
        vec![
            "kong.yml: _format_version: expected a string",
            "kong.yml: vaults: 'vaults' entities are not supported by Sluice yet",
            "kong.yml: service: unknown field",
        ]
    );
    assert_eq!(
        errors("services: []\n"),
        vec!["kong.yml: _format_version: required field missing"]
    );
    assert_eq!(
        errors("_format_version: \"2.0\"\n"),
        vec!["kong.yml: _format_version: expected one of: 1.1, 2.1, 3.0"]
    );
    assert_eq!(
        errors("_format_version: \"3.0\"\nservices: {}\nroutes: [1]\n"),
        vec![
            "kong.yml: services: expected an array",
            "kong.yml: routes[0]: expected a record"
        ]
    );
    let e = DeclarativeConfig::parse("a: [", "kong.yml").unwrap_err();
    assert_eq!(e.len(), 1);
}

#[test]
fn every_error_is_collected_with_its_path() {
    let shown = errors(
        "_format_version: \"3.0\"\n\
         services:\n\
         - name: a\n  url: http://a\n  routes:\n  - paths: [bad]\n    service: a\n  - name: r\n    paths: [/x]\n    plugins:\n    - name: p\n      consumer: c\n\
         - name: a\n  host: b\n  colour: red\n\
         routes:\n- name: r\n  paths: [/y]\n  service: nope\n\
         upstreams:\n- name: u\n\
         targets:\n- target: 10.0.0.1\n- target: 10.0.0.2\n  upstream: missing\n\
         consumers:\n- username: c\n- username: c\n- custom_id: x\n  id: not-a-uuid\n\
         consumer_groups:\n- name: g\n\
         plugins:\n- name: x\n  consumer: c\n  consumer_group: g\n- name: cors\n- name: cors\n  id: 8f7a4b0e-5d61-4a7e-b1d1-6d8e2c3f4a5b\n\
         keyauth_credentials:\n- key: k\n- key: k\n  consumer: c\n\
         consumer_group_consumers:\n- consumer_group: g\n  consumer: c\n- consumer_group: g\n  consumer: c\n",
    );
    let (svc, route, consumer) = (
        ids::generate("services", "a"),
        ids::generate("routes", "r"),
        ids::generate("consumers", "c"),
    );
    let group = ids::generate("consumer_groups", "consumer_groups:*:g");
    let expected = vec![
        "kong.yml: services[0].routes[0].service: value must be null (it is taken from the enclosing entity)".to_string(),
        "kong.yml: services[0].routes[0].paths[0]: should start with: / (fixed path) or ~/ (regex path)".into(),
        "kong.yml: services[0].routes[1].plugins[0].consumer: value must be null (an entity referencing two others must be declared at the top level)".into(),
        format!("kong.yml: services[1]: uniqueness violation: 'services' entity with primary key set to '{svc}' already declared"),
        "kong.yml: services[1]: uniqueness violation: 'services' entity with name set to 'a' already declared".into(),
        "kong.yml: services[1].colour: unknown field".into(),
        format!("kong.yml: routes[0]: uniqueness violation: 'routes' entity with primary key set to '{route}' already declared"),
        "kong.yml: routes[0]: uniqueness violation: 'routes' entity with name set to 'r' already declared".into(),
        "kong.yml: targets[0].upstream: required field missing".into(),
        format!("kong.yml: consumers[1]: uniqueness violation: 'consumers' entity with primary key set to '{consumer}' already declared"),
        "kong.yml: consumers[1]: uniqueness violation: 'consumers' entity with username set to 'c' already declared".into(),
        "kong.yml: consumers[2].id: expected a valid UUID".into(),
        "kong.yml: keyauth_credentials[0].consumer: required field missing".into(),
        "kong.yml: keyauth_credentials[1]: uniqueness violation: 'keyauth_credentials' entity with key set to 'k' already declared".into(),
        "kong.yml: routes[0].service: invalid reference 'service: nope' (no such entry in 'services')".into(),
        "kong.yml: targets[1].upstream: invalid reference 'upstream: missing' (no such entry in 'upstreams')".into(),
        "kong.yml: plugins[0]: only one or none of these fields must be set: 'consumer', 'consumer_group'".into(),
        "kong.yml: plugins[2]: uniqueness violation: plugin 'cors' is already declared for the same route, service, consumer and consumer group".into(),
        format!("kong.yml: consumer_group_consumers[1]: uniqueness violation: 'consumer_group_consumers' entity with primary key set to '{group}:{consumer}' already declared"),
    ];
    assert_eq!(shown, expected);
}

#[test]
fn top_level_references_by_id() {
    let c = parse(
        "_format_version: \"3.0\"\n\
         services:\n- id: 3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60\n  url: http://a\n\
         routes:\n- paths: [/]\n  service: 3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60\n\
         consumers:\n- custom_id: x\n  id: 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d\n\
         acls:\n- consumer: 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d\n  group: g\n",
    );
    assert_eq!(
        c.routes[0].service_id,
        Some(id("3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60"))
    );
    assert_eq!(
        c.credentials["acls"][0]["consumer"],
        json!({"id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"})
    );
}

#[test]
fn nested_credentials_and_memberships_follow_kong_nesting_rules() {
    assert_eq!(
        errors(
            "_format_version: \"3.0\"\n\
             consumers:\n- username: a\n  keyauth_credentials:\n  - key: k\n    consumer: a\n\
             consumer_groups:\n- name: g\n  consumer_group_consumers:\n  - consumer: a\n"
        ),
        vec![
            "kong.yml: consumers[0].keyauth_credentials[0].consumer: value must be null (it is taken from the enclosing entity)",
            "kong.yml: consumer_groups[0].consumer_group_consumers[0].consumer: value must be null (an entity referencing two others must be declared at the top level)",
        ]
    );
}

#[test]
fn certificates_and_their_snis_nested_or_top_level() {
    let c = parse(
        r#"_format_version: "3.0"
certificates:
- cert: "CERT A"
  key: "KEY A"
  snis:
  - name: a.example
  - "*.wild.example"
- id: 5f1e0d3a-7c1b-4c2e-9d4f-000000000002
  cert: "CERT B"
  key: "KEY B"
  cert_alt: "CERT B2"
  key_alt: "KEY B2"
  tags: [b]
snis:
- name: b.example
  certificate: 5f1e0d3a-7c1b-4c2e-9d4f-000000000002
"#,
    );
    assert_eq!(c.certificates.len(), 2);
    let (a, b) = (&c.certificates[0], &c.certificates[1]);
    assert_eq!(
        (a.cert.as_str(), a.key.as_str(), &a.alt),
        ("CERT A", "KEY A", &None)
    );
    assert_eq!(b.id.to_string(), "5f1e0d3a-7c1b-4c2e-9d4f-000000000002");
    assert_eq!(b.alt, Some(("CERT B2".into(), "KEY B2".into())));
    let snis: Vec<_> = c
        .snis
        .iter()
        .map(|s| (s.name.as_str(), s.certificate_id))
        .collect();
    assert_eq!(
        snis,
        [
            ("a.example", a.id),
            ("*.wild.example", a.id),
            ("b.example", b.id)
        ]
    );
}

#[test]
fn certificate_and_sni_errors() {
    assert_eq!(
        errors(
            r#"_format_version: "3.0"
certificates:
- cert: "C"
  cert_alt: "C2"
  snis:
  - name: "a.*.example"
  - name: dup.example
- cert: "C"
  key: "K"
  snis: [dup.example]
snis:
- name: orphan.example
  certificate: 5f1e0d3a-7c1b-4c2e-9d4f-00000000000f
- name: 10.0.0.1
  certificate: 5f1e0d3a-7c1b-4c2e-9d4f-00000000000f
- name: none.example
"#
        ),
        vec![
            "kong.yml: certificates[0].key: required field missing",
            "kong.yml: certificates[0]: all or none of these fields must be set: 'cert_alt', 'key_alt'",
            "kong.yml: certificates[0].snis[0].name: invalid wildcard: must be placed at leftmost or rightmost label",
            "kong.yml: certificates[1].snis[0]: uniqueness violation: 'snis' entity with name set to 'dup.example' already declared",
            "kong.yml: snis[1].name: must not be an IP",
            "kong.yml: snis[2].certificate: required field missing",
            "kong.yml: snis[0].certificate: invalid reference 'certificate: 5f1e0d3a-7c1b-4c2e-9d4f-00000000000f' (no such entry in 'certificates')",
        ]
    );
}

#[test]
fn services_refer_to_client_and_ca_certificates() {
    let c = parse(
        r#"_format_version: "3.0"
certificates:
- id: 5f1e0d3a-7c1b-4c2e-9d4f-000000000002
  cert: "C"
  key: "K"
ca_certificates:
- id: 5f1e0d3a-7c1b-4c2e-9d4f-0000000000ca
  cert: "CA"
  cert_digest: "ignored"
services:
- name: a
  url: https://a.test
  tls_verify: true
  client_certificate: 5f1e0d3a-7c1b-4c2e-9d4f-000000000002
  ca_certificates: [5f1e0d3a-7c1b-4c2e-9d4f-0000000000ca]
- name: b
  url: https://b.test
  client_certificate: {id: 5f1e0d3a-7c1b-4c2e-9d4f-000000000002}
upstreams:
- name: u
  client_certificate: 5f1e0d3a-7c1b-4c2e-9d4f-000000000002
"#,
    );
    assert_eq!(
        c.upstreams[0].client_certificate_id,
        Some(c.certificates[0].id)
    );
    let (cert, ca) = (c.certificates[0].id, c.ca_certificates[0].id);
    assert_eq!(c.ca_certificates[0].cert, "CA");
    let a = service(&c, "a");
    assert_eq!(
        (a.client_certificate_id, &a.ca_certificate_ids[..]),
        (Some(cert), &[ca][..])
    );
    assert_eq!(service(&c, "b").client_certificate_id, Some(cert));

    assert_eq!(
        errors(
            r#"_format_version: "3.0"
services:
- url: https://a.test
  client_certificate: 5f1e0d3a-7c1b-4c2e-9d4f-000000000009
  ca_certificates: [5f1e0d3a-7c1b-4c2e-9d4f-000000000009]
- url: https://b.test
  client_certificate: [1]
"#
        ),
        vec![
            "kong.yml: services[1].client_certificate: expected an id, or a record {id = ...}",
            "kong.yml: services[0].client_certificate: invalid reference 'client_certificate: 5f1e0d3a-7c1b-4c2e-9d4f-000000000009' (no such entry in 'certificates')",
            "kong.yml: services[0].ca_certificates[0]: invalid reference 'ca_certificates: 5f1e0d3a-7c1b-4c2e-9d4f-000000000009' (no such entry in 'ca_certificates')",
        ]
    );
}
