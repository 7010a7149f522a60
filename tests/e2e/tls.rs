//! TLS: `ssl` listeners (configured and default certificates, https-only routes, SNI routing,
//! failed handshakes) and https upstreams (SNI, keep-alive per TLS identity, `tls_verify`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::common::http::{builder, client, echo};
use crate::common::tls::{client_trusting, TestCa};
use crate::common::upstream::Upstream;
use crate::common::{failed_check, wait_for, Sluice};

const LONG: Duration = Duration::from_secs(30);

/// Plain and `ssl` proxy listeners serving `certs/server.{crt,key}`, with the `scheme` plugin.
fn ssl_node(cert: &std::path::Path, key: &std::path::Path) -> String {
    format!(
        "proxy_listen = 127.0.0.1:0, 127.0.0.1:0 ssl\nssl_cert = {}\nssl_cert_key = {}\n\
         plugins = scheme\nlua_package_path = {}\n",
        cert.display(),
        key.display(),
        concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/lua/?.lua;;"),
    )
}

#[test]
fn ssl_listener_serves_https_and_requests_know_it() {
    let ca = TestCa::new();
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = ca
        .leaf(&["localhost", "127.0.0.1", "sni.test"])
        .write(certs.path(), "server");
    let up = Upstream::start("up");
    let yml = format!(
        "_format_version: \"3.0\"\nservices:\n- name: s\n  url: {}\n  routes:\n\
         \x20 - name: any\n    paths: [/any]\n\
         \x20 - name: secure\n    paths: [/secure]\n    protocols: [https]\n\
         \x20 - name: redirect\n    paths: [/redirect]\n    protocols: [https]\n    https_redirect_status_code: 301\n\
         \x20 - name: by-sni\n    paths: [/sni]\n    protocols: [https]\n    snis: [sni.test]\n\
         plugins:\n- name: scheme\n",
        up.url()
    );
    let sluice = Sluice::start(&yml, &ssl_node(&cert, &key));
    let ssl = sluice.proxy_ssl.expect("an ssl listener");
    let https = ca.client();

    let resp = https
        .get(format!("https://127.0.0.1:{}/any", ssl.port()))
        .send()
        .unwrap();
    let header =
        |r: &reqwest::blocking::Response, name| r.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header(&resp, "x-scheme"), "https");
    assert_eq!(header(&resp, "x-ngx-scheme"), "https");
    assert_eq!(header(&resp, "x-ngx-https"), "on");
    // No SNI for an IP address.
    assert_eq!(header(&resp, "x-sni"), "none");
    assert_eq!(header(&resp, "x-forwarded-scheme"), "https");
    let e = echo(resp);
    assert_eq!(e["headers"]["x-forwarded-proto"], "https");
    assert_eq!(e["headers"]["x-forwarded-port"], ssl.port().to_string());

    let resp = client().get(sluice.url("/any")).send().unwrap();
    assert_eq!(header(&resp, "x-scheme"), "http");
    assert_eq!(header(&resp, "x-ngx-https"), "");
    assert_eq!(echo(resp)["headers"]["x-forwarded-proto"], "http");

    // protocols: [https] matches over TLS; over plain HTTP Kong answers 426 or redirects.
    let resp = https
        .get(format!("https://127.0.0.1:{}/secure", ssl.port()))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = client().get(sluice.url("/secure")).send().unwrap();
    assert_eq!(resp.status(), 426);
    assert_eq!(header(&resp, "upgrade"), "TLS/1.2, HTTP/1.1");
    assert_eq!(header(&resp, "connection"), "Upgrade");
    let body: serde_json::Value = resp.json().unwrap();
    assert_eq!(body["message"], "Please use HTTPS protocol");
    let no_redirects = builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = no_redirects
        .get(sluice.url("/redirect?x=1"))
        .header("host", "api.test:8000")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 301);
    assert_eq!(header(&resp, "location"), "https://api.test/redirect?x=1");

    // Route `snis` match the name the client sent in its handshake.
    let by_name = |name: &str| {
        client_trusting(ca.der(), Some((name, ssl)))
            .get(format!("https://{name}:{}/sni", ssl.port()))
            .send()
            .unwrap()
    };
    let resp = by_name("sni.test");
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "x-sni"), "sni.test");
    assert_eq!(by_name("localhost").status(), 404);
}

#[test]
fn default_certificate_is_generated_once_and_kept_across_reloads() {
    let up = Upstream::start("up");
    let yml = format!(
        "_format_version: \"3.0\"\nservices:\n- name: s\n  url: {}\n  routes:\n  - paths: [/]\n",
        up.url()
    );
    let sluice = Sluice::start(&yml, "proxy_listen = 127.0.0.1:0 ssl\n");
    let ssl = sluice.proxy_ssl.expect("an ssl listener");
    let cert_path = sluice.prefix().join("ssl/kong-default.crt");
    let cert = std::fs::read_to_string(&cert_path).unwrap();
    let der =
        <rustls::pki_types::CertificateDer as rustls::pki_types::pem::PemObject>::from_pem_slice(
            cert.as_bytes(),
        )
        .unwrap();
    // Issued for `localhost`, as Kong's.
    let https = client_trusting(der, Some(("localhost", ssl)));
    let url = format!("https://localhost:{}/", ssl.port());
    assert_eq!(https.get(&url).send().unwrap().status(), 200);

    sluice.signal(Signal::SIGHUP);
    wait_for("the reload", LONG, || {
        sluice.error_log().contains("configuration reloaded")
    });
    assert_eq!(std::fs::read_to_string(&cert_path).unwrap(), cert);
    assert_eq!(https.get(&url).send().unwrap().status(), 200);
}

#[test]
fn a_failed_handshake_closes_only_that_connection() {
    let ca = TestCa::new();
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = ca.leaf(&["127.0.0.1"]).write(certs.path(), "server");
    let up = Upstream::start("up");
    let yml = format!(
        "_format_version: \"3.0\"\nservices:\n- name: s\n  url: {}\n  routes:\n  - paths: [/]\n",
        up.url()
    );
    let sluice = Sluice::start(&yml, &ssl_node(&cert, &key));
    let ssl = sluice.proxy_ssl.expect("an ssl listener");
    let workers = sluice.workers();

    // Plain HTTP on the TLS port, and a client that hangs up mid-handshake.
    let mut plain = TcpStream::connect(ssl).unwrap();
    plain.set_read_timeout(Some(LONG)).unwrap();
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(!answer.starts_with(b"HTTP/"), "no HTTP over a TLS port");
    let mut partial = TcpStream::connect(ssl).unwrap();
    partial
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .unwrap();
    drop(partial);

    let https = ca.client();
    let url = format!("https://127.0.0.1:{}/", ssl.port());
    for _ in 0..4 {
        assert_eq!(https.get(&url).send().unwrap().status(), 200);
    }
    assert_eq!(sluice.workers(), workers, "no worker died");
    wait_for("the handshake failure in the log", LONG, || {
        sluice
            .error_log()
            .contains("SSL handshake with client 127.0.0.1")
    });
}

/// An upstream `name` whose only target is `up`, sending `Host: secure.test` (and so that SNI).
fn named_upstream(name: &str, up: &Upstream) -> String {
    format!(
        "- name: {name}\n  host_header: secure.test\n  targets:\n  - target: {}\n",
        up.addr
    )
}

#[test]
fn https_upstreams_get_the_upstream_host_as_sni_and_pool_per_name() {
    let ca = TestCa::new();
    let up = Upstream::start_tls("tls-up", &ca.leaf(&["secure.test"]));
    let port = up.addr.port();
    let yml = format!(
        "_format_version: \"3.0\"\nupstreams:\n{}services:\n\
         - name: by-ip\n  url: https://127.0.0.1:{port}\n  routes:\n  - paths: [/ip]\n\
         - name: preserving\n  url: https://127.0.0.1:{port}\n  routes:\n  - paths: [/preserve]\n    preserve_host: true\n\
         - name: named\n  host: secure-up\n  protocol: https\n  routes:\n  - paths: [/named]\n",
        named_upstream("secure-up", &up)
    );
    let sluice = Sluice::start(&yml, "worker_processes = 1\n");
    let http = client();
    let get = |path: &str, host: Option<&str>| {
        let mut req = http.get(sluice.url(path));
        if let Some(host) = host {
            req = req.header("host", host);
        }
        echo(req.send().unwrap())
    };

    let e = get("/named", None);
    assert_eq!(e["sni"], "secure.test");
    assert_eq!(e["headers"]["host"], "secure.test");
    // An IP address is not sent as SNI; the Host keeps the non-default port.
    let e = get("/ip", None);
    assert_eq!(e["sni"], serde_json::Value::Null);
    assert_eq!(e["headers"]["host"], format!("127.0.0.1:{port}"));

    // With preserve_host the client's Host is the SNI (Kong's `proxy_ssl_name $upstream_host`),
    // and a kept-alive connection is reused only for the name it was made for.
    let before = up.connections();
    for host in ["a.test", "a.test", "b.test", "a.test", "b.test"] {
        assert_eq!(get("/preserve", Some(host))["sni"], host);
    }
    assert_eq!(up.connections() - before, 2, "one connection per name");
}

#[test]
fn tls_verify_checks_the_upstream_certificate() {
    let ca = TestCa::new();
    let certs = tempfile::tempdir().unwrap();
    let trusted = Upstream::start_tls("trusted", &ca.leaf(&["secure.test"]));
    let self_signed = rcgen::generate_simple_self_signed(vec!["secure.test".into()]).unwrap();
    let untrusted = Upstream::start_tls(
        "self-signed",
        &crate::common::tls::Leaf {
            cert: self_signed.cert.pem(),
            key: self_signed.signing_key.serialize_pem(),
        },
    );
    let yml = format!(
        "_format_version: \"3.0\"\nupstreams:\n{}{}services:\n\
         - name: verified\n  host: trusted-up\n  protocol: https\n  tls_verify: true\n  routes:\n  - paths: [/verified]\n\
         - name: wrong-name\n  url: https://{}\n  tls_verify: true\n  retries: 0\n  routes:\n  - paths: [/wrong-name]\n\
         - name: unverified\n  host: self-signed-up\n  protocol: https\n  routes:\n  - paths: [/unverified]\n\
         - name: self-signed\n  host: self-signed-up\n  protocol: https\n  tls_verify: true\n  tls_verify_depth: 1\n  retries: 0\n  routes:\n  - paths: [/self-signed]\n",
        named_upstream("trusted-up", &trusted),
        named_upstream("self-signed-up", &untrusted),
        trusted.addr,
    );
    let node = format!(
        "worker_processes = 1\nlua_ssl_trusted_certificate = {}\n",
        ca.write(certs.path()).display()
    );
    let sluice = Sluice::start(&yml, &node);
    let http = client();
    let status = |path: &str| http.get(sluice.url(path)).send().unwrap().status();

    assert_eq!(status("/verified"), 200);
    // The certificate names secure.test, not the IP address connected to.
    assert_eq!(status("/wrong-name"), 502);
    // Kong's default: no verification. The connection it leaves in the pool must not serve the
    // verified service (same peer, same name).
    assert_eq!(status("/unverified"), 200);
    let resp = http.get(sluice.url("/self-signed")).send().unwrap();
    assert_eq!(resp.status(), 502);
    let body: serde_json::Value = resp.json().unwrap();
    assert_eq!(
        body["message"],
        "An invalid response was received from the upstream server"
    );
    let log = sluice.error_log();
    let line = log
        .lines()
        .find(|l| l.contains(&format!("{}", untrusted.addr)) && l.contains("[error]"))
        .unwrap_or_else(|| panic!("no error line for the self-signed upstream:\n{log}"));
    assert!(
        line.contains(
            "SSL handshake with the upstream failed: invalid peer certificate: UnknownIssuer"
        ),
        "{line}"
    );
}

#[test]
fn check_names_the_certificate_setting_at_fault() {
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let check = |conf: &str| {
        let path = dir.path().join("sluice.conf");
        std::fs::write(&path, conf).unwrap();
        failed_check(&path)
    };
    let stderr = check(
        "proxy_listen = 127.0.0.1:0 ssl\nssl_cert = /nonexistent/server.crt\nssl_cert_key = /nonexistent/server.key\n",
    );
    assert!(
        stderr.contains(":2: ssl_cert: cannot read '/nonexistent/server.crt'")
            && stderr.contains(":3: ssl_cert_key: cannot read '/nonexistent/server.key'"),
        "{stderr}"
    );
    let stderr = check(&format!(
        "proxy_listen = 127.0.0.1:0 ssl\nssl_cert = {0}\nssl_cert_key = {0}\n",
        not_pem.display()
    ));
    assert!(
        stderr.contains(&format!(
            "ssl_cert: no certificate in '{}'",
            not_pem.display()
        )),
        "{stderr}"
    );
}

/// Kong's `certificates` and `snis`: the client's SNI picks the certificate (an exact name, then
/// a wildcard), any other name gets `ssl_cert`; a certificate that does not load fails
/// `sluice check`, named by its id.
#[test]
fn certificate_entities_are_served_by_sni() {
    let ca = TestCa::new();
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = ca.leaf(&["default.test"]).write(certs.path(), "server");
    let (exact, wild) = (ca.leaf(&["exact.test"]), ca.leaf(&["*.wild.test"]));
    let up = Upstream::start("up");
    let entities = format!(
        "certificates:\n- cert: {:?}\n  key: {:?}\n  snis: [exact.test]\n\
         - id: 0e9f3c8a-1111-4b5e-9c1d-000000000001\n  cert: {:?}\n  key: {:?}\n\
         snis:\n- name: \"*.wild.test\"\n  certificate: 0e9f3c8a-1111-4b5e-9c1d-000000000001\n",
        exact.cert, exact.key, wild.cert, wild.key
    );
    let yml = format!(
        "_format_version: \"3.0\"\nservices:\n- name: s\n  url: {}\n  routes:\n  - paths: [/]\n{entities}",
        up.url()
    );
    let sluice = Sluice::start(&yml, &ssl_node(&cert, &key));
    let ssl = sluice.proxy_ssl.expect("an ssl listener");
    let get = |name: &str| {
        client_trusting(ca.der(), Some((name, ssl)))
            .get(format!("https://{name}:{}/", ssl.port()))
            .send()
    };
    for name in ["exact.test", "a.wild.test", "b.wild.test", "default.test"] {
        assert_eq!(get(name).unwrap().status(), 200, "{name}");
    }
    let err = get("other.test").expect_err("other.test gets the default certificate");
    assert!(format!("{err:?}").contains("default.test"), "{err:?}");

    let bad = yml.replace(&format!("{:?}", wild.key), &format!("{:?}", exact.key));
    let conf = certs.path().join("sluice.conf");
    let kong_yml = certs.path().join("kong.yml");
    std::fs::write(&kong_yml, bad).unwrap();
    std::fs::write(
        &conf,
        format!("declarative_config = {}\n", kong_yml.display()),
    )
    .unwrap();
    let stderr = failed_check(&conf);
    assert!(
        stderr.contains(
            "certificate 0e9f3c8a-1111-4b5e-9c1d-000000000001: cert: the key does not fit"
        ),
        "{stderr}"
    );
}

/// A service presents its `client_certificate` (or else its upstream's) to an upstream that
/// demands one (mutual TLS),
/// and with `tls_verify` trusts exactly its `ca_certificates`, not `lua_ssl_trusted_certificate`.
/// Kept-alive connections are not shared between services that differ in these.
#[test]
fn services_present_client_certificates_and_trust_their_ca_certificates() {
    let (server_ca, client_ca) = (TestCa::new(), TestCa::new());
    let up = Upstream::start_mtls("mtls", &server_ca.leaf(&["secure.test"]), &client_ca);
    let gateway = client_ca.leaf(&["gateway.test"]);
    let yml = format!(
        "_format_version: \"3.0\"\nupstreams:\n{}{}  client_certificate: 0e9f3c8a-2222-4b5e-9c1d-000000000001\n\
         certificates:\n- id: 0e9f3c8a-2222-4b5e-9c1d-000000000001\n  cert: {:?}\n  key: {:?}\n\
         ca_certificates:\n- id: 0e9f3c8a-2222-4b5e-9c1d-0000000000ca\n  cert: {:?}\n\
         - id: 0e9f3c8a-2222-4b5e-9c1d-0000000000cb\n  cert: {:?}\n\
         services:\n\
         - name: mtls\n  host: up\n  protocol: https\n  client_certificate: 0e9f3c8a-2222-4b5e-9c1d-000000000001\n  routes:\n  - paths: [/mtls]\n\
         - name: anonymous\n  host: up\n  protocol: https\n  retries: 0\n  routes:\n  - paths: [/anonymous]\n\
         - name: by-upstream\n  host: up-with-cert\n  protocol: https\n  routes:\n  - paths: [/by-upstream]\n\
         - name: trusting\n  host: up\n  protocol: https\n  tls_verify: true\n  client_certificate: {{id: 0e9f3c8a-2222-4b5e-9c1d-000000000001}}\n  ca_certificates: [0e9f3c8a-2222-4b5e-9c1d-0000000000ca]\n  routes:\n  - paths: [/trusting]\n\
         - name: distrusting\n  host: up\n  protocol: https\n  tls_verify: true\n  retries: 0\n  client_certificate: 0e9f3c8a-2222-4b5e-9c1d-000000000001\n  ca_certificates: [0e9f3c8a-2222-4b5e-9c1d-0000000000cb]\n  routes:\n  - paths: [/distrusting]\n",
        named_upstream("up", &up),
        named_upstream("up-with-cert", &up),
        gateway.cert,
        gateway.key,
        server_ca.pem,
        client_ca.pem,
    );
    let sluice = Sluice::start(&yml, "worker_processes = 1\n");
    let http = client();
    let status = |path: &str| http.get(sluice.url(path)).send().unwrap().status();
    assert_eq!(status("/mtls"), 200);
    // The connection /mtls left in the pool has the client certificate: not for this service.
    assert_eq!(status("/anonymous"), 502);
    // A service without one uses its upstream's client_certificate.
    assert_eq!(status("/by-upstream"), 200);
    assert_eq!(status("/trusting"), 200);
    // The upstream's certificate is not issued by the one CA this service trusts.
    assert_eq!(status("/distrusting"), 502);
    assert_eq!(status("/mtls"), 200);
    let log = sluice.error_log();
    assert!(
        log.contains("SSL handshake with the upstream failed: invalid peer certificate"),
        "the distrusting service names why:\n{log}"
    );
}

/// `tls_verify_depth` as nginx's `proxy_ssl_verify_depth`: how many intermediate certificates
/// may stand between the upstream's certificate and a trusted CA.
#[test]
fn tls_verify_depth_limits_the_intermediate_certificates() {
    let root = TestCa::new();
    let intermediate = root.intermediate();
    let leaf = intermediate.leaf(&["secure.test"]);
    let chained = crate::common::tls::Leaf {
        cert: format!("{}{}", leaf.cert, intermediate.pem),
        key: leaf.key,
    };
    let up = Upstream::start_tls("chained", &chained);
    let service = |name: &str, depth: &str| {
        format!(
            "- name: {name}\n  host: up\n  protocol: https\n  tls_verify: true\n  retries: 0\n{depth}\
             \x20 ca_certificates: [0e9f3c8a-3333-4b5e-9c1d-0000000000ca]\n  routes:\n  - paths: [/{name}]\n"
        )
    };
    let yml = format!(
        "_format_version: \"3.0\"\nupstreams:\n{}\
         ca_certificates:\n- id: 0e9f3c8a-3333-4b5e-9c1d-0000000000ca\n  cert: {:?}\n\
         services:\n{}{}{}",
        named_upstream("up", &up),
        root.pem,
        service("none", "  tls_verify_depth: 0\n"),
        service("one", "  tls_verify_depth: 1\n"),
        service("unlimited", ""),
    );
    let sluice = Sluice::start(&yml, "worker_processes = 1\n");
    let http = client();
    let status = |path: &str| http.get(sluice.url(path)).send().unwrap().status();
    assert_eq!(status("/none"), 502);
    assert_eq!(status("/one"), 200);
    assert_eq!(status("/unlimited"), 200);
    let log = sluice.error_log();
    assert!(
        log.contains(
            "no chain to a trusted CA within 0 intermediate certificates (tls_verify_depth)"
        ),
        "{log}"
    );
}
