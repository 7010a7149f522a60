//! HTTP/2 from clients: h2 in ALPN and h2c on `http2` listeners next to HTTP/1.1, the same
//! proxying, plugins and errors as over HTTP/1.1, streamed bodies, many streams on one
//! connection, and reloads that lose no request.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use reqwest::Version;

use crate::common::http::{builder, client, echo, h2c_client, stream_both_ways, Response, Zeros};
use crate::common::load::reload_under_load;
use crate::common::tls::TestCa;
use crate::common::upstream::Upstream;
use crate::common::{wait_for, Sluice};

const LONG: Duration = Duration::from_secs(30);
const VIA_H2: &str = concat!("2 sluice/", env!("CARGO_PKG_VERSION"));
const VIA_H1: &str = concat!("1.1 sluice/", env!("CARGO_PKG_VERSION"));

/// Node config loading the Lua fixtures, enabling `plugins`.
fn lua_node(plugins: &str) -> String {
    format!(
        "plugins = {plugins}\nlua_package_path = {}\n",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/lua/?.lua;;")
    )
}

/// A service to `up` on `/` (sending the client's Host), and `extra` YAML after it (plugins).
fn service(up: &Upstream, extra: &str) -> String {
    format!(
        "_format_version: \"3.0\"\nservices:\n- name: s\n  url: {}\n  routes:\n  - paths: [/]\n    preserve_host: true\n{extra}",
        up.url()
    )
}

fn header(resp: &Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .map_or("<none>", |v| v.to_str().unwrap())
        .to_owned()
}

#[test]
fn h2_is_chosen_in_alpn_only_on_http2_listeners() {
    let (ca, certs) = (TestCa::new(), tempfile::tempdir().unwrap());
    let node = format!(
        "proxy_listen = 127.0.0.1:0 ssl http2, 127.0.0.1:0 ssl\n{}{}",
        ca.ssl_conf(certs.path(), &["127.0.0.1"]),
        lua_node("protocol")
    );
    let up = Upstream::start("up");
    let sluice = Sluice::start(&service(&up, "plugins:\n- name: protocol\n"), &node);
    let [h2_port, h1_port] = sluice.proxy_addrs(true)[..] else {
        panic!("two ssl listeners")
    };
    let https = ca.h2_client();
    let get = |at: SocketAddr, path: &str| {
        let url = format!("https://127.0.0.1:{}{path}", at.port());
        https.get(url).send().unwrap()
    };

    let resp = get(h2_port, "/h2?x=1");
    assert_eq!(resp.version(), Version::HTTP_2);
    assert_eq!(header(&resp, "x-http-version"), "2");
    assert_eq!(header(&resp, "x-client-protocol"), "https");
    assert_eq!(header(&resp, "x-server-protocol"), "HTTP/2.0");
    assert_eq!(
        header(&resp, "via"),
        VIA_H1,
        "the upstream's hop is HTTP/1.1"
    );
    let e = echo(resp);
    assert_eq!(e["uri"], "/h2?x=1");
    assert_eq!(
        e["headers"]["host"],
        format!("127.0.0.1:{}", h2_port.port())
    );
    assert_eq!(e["headers"]["x-forwarded-proto"], "https");
    assert_eq!(e["headers"]["via"], VIA_H2);

    // The same client, offering h2, gets HTTP/1.1 where the listener has no `http2`.
    let resp = get(h1_port, "/h1");
    assert_eq!(resp.version(), Version::HTTP_11);
    assert_eq!(header(&resp, "x-http-version"), "1.1");
    assert_eq!(echo(resp)["headers"]["via"], VIA_H1);
}

#[test]
fn h2c_and_http11_share_a_plaintext_http2_listener() {
    let up = Upstream::start("up");
    let node = format!(
        "proxy_listen = 127.0.0.1:0 http2, 127.0.0.1:0\nadmin_listen = 127.0.0.1:0 http2\n{}",
        lua_node("protocol")
    );
    let sluice = Sluice::start(&service(&up, "plugins:\n- name: protocol\n"), &node);
    let [both, http1_only] = sluice.proxy_addrs(false)[..] else {
        panic!("two plain listeners")
    };
    let h2c = h2c_client();

    let resp = h2c
        .get(format!("http://{both}/path?q=1"))
        .header("cookie", "a=1")
        .header("cookie", "b=2")
        .send()
        .unwrap();
    assert_eq!(resp.version(), Version::HTTP_2);
    // What the `protocol` fixture saw.
    let seen = [
        ("x-http-version", "2"),
        ("x-http-version-type", "number"),
        ("x-ngx-http-version", "2"),
        ("x-server-protocol", "HTTP/2.0"),
        ("x-client-protocol", "http"),
        ("x-host", "127.0.0.1"),
        ("x-path-with-query", "/path?q=1"),
    ];
    for (name, value) in seen {
        assert_eq!(header(&resp, name), value, "{name}");
    }
    let e = echo(resp);
    assert_eq!(e["uri"], "/path?q=1");
    assert_eq!(e["headers"]["host"], both.to_string());
    // h2 may split Cookie; HTTP/1.1 wants one.
    assert_eq!(e["headers"]["cookie"], "a=1; b=2");
    assert_eq!(e["headers"]["x-forwarded-proto"], "http");
    assert_eq!(e["headers"]["x-forwarded-host"], "127.0.0.1");
    assert_eq!(e["headers"]["x-forwarded-port"], both.port().to_string());
    assert_eq!(e["headers"]["via"], VIA_H2);

    // HTTP/1.1 on the same port, unchanged.
    let resp = client().get(format!("http://{both}/path")).send().unwrap();
    assert_eq!(resp.version(), Version::HTTP_11);
    assert_eq!(header(&resp, "x-http-version"), "1.1");
    assert_eq!(header(&resp, "x-server-protocol"), "HTTP/1.1");
    assert_eq!(echo(resp)["headers"]["via"], VIA_H1);

    // A listener without `http2` does not speak it.
    assert!(h2c.get(format!("http://{http1_only}/")).send().is_err());
    let resp = client()
        .get(format!("http://{http1_only}/"))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);

    // The Admin API shares the code.
    let resp = h2c
        .get(format!("http://{}/status", sluice.admin))
        .send()
        .unwrap();
    assert_eq!(resp.version(), Version::HTTP_2);
    assert_eq!(resp.status(), 200);

    let log = sluice.prefix().join("logs/access.log");
    wait_for("both access log lines", LONG, || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.contains("\"GET /path?q=1 HTTP/2.0\" 200")
            && text.contains("\"GET /path HTTP/1.1\" 200")
    });
}

#[test]
fn errors_and_connection_headers_reach_h2_clients_as_over_http11() {
    let up = Upstream::start("up");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let extra = format!(
        "- name: down\n  url: http://127.0.0.1:{closed_port}\n  retries: 0\n  routes:\n  - paths: [/down]\n\
         - name: slow\n  url: {}\n  read_timeout: 200\n  routes:\n  - paths: [/slow]\n    strip_path: false\n\
         - name: secure\n  url: {0}\n  routes:\n  - paths: [/secure]\n    protocols: [https]\n\
         - name: hops\n  url: {0}\n  routes:\n  - name: hops\n    paths: [/hops]\n\
         plugins:\n- name: protocol\n  route: hops\n  config:\n    hop_by_hop: true\n",
        up.url()
    );
    let yml = format!(
        "_format_version: \"3.0\"\nservices:\n- name: s\n  url: {}\n  routes:\n  - hosts: [known.test]\n{extra}",
        up.url()
    );
    let node = format!("proxy_listen = 127.0.0.1:0 http2\n{}", lua_node("protocol"));
    let sluice = Sluice::start(&yml, &node);
    let h2c = h2c_client();
    let get = |path: &str| {
        let resp = h2c.get(sluice.url(path)).send().unwrap();
        assert_eq!(resp.version(), Version::HTTP_2);
        resp
    };
    let message = |resp: Response| resp.json::<serde_json::Value>().unwrap()["message"].clone();

    let resp = get("/nowhere");
    assert_eq!(resp.status(), 404);
    assert_eq!(message(resp), "no Route matched with those values");
    let resp = get("/down");
    assert_eq!(resp.status(), 502);
    assert_eq!(
        message(resp),
        "An invalid response was received from the upstream server"
    );
    let resp = get("/slow/2000");
    assert_eq!(resp.status(), 504);
    assert_eq!(message(resp), "The upstream server is timing out");

    // Kong's 426 sets Connection and Upgrade, which HTTP/2 has no place for.
    let resp = get("/secure");
    assert_eq!(resp.status(), 426);
    assert_eq!(header(&resp, "upgrade"), "<none>");
    assert_eq!(message(resp), "Please use HTTPS protocol");

    // Connection-specific headers a plugin sets are dropped, with what Connection names.
    let resp = get("/hops");
    assert_eq!(resp.status(), 200);
    for name in [
        "connection",
        "keep-alive",
        "upgrade",
        "proxy-connection",
        "transfer-encoding",
        "x-connection-only",
    ] {
        assert_eq!(header(&resp, name), "<none>", "{name}");
    }
    assert_eq!(echo(resp)["server"], "up");

    // A header list over the HTTP/1.1 head limit gets 431 too.
    let resp = h2c
        .get(sluice.url("/"))
        .header("x-big", "x".repeat(40 * 1024))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 431);
    // The connection still serves.
    assert_eq!(get("/nowhere").status(), 404);
}

#[test]
fn bodies_stream_both_ways_over_h2() {
    const SIZE: u64 = 64 << 20;
    let up = Upstream::start("up");
    let sluice = Sluice::start(&service(&up, ""), "proxy_listen = 127.0.0.1:0 http2\n");
    let h2c = builder()
        .http2_prior_knowledge()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();

    stream_both_ways(&h2c, &sluice.url(""), SIZE, Version::HTTP_2);
    // Without a length: DATA frames until END_STREAM, sent upstream chunked.
    let streamed = h2c
        .post(sluice.url("/upload"))
        .body(reqwest::blocking::Body::new(Zeros(SIZE)))
        .send()
        .unwrap();
    let e = echo(streamed);
    assert_eq!(e["body_len"], SIZE);
    assert_eq!(e["headers"]["transfer-encoding"], "chunked");
}

#[test]
fn one_connection_carries_many_streams_up_to_nginx_s_limit() {
    const STREAMS: usize = 150;
    let up = Upstream::start("up");
    let sluice = Sluice::start(
        &service(&up, "plugins:\n- name: conn-vars\n"),
        &format!(
            "proxy_listen = 127.0.0.1:0 http2\nworker_processes = 1\n{}",
            lua_node("conn-vars")
        ),
    );
    let h2c = h2c_client();
    let first = h2c.get(sluice.url("/")).send().unwrap();
    let connection = header(&first, "x-connection");
    let before = up.hits();

    let requests: Vec<_> = (0..STREAMS)
        .map(|_| {
            let (h2c, url) = (h2c.clone(), sluice.url("/slow/3000"));
            std::thread::spawn(move || h2c.get(url).send().unwrap())
        })
        .collect();
    // nginx's default of 128 concurrent streams: the rest wait for a free one.
    wait_for("128 streams at the upstream", LONG, || {
        up.hits() - before >= 128
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(up.hits() - before, 128);
    for r in requests {
        let resp = r.join().unwrap();
        assert_eq!(resp.version(), Version::HTTP_2);
        assert_eq!(resp.status(), 200);
        assert_eq!(header(&resp, "x-connection"), connection, "one connection");
    }
    assert_eq!(up.hits() - before, STREAMS);
}

/// Reads one HTTP/2 frame: its type and flags.
fn read_frame(s: &mut TcpStream) -> (u8, u8) {
    let mut head = [0u8; 9];
    s.read_exact(&mut head).unwrap();
    let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    s.read_exact(&mut vec![0; len]).unwrap();
    (head[3], head[4])
}

#[test]
fn quit_sends_goaway_to_h2_connections_at_once() {
    const SETTINGS: u8 = 4;
    const GOAWAY: u8 = 7;
    let up = Upstream::start("up");
    let mut sluice = Sluice::start(
        &service(&up, ""),
        "proxy_listen = 127.0.0.1:0 http2\nworker_processes = 1\n",
    );
    let mut s = TcpStream::connect(sluice.proxy).unwrap();
    s.set_read_timeout(Some(LONG)).unwrap();
    // The preface, empty SETTINGS, and `GET /` on stream 1 (HPACK: static table entries and
    // `:authority: x`), ending the stream.
    s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .unwrap();
    s.write_all(b"\0\0\x06\x01\x05\0\0\0\x01\x82\x86\x84\x41\x01x")
        .unwrap();
    // Until the response's end (a frame of stream 1 with END_STREAM).
    loop {
        let (kind, flags) = read_frame(&mut s);
        if kind != SETTINGS && flags & 1 == 1 {
            break;
        }
    }
    sluice.signal(Signal::SIGQUIT);
    let signalled = Instant::now();
    while read_frame(&mut s).0 != GOAWAY {}
    // HTTP/1.1 keep-alive connections are closed only after a second of grace; GOAWAY tells
    // HTTP/2 clients to move on as the drain starts.
    assert!(signalled.elapsed() < Duration::from_secs(1));
    drop(s);
    assert_eq!(sluice.wait_exit(LONG), 0);
}

#[test]
fn reload_under_h2_load_loses_no_request() {
    let (old_up, new_up) = (Upstream::start("old"), Upstream::start("new"));
    let sluice = Sluice::start(&service(&old_up, ""), "proxy_listen = 127.0.0.1:0 http2\n");
    // Each thread's client keeps one connection, a stream per request; GOAWAY moves it on.
    reload_under_load(&sluice, "/load", &service(&new_up, ""), h2c_client);
}
