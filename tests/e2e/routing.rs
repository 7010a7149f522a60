//! Route matching as Kong's `traditional_compatible` router does it, seen from a client.

use crate::common::http::{client, echo, get};
use crate::common::upstream::Upstream;
use crate::common::Sluice;

fn routes_config(a: &Upstream, b: &Upstream, c: &Upstream) -> String {
    format!(
        r#"_format_version: "3.0"
services:
- name: svc-a
  url: {a}/base
  routes:
  - name: prefix
    paths: [/api]
  - name: longer-prefix
    paths: [/api/v1]
    strip_path: false
- name: svc-b
  url: {b}
  routes:
  - name: host-and-path
    hosts: [example.com]
    paths: [/api]
    strip_path: false
  - name: wildcard-host
    hosts: ["*.wild.test"]
    preserve_host: true
  - name: regex
    paths: ["~/users/(?<id>\\d+)$"]
  - name: regex-low
    paths: ["~/items/\\d+"]
    regex_priority: 1
- name: svc-c
  url: {c}
  routes:
  - name: post-only
    methods: [POST]
    paths: [/api]
  - name: header
    headers:
      x-version: ["v2"]
    paths: [/api]
  - name: regex-high
    paths: ["~/items/4"]
    regex_priority: 5
"#,
        a = a.url(),
        b = b.url(),
        c = c.url()
    )
}

#[test]
fn routes_by_path_host_method_header_and_regex_like_kong() {
    let (a, b, c) = (
        Upstream::start("a"),
        Upstream::start("b"),
        Upstream::start("c"),
    );
    let sluice = Sluice::start(&routes_config(&a, &b, &c), "");
    let http = client();

    // A prefix route strips its prefix and joins the rest to the service path.
    let e = echo(get(&sluice.url("/api/x?q=1")));
    assert_eq!(
        (e["server"].as_str(), e["uri"].as_str()),
        (Some("a"), Some("/base/x?q=1"))
    );

    // The longest prefix wins among prefix routes.
    let e = echo(get(&sluice.url("/api/v1/y")));
    assert_eq!(e["uri"], "/base/api/v1/y");

    // Host + path beats path alone; strip_path=false keeps the path.
    let e = echo(
        http.get(sluice.url("/api/x"))
            .header("host", "example.com")
            .send()
            .unwrap(),
    );
    assert_eq!(
        (e["server"].as_str(), e["uri"].as_str()),
        (Some("b"), Some("/api/x"))
    );

    // Method + path beats path alone.
    let e = echo(http.post(sluice.url("/api/x")).send().unwrap());
    assert_eq!(
        (e["server"].as_str(), e["uri"].as_str()),
        (Some("c"), Some("/x"))
    );

    // Header values match case-insensitively.
    let e = echo(
        http.get(sluice.url("/api/x"))
            .header("x-version", "V2")
            .send()
            .unwrap(),
    );
    assert_eq!(e["server"], "c");

    // Wildcard host; preserve_host sends the client's Host upstream.
    let e = echo(
        http.get(sluice.url("/w"))
            .header("host", "foo.wild.test")
            .send()
            .unwrap(),
    );
    assert_eq!(
        (e["server"].as_str(), e["headers"]["host"].as_str()),
        (Some("b"), Some("foo.wild.test"))
    );

    // A regex path strips what it matched.
    let e = echo(get(&sluice.url("/users/42")));
    assert_eq!(
        (e["server"].as_str(), e["uri"].as_str()),
        (Some("b"), Some("/"))
    );

    // Among regex routes, regex_priority decides.
    let e = echo(get(&sluice.url("/items/42")));
    assert_eq!(e["server"], "c");
    let e = echo(get(&sluice.url("/items/52")));
    assert_eq!(e["server"], "b");

    // Without preserve_host the upstream sees its own address as Host.
    let e = echo(get(&sluice.url("/api/x")));
    assert_eq!(e["headers"]["host"], a.addr.to_string());
}

#[test]
fn no_route_is_kongs_404() {
    let a = Upstream::start("a");
    let yml = format!("_format_version: \"3.0\"\nservices:\n- name: s\n  url: {}\n  routes:\n  - paths: [/only]\n", a.url());
    let sluice = Sluice::start(&yml, "");
    let resp = get(&sluice.url("/elsewhere"));
    assert_eq!(resp.status(), 404);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(
        resp.text().unwrap(),
        r#"{"message":"no Route matched with those values"}"#
    );
}
