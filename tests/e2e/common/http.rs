//! Talking HTTP to the gateway: a keep-alive client for ordinary requests and raw bytes on a
//! socket for the malformed ones.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

pub use reqwest::blocking::{Client, ClientBuilder, Response};

/// Every client of the tests starts here: no proxy from the environment, a 30 s timeout, rustls
/// on `ring` for https.
pub fn builder() -> ClientBuilder {
    // Already installed by an earlier client: fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
}

pub fn client() -> Client {
    builder().build().unwrap()
}

/// An HTTP/2 client without TLS (h2c with prior knowledge): one connection, many streams.
pub fn h2c_client() -> Client {
    builder().http2_prior_knowledge().build().unwrap()
}

/// A fresh connection per request, so requests spread over the workers' sockets.
pub fn fresh_client() -> Client {
    builder().pool_max_idle_per_host(0).build().unwrap()
}

pub fn get(url: &str) -> Response {
    client().get(url).send().unwrap()
}

/// The body of a response made by the echo upstream, as JSON.
pub fn echo(resp: Response) -> serde_json::Value {
    assert_eq!(resp.status(), 200, "expected the echo upstream to answer");
    resp.json().unwrap()
}

/// Sends `bytes` as they are and returns everything the gateway answers until it closes.
pub fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(bytes).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Streams `size` bytes up to the echo upstream behind `base` (`http://host:port`) with a
/// Content-Length, and as many down from it; both ways in `version`.
pub fn stream_both_ways(http: &Client, base: &str, size: u64, version: reqwest::Version) {
    let upload = http
        .post(format!("{base}/upload"))
        .body(reqwest::blocking::Body::sized(Zeros(size), size))
        .send()
        .unwrap();
    assert_eq!(upload.version(), version);
    assert_eq!(echo(upload)["body_len"], size);

    let mut download = http.get(format!("{base}/bytes/{size}")).send().unwrap();
    assert_eq!(download.version(), version);
    assert_eq!(download.status(), 200);
    let received = std::io::copy(&mut download, &mut std::io::sink()).unwrap();
    assert_eq!(received, size);
}

/// Zeros, produced as they are read: a request body of any size without the memory.
pub struct Zeros(pub u64);

impl Read for Zeros {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (buf.len() as u64).min(self.0) as usize;
        buf[..n].fill(0);
        self.0 -= n as u64;
        Ok(n)
    }
}
