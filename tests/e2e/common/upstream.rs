//! Upstream servers on loopback: an echo server that reports what it received (over TLS, with the
//! SNI it got), with a few behaviours selected by the path's last segments (`/slow/<ms>`,
//! `/bytes/<n>`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;

use super::tls::{Leaf, TestCa};

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

/// An echo upstream running on its own thread for the life of the test process.
pub struct Upstream {
    pub addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
}

impl Upstream {
    /// Starts an echo server that names itself `name` in its answers.
    pub fn start(name: &'static str) -> Upstream {
        Upstream::serve(name, None)
    }

    /// An echo server speaking HTTPS with `leaf` as its certificate.
    pub fn start_tls(name: &'static str, leaf: &Leaf) -> Upstream {
        Upstream::start_tls_with(name, leaf, None)
    }

    /// [`start_tls`](Self::start_tls) that also requires a client certificate issued by
    /// `client_ca` (mutual TLS).
    pub fn start_mtls(name: &'static str, leaf: &Leaf, client_ca: &TestCa) -> Upstream {
        Upstream::start_tls_with(name, leaf, Some(client_ca))
    }

    fn start_tls_with(name: &'static str, leaf: &Leaf, client_ca: Option<&TestCa>) -> Upstream {
        let key = PemObject::from_pem_slice(leaf.key.as_bytes()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = match client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                roots.add(ca.der()).unwrap();
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .build()
                .unwrap();
                builder.with_client_cert_verifier(verifier)
            }
        };
        // The whole chain the PEM holds: the leaf, then any intermediates.
        let chain = CertificateDer::pem_slice_iter(leaf.cert.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let config = builder.with_single_cert(chain, key).unwrap();
        Upstream::serve(name, Some(TlsAcceptor::from(Arc::new(config))))
    }

    fn serve(name: &'static str, tls: Option<TlsAcceptor>) -> Upstream {
        let (tx, rx) = std::sync::mpsc::channel();
        let hits = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        let (counter, accepted) = (hits.clone(), connections.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                loop {
                    let (stream, _) = listener.accept().await.unwrap();
                    accepted.fetch_add(1, Ordering::SeqCst);
                    let (counter, tls) = (counter.clone(), tls.clone());
                    tokio::spawn(async move {
                        match tls {
                            None => echo_connection(stream, name, None, counter).await,
                            Some(acceptor) => {
                                if let Ok(stream) = acceptor.accept(stream).await {
                                    let sni = stream.get_ref().1.server_name().map(Arc::from);
                                    echo_connection(stream, name, sni, counter).await;
                                }
                            }
                        }
                    });
                }
            });
        });
        Upstream {
            addr: rx.recv().unwrap(),
            hits,
            connections,
        }
    }

    /// How many connections this upstream has accepted.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// How many requests have reached this upstream (counted when they arrive).
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

async fn echo_connection<S>(
    stream: S,
    name: &'static str,
    sni: Option<Arc<str>>,
    counter: Arc<AtomicUsize>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = service_fn(move |req| {
        counter.fetch_add(1, Ordering::SeqCst);
        respond(name, sni.clone(), req)
    });
    let _ = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), svc)
        .await;
}

/// Echoes the request; `sni` is what the client sent in its TLS handshake (`null` without TLS
/// or SNI).
async fn respond(
    name: &str,
    sni: Option<Arc<str>>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let segments: Vec<String> = req
        .uri()
        .path()
        .rsplit('/')
        .take(2)
        .map(str::to_owned)
        .collect();
    let arg = segments.first().and_then(|s| s.parse::<u64>().ok());
    match (segments.get(1).map(String::as_str), arg) {
        (Some("slow"), Some(ms)) => tokio::time::sleep(Duration::from_millis(ms)).await,
        (Some("bytes"), Some(n)) => return Ok(Response::new(stream_bytes(n))),
        _ => {}
    }
    let (parts, body) = req.into_parts();
    // Counts the body without keeping it, so huge uploads stay cheap here too.
    let mut body_len = 0u64;
    let mut body = body;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.map(|f| f.into_data()) {
            body_len += data.map_or(0, |d| d.len() as u64);
        }
    }
    // A header sent several times shows as its values joined with ", ".
    let headers: serde_json::Map<String, serde_json::Value> = parts
        .headers
        .keys()
        .map(|k| {
            let values: Vec<&str> = parts
                .headers
                .get_all(k)
                .iter()
                .map(|v| v.to_str().unwrap_or(""))
                .collect();
            (k.to_string(), serde_json::Value::from(values.join(", ")))
        })
        .collect();
    let echo = serde_json::json!({
        "server": name,
        "method": parts.method.as_str(),
        "uri": parts.uri.to_string(),
        "headers": headers,
        "body_len": body_len,
        "sni": sni.as_deref(),
    });
    let mut resp = Response::new(Full::new(Bytes::from(echo.to_string())).boxed());
    resp.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    resp.headers_mut()
        .insert("connection", "keep-alive".parse().unwrap());
    resp.headers_mut()
        .insert("x-upstream", name.parse().unwrap());
    Ok(resp)
}

/// `n` bytes in 64 KiB chunks, generated as they are sent.
fn stream_bytes(n: u64) -> Body {
    Generated {
        remaining: n,
        chunk: Bytes::from(vec![b'x'; 64 * 1024]),
    }
    .boxed()
}

struct Generated {
    remaining: u64,
    chunk: Bytes,
}

impl hyper::body::Body for Generated {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.remaining == 0 {
            return std::task::Poll::Ready(None);
        }
        let len = self.remaining.min(self.chunk.len() as u64);
        self.remaining -= len;
        std::task::Poll::Ready(Some(Ok(Frame::data(self.chunk.slice(..len as usize)))))
    }
}
