//! What Kong's simple bundled plugins need besides the PDK, through small plugins of our own that
//! use the same modules and calls: socket.url and resty.lrucache (cors), resty.ipmatcher
//! (ip-restriction), lfs and a schema requiring its handler (request-size-limiting),
//! kong.tools.mime_type with body_filter rewriting (response-transformer), multipart
//! (request-transformer), kong.tools.sandbox (pre-function), nginx's connection counters
//! (correlation-id).

use std::time::Duration;

use crate::common::http::{client, echo, fresh_client, get};
use crate::common::upstream::Upstream;
use crate::common::{wait_for, Sluice};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/lua/?.lua;;");

fn node(plugins: &str) -> String {
    format!("plugins = {plugins}\nlua_package_path = {FIXTURES}\n")
}

/// One service on `up` with one route per `(path, plugin, config)`.
fn routes(up: &Upstream, routes: &[(&str, &str, &str)]) -> String {
    let mut yml = format!(
        "_format_version: \"3.0\"\nservices:\n- name: s\n  url: {}\n  routes:\n",
        up.url()
    );
    for (path, plugin, config) in routes {
        yml += &format!(
            "  - paths: [{path}]\n    plugins:\n    - name: {plugin}\n      config: {config}\n"
        );
    }
    yml
}

#[test]
fn origins_are_normalised_with_socket_url_and_lrucache() {
    let up = Upstream::start("up");
    let yml = routes(
        &up,
        &[(
            "/",
            "origin-echo",
            r#"{ allow: "^https?://([a-z]+\\.)?example\\.com(:\\d+)?$" }"#,
        )],
    );
    let sluice = Sluice::start(&yml, &node("origin-echo"));
    let c = client();
    for (origin, normalized, allowed) in [
        ("http://example.com:80", "http://example.com", "true"),
        (
            "https://api.example.com:443",
            "https://api.example.com",
            "true",
        ),
        (
            "https://api.example.com:8443",
            "https://api.example.com:8443",
            "true",
        ),
        ("http://evil.test", "http://evil.test", "false"),
        ("null", "null", "false"),
    ] {
        // Twice: the second answer comes from the LRU cache.
        for _ in 0..2 {
            let resp = c
                .get(sluice.url("/"))
                .header("Origin", origin)
                .send()
                .unwrap();
            assert_eq!(resp.headers()["x-origin"], normalized, "{origin}");
            assert_eq!(resp.headers()["x-origin-allowed"], allowed, "{origin}");
            assert_eq!(resp.headers()["vary"], "Origin");
        }
    }
}

#[test]
fn ipmatcher_refuses_listed_addresses() {
    let up = Upstream::start("up");
    let yml = routes(
        &up,
        &[
            (
                "/deny",
                "ip-guard",
                r#"{ deny: ["10.0.0.0/8", "127.0.0.0/8", "::1"] }"#,
            ),
            (
                "/allow",
                "ip-guard",
                r#"{ deny: ["10.0.0.0/8", "2001:db8::/32"] }"#,
            ),
        ],
    );
    let sluice = Sluice::start(&yml, &node("ip-guard"));
    let resp = get(&sluice.url("/deny"));
    assert_eq!(resp.status(), 403);
    let body: serde_json::Value = resp.json().unwrap();
    assert_eq!(body["message"], "IP address not allowed: 127.0.0.1");
    wait_for(
        "the warning logged through kong.log captured at load",
        Duration::from_secs(10),
        || {
            sluice
                .error_log()
                .contains("[ip-guard] IP address not allowed: 127.0.0.1")
        },
    );
    assert_eq!(echo(get(&sluice.url("/allow")))["server"], "up");
    assert_eq!(up.hits(), 1);

    // kong.response.error answers in the type the client accepts best.
    let c = client();
    for (accept, content_type, start) in [
        ("text/html", "text/html; charset=utf-8", "<!doctype html>"),
        (
            "application/xml;q=0.9, text/plain;q=0.5",
            "application/xml; charset=utf-8",
            "<?xml",
        ),
        (
            "text/*",
            "text/plain; charset=utf-8",
            "IP address not allowed: 127.0.0.1\n",
        ),
        (
            "text/html;q=0.1, application/json",
            "application/json; charset=utf-8",
            "{",
        ),
    ] {
        let resp = c
            .get(sluice.url("/deny"))
            .header("Accept", accept)
            .send()
            .unwrap();
        assert_eq!(resp.status(), 403);
        assert_eq!(resp.headers()["content-type"], content_type, "{accept}");
        let body = resp.text().unwrap();
        assert!(body.starts_with(start), "{accept}: {body}");
        assert!(body.contains("IP address not allowed: 127.0.0.1"), "{body}");
    }
}

#[test]
fn lfs_loads_and_a_schema_may_require_its_handler() {
    let up = Upstream::start("up");
    let yml = routes(
        &up,
        &[
            ("/small", "size-guard", "{ allowed: 10 }"),
            ("/kb", "size-guard", "{ allowed: 1, unit: kilobytes }"),
        ],
    );
    let sluice = Sluice::start(&yml, &node("size-guard"));
    let c = client();
    let resp = c
        .post(sluice.url("/small"))
        .body("0123456789A")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 413);
    assert_eq!(
        resp.json::<serde_json::Value>().unwrap()["message"],
        "Request size limit exceeded"
    );
    let e = echo(
        c.post(sluice.url("/kb"))
            .body("0123456789A")
            .send()
            .unwrap(),
    );
    assert_eq!(e["headers"]["x-prefix-mode"], "directory");
    assert_eq!(e["body_len"], 11);
}

#[test]
fn body_filter_rewrites_json_found_by_mime_type() {
    let up = Upstream::start("up");
    let yml = routes(&up, &[("/", "json-rewrite", "{ key: added, value: yes }")]);
    let sluice = Sluice::start(&yml, &node("json-rewrite"));
    let resp = get(&sluice.url("/path"));
    assert!(
        resp.headers().get("content-length").is_none(),
        "the length changes with the body"
    );
    let e = echo(resp);
    assert_eq!(e["added"], "yes");
    assert_eq!(e["server"], "up", "the upstream's keys are kept");
    assert_eq!(e["uri"], "/path");
}

#[test]
fn multipart_bodies_are_rewritten() {
    let up = Upstream::start("up");
    let yml = routes(&up, &[("/", "form-rename", "{ from: a, to: b }")]);
    let sluice = Sluice::start(&yml, &node("form-rename"));
    let body = "--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n12345\r\n--XX--\r\n";
    let e = echo(
        client()
            .post(sluice.url("/"))
            .header("content-type", "multipart/form-data; boundary=XX")
            .body(body)
            .send()
            .unwrap(),
    );
    assert_eq!(e["headers"]["x-form-fields"], "12345");
    let renamed = "--XX\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n12345\r\n--XX--\r\n";
    assert_eq!(e["body_len"], renamed.len());
}

#[test]
fn sandboxed_code_follows_untrusted_lua() {
    let up = Upstream::start("up");
    let yml = routes(
        &up,
        &[
            (
                "/ok",
                "sandboxed",
                r#"{ code: "kong.service.request.set_header('x-sandboxed', string.upper('yes'))" }"#,
            ),
            ("/io", "sandboxed", r#"{ code: "io.open('/etc/passwd')" }"#),
            (
                "/table",
                "sandboxed",
                r#"{ code: "return kong.response.error(451, { reason = 'law' })" }"#,
            ),
        ],
    );
    let sluice = Sluice::start(&yml, &node("sandboxed"));
    assert_eq!(
        echo(get(&sluice.url("/ok")))["headers"]["x-sandboxed"],
        "YES"
    );
    assert_eq!(
        get(&sluice.url("/io")).status(),
        500,
        "io is not in the sandbox"
    );
    let resp = get(&sluice.url("/table"));
    assert_eq!(resp.status(), 451);
    assert_eq!(
        resp.json::<serde_json::Value>().unwrap()["message"],
        r#"{"reason":"law"}"#,
        "a table message is sent JSON-encoded"
    );
    wait_for("the sandbox error logged", Duration::from_secs(10), || {
        sluice.error_log().contains("attempt to index global 'io'")
    });

    // untrusted_lua = off: the configuration is refused.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kong.yml"), &yml).unwrap();
    std::fs::write(
        dir.path().join("sluice.conf"),
        format!(
            "declarative_config = {}\n{}untrusted_lua = off\n",
            dir.path().join("kong.yml").display(),
            node("sandboxed")
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["check", "-c"])
        .arg(dir.path().join("sluice.conf"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("'untrusted_lua' config option is set to 'off'"),
        "{stderr}"
    );
}

#[test]
fn connection_counters_and_configuration_types() {
    let up = Upstream::start("up");
    let yml = format!(
        "_format_version: \"3.0\"\nservices:\n- name: s\n  url: {}\n  routes:\n  - paths: [/]\nplugins:\n- name: conn-vars\n",
        up.url()
    );
    // One worker: connection serials are counted per worker.
    let sluice = Sluice::start(
        &yml,
        &format!("{}worker_processes = 1\n", node("bundled, conn-vars")),
    );
    let c = client();
    // Each body is read, so the connection goes back to the pool for the next request.
    let mut heads = (0..2).map(|_| {
        let resp = c.get(sluice.url("/")).send().unwrap();
        let head = resp.headers().clone();
        echo(resp);
        head
    });
    let (h1, h2) = (heads.next().unwrap(), heads.next().unwrap());
    assert_eq!(
        h1["x-connection"], h2["x-connection"],
        "one keep-alive connection"
    );
    assert_eq!(h1["x-connection-requests"], "1");
    assert_eq!(h2["x-connection-requests"], "2");
    let other = fresh_client().get(sluice.url("/")).send().unwrap();
    assert_ne!(other.headers()["x-connection"], h1["x-connection"]);
    assert_eq!(other.headers()["x-connection-requests"], "1");
    assert_eq!(h1["x-untrusted-lua"], "sandbox");
    assert_eq!(h1["x-plugins"], "table:bundled|conn-vars");
}

/// `kong.db` without a database: key-auth's lookups (select_by_key through kong.cache with the
/// DAO's cache_key, each_for_consumer, select) answer from the declarative config, basic-auth's
/// passwords are stored hashed as Kong's load transform does, and writes fail as in Kong's
/// DB-less mode.
#[test]
fn kong_db_answers_from_the_declarative_config() {
    let up = Upstream::start("up");
    let yml = format!(
        "{}consumers:\n- username: alice\n  keyauth_credentials:\n  - key: alice-key\n  - key: alice-other\n\
         \x20 basicauth_credentials:\n  - username: alice\n    password: pw-alice\n\
         - username: bob\n  keyauth_credentials:\n  - key: bob-key\n",
        routes(&up, &[("/", "db-auth", "{}")])
    );
    let sluice = Sluice::start(&yml, &node("db-auth"));
    let with_key = |key: &str| {
        fresh_client()
            .get(sluice.url("/"))
            .header("apikey", key)
            .send()
            .unwrap()
    };
    let alice = echo(with_key("alice-other"));
    assert_eq!(alice["headers"]["x-consumer-username"], "alice");
    assert_eq!(alice["headers"]["x-consumer-keys"], "2");
    assert_eq!(alice["headers"]["x-route-service"], "same");
    assert_eq!(
        alice["headers"]["x-db-write"],
        "cannot insert 'consumers' entities when not using a database"
    );
    assert_eq!(alice["headers"]["x-basic-password"], "hashed");
    assert_eq!(alice["headers"]["x-route-plugins"], "1");
    assert_eq!(alice["headers"]["x-db-vaults"], "nil");
    assert_eq!(echo(with_key("bob-key"))["headers"]["x-consumer-keys"], "1");
    let denied = with_key("nobody");
    assert_eq!(denied.status(), 401);
    assert_eq!(denied.headers()["www-authenticate"], "Key realm=\"kong\"");
    assert_eq!(get(&sluice.url("/")).status(), 401);
}
