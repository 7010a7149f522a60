//! The bodies that flow through the proxy, in both directions, always streamed.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::Sleep;

/// Why a body stream stopped early.
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// A body the gateway sends: nothing, bytes it made itself, or a peer's body passed through.
pub enum Body {
    Empty,
    Full(Option<Bytes>),
    Stream(Incoming),
}

impl Body {
    pub fn full(bytes: impl Into<Bytes>) -> Body {
        Body::Full(Some(bytes.into()))
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match self.get_mut() {
            Body::Empty => Poll::Ready(None),
            Body::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Body::Stream(incoming) => Pin::new(incoming)
                .poll_frame(cx)
                .map(|f| f.map(|r| r.map_err(Into::into))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Empty => true,
            Body::Full(bytes) => bytes.is_none(),
            Body::Stream(incoming) => incoming.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Empty => SizeHint::with_exact(0),
            Body::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Body::Stream(incoming) => incoming.size_hint(),
        }
    }
}

/// Runs once when a response body is finished or abandoned, with the bytes sent (access log).
pub trait OnEnd {
    fn on_end(self: Box<Self>, bytes_sent: u64);
}

/// The body sent to the client: enforces the upstream read timeout between two reads (nginx's
/// `proxy_read_timeout` semantics) and reports the end of the response for logging.
pub struct ResponseBody {
    inner: Body,
    read_timeout: Option<Duration>,
    sleep: Option<Pin<Box<Sleep>>>,
    sent: u64,
    on_end: Option<Box<dyn OnEnd>>,
}

impl ResponseBody {
    pub fn new(inner: Body) -> ResponseBody {
        ResponseBody {
            inner,
            read_timeout: None,
            sleep: None,
            sent: 0,
            on_end: None,
        }
    }

    pub fn with_read_timeout(mut self, timeout: Duration) -> ResponseBody {
        self.read_timeout = Some(timeout);
        self
    }

    pub fn on_end(mut self, hook: Box<dyn OnEnd>) -> ResponseBody {
        self.on_end = Some(hook);
        self
    }

    fn finish(&mut self) {
        if let Some(hook) = self.on_end.take() {
            hook.on_end(self.sent);
        }
    }
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.sleep = None;
                match &frame {
                    Some(Ok(f)) => {
                        this.sent += f.data_ref().map_or(0, |d| d.len() as u64);
                        if this.inner.is_end_stream() {
                            this.finish();
                        }
                    }
                    Some(Err(_)) => this.finish(),
                    None => this.finish(),
                }
                Poll::Ready(frame)
            }
            Poll::Pending => {
                let Some(timeout) = this.read_timeout else {
                    return Poll::Pending;
                };
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                ready!(sleep.as_mut().poll(cx));
                this.sleep = None;
                this.finish();
                Poll::Ready(Some(Err(
                    "upstream timed out reading the response body".into()
                )))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        self.finish();
    }
}
