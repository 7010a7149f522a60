//! Proxying behaviour: forwarding headers, error responses, limits, streaming.

use std::io::{Read, Write};
use std::time::Duration;

use crate::common::http::{client, echo, get, raw, stream_both_ways};
use crate::common::upstream::Upstream;
use crate::common::Sluice;

fn one_service(url: &str, service_extra: &str) -> String {
    format!(
        "_format_version: \"3.0\"\nservices:\n- name: s\n  url: {url}\n{service_extra}  routes:\n  - name: r\n    paths: [/]\n"
    )
}

#[test]
fn forwarding_headers_and_hop_by_hop_handling() {
    let up = Upstream::start("up");
    let sluice = Sluice::start(&one_service(&up.url(), ""), "");
    let resp = client()
        .get(sluice.url("/p/q?x=1"))
        .header("host", "api.example.com:8443")
        .header("x-forwarded-for", "203.0.113.7")
        .header("x-forwarded-proto", "https")
        .header("connection", "keep-alive, x-drop-me")
        .header("x-drop-me", "1")
        .send()
        .unwrap();
    let via = resp
        .headers()
        .get("via")
        .map(|v| v.to_str().unwrap().to_owned());
    assert!(resp.headers().contains_key("x-kong-upstream-latency"));
    let e = echo(resp);
    let h = &e["headers"];
    assert_eq!(h["x-forwarded-for"], "203.0.113.7, 127.0.0.1");
    assert_eq!(h["x-real-ip"], "127.0.0.1");
    // The client is not a trusted proxy: its X-Forwarded-Proto is replaced.
    assert_eq!(h["x-forwarded-proto"], "http");
    assert_eq!(h["x-forwarded-host"], "api.example.com");
    assert_eq!(h["x-forwarded-port"], sluice.proxy.port().to_string());
    assert_eq!(h["x-forwarded-path"], "/p/q");
    assert!(h["via"].as_str().unwrap().contains("sluice"));
    assert!(
        h.get("x-drop-me").is_none(),
        "a header named by Connection must not be forwarded"
    );
    assert_eq!(e["uri"], "/p/q?x=1");
    assert!(via.unwrap().contains("sluice"));
}

#[test]
fn upstream_errors_are_502_and_504() {
    // A port nothing listens on: bound, then released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let up = Upstream::start("slow");
    let yml = format!(
        "_format_version: \"3.0\"\nservices:\n- name: down\n  url: http://{closed}\n  retries: 1\n  routes:\n  - paths: [/down]\n\
         - name: slow\n  url: {}\n  read_timeout: 300\n  routes:\n  - paths: [/slow]\n    strip_path: false\n",
        up.url()
    );
    let sluice = Sluice::start(&yml, "");
    let resp = get(&sluice.url("/down"));
    assert_eq!(resp.status(), 502);
    assert_eq!(
        resp.text().unwrap(),
        r#"{"message":"An invalid response was received from the upstream server"}"#
    );
    let resp = get(&sluice.url("/slow/3000"));
    assert_eq!(resp.status(), 504);
    assert_eq!(
        resp.text().unwrap(),
        r#"{"message":"The upstream server is timing out"}"#
    );
    // The worker is fine afterwards.
    assert_eq!(get(&sluice.url("/slow/1")).status(), 200);
}

#[test]
fn write_timeout_gives_504_when_the_upstream_stops_reading() {
    // Accepts connections and never reads from them.
    let stuck = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let stuck_addr = stuck.local_addr().unwrap();
    std::thread::spawn(move || {
        let held: Vec<_> = stuck.incoming().collect();
        drop(held);
    });
    let yml = one_service(
        &format!("http://{stuck_addr}"),
        "  write_timeout: 300
  read_timeout: 60000
  retries: 0
",
    );
    let sluice = Sluice::start(&yml, "");
    // A body far larger than the socket buffers between the gateway and the upstream.
    const LEN: usize = 256 << 20;
    let mut conn = std::net::TcpStream::connect(sluice.proxy).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    conn.write_all(
        format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {LEN}\r\n\r\n").as_bytes(),
    )
    .unwrap();
    let mut body = conn.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'x'; 1 << 20];
        // Ends with an error once the gateway has answered and closed.
        (0..LEN / chunk.len()).try_for_each(|_| body.write_all(&chunk))
    });
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let _ = conn.shutdown(std::net::Shutdown::Both);
    assert!(
        writer.join().unwrap().is_err(),
        "the body cannot have been sent whole"
    );
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 504"), "got: {head}");
    assert!(sluice.error_log().contains(&format!(
        "upstream timed out while proxying to upstream {stuck_addr}"
    )));
}

#[test]
fn malformed_and_oversized_requests_are_refused() {
    let up = Upstream::start("up");
    let sluice = Sluice::start(&one_service(&up.url(), ""), "");
    let bad = raw(
        sluice.proxy,
        b"GET / HTTP/1.1\r\nHost: x\r\nthis is not a header\r\n\r\n",
    );
    assert!(bad.starts_with("HTTP/1.1 400"), "got: {bad}");
    let huge = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let resp = raw(sluice.proxy, huge.as_bytes());
    assert!(
        resp.starts_with("HTTP/1.1 431"),
        "got: {}",
        &resp[..resp.len().min(100)]
    );
    assert_eq!(get(&sluice.url("/ok")).status(), 200);
}

/// Peak resident memory of each worker, in KiB.
fn worker_peak_kib(sluice: &Sluice) -> Vec<u64> {
    sluice
        .workers()
        .iter()
        .map(|pid| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
            let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
            line.split_whitespace().nth(1).unwrap().parse().unwrap()
        })
        .collect()
}

#[test]
fn one_gib_streams_both_ways_with_flat_memory() {
    const GIB: u64 = 1 << 30;
    let up = Upstream::start("up");
    let sluice = Sluice::start(&one_service(&up.url(), ""), "");
    let http = crate::common::http::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();

    stream_both_ways(&http, &sluice.url(""), GIB, reqwest::Version::HTTP_11);

    for kib in worker_peak_kib(&sluice) {
        assert!(
            kib < 64 * 1024,
            "a worker peaked at {kib} KiB: bodies are being buffered"
        );
    }
}

#[test]
fn access_log_has_a_line_per_request_with_upstream_status_and_latency() {
    let up = Upstream::start("up");
    let sluice = Sluice::start(&one_service(&up.url(), ""), "");
    assert_eq!(get(&sluice.url("/logged?x=1")).status(), 200);
    let path = sluice.prefix().join("logs/access.log");
    crate::common::wait_for("the access log line", Duration::from_secs(10), || {
        std::fs::read_to_string(&path).is_ok_and(|t| t.contains("\"GET /logged?x=1 HTTP/1.1\" 200"))
    });
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("upstream_status=200 upstream_time=0."),
        "{text}"
    );
}
