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
/// Rewrites the body chunk by chunk (`body_filter`): gets each chunk and whether it is the last,
/// returns what to send instead (possibly nothing).
pub type Filter = Box<dyn FnMut(Bytes, bool) -> Filtered>;

/// What a [`Filter`] made of a chunk: at once, or once a plugin server has answered.
pub enum Filtered {
    Now(Bytes),
    Later(FilterWork),
}

/// A filter's work on one chunk, resolving to what to send.
pub type FilterWork = Pin<Box<dyn Future<Output = Bytes>>>;

pub struct ResponseBody {
    inner: Body,
    read_timeout: Option<Duration>,
    sleep: Option<Pin<Box<Sleep>>>,
    sent: u64,
    on_end: Vec<Box<dyn OnEnd>>,
    filter: Option<Filter>,
    /// The filter has seen the last chunk.
    filtered_eof: bool,
    /// A chunk the filter is still working on, and whether it is the last.
    pending: Option<(FilterWork, bool)>,
}

impl ResponseBody {
    pub fn new(inner: Body) -> ResponseBody {
        ResponseBody {
            inner,
            read_timeout: None,
            sleep: None,
            sent: 0,
            on_end: Vec::new(),
            filter: None,
            filtered_eof: false,
            pending: None,
        }
    }

    pub fn with_read_timeout(mut self, timeout: Duration) -> ResponseBody {
        self.read_timeout = Some(timeout);
        self
    }

    /// Adds a hook run once the body is done (hooks run in the order added).
    pub fn on_end(mut self, hook: Box<dyn OnEnd>) -> ResponseBody {
        self.on_end.push(hook);
        self
    }

    pub fn with_filter(mut self, filter: Filter) -> ResponseBody {
        self.filter = Some(filter);
        self
    }

    fn finish(&mut self) {
        for hook in self.on_end.drain(..) {
            hook.on_end(self.sent);
        }
    }

    /// Counts what is sent and runs the end hooks after the last frame (or an error).
    fn sending(
        &mut self,
        frame: Option<Result<Frame<Bytes>, BodyError>>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        use http_body::Body as _;
        match &frame {
            Some(Ok(f)) => {
                self.sent += f.data_ref().map_or(0, |d| d.len() as u64);
                if self.is_end_stream() {
                    self.finish();
                }
            }
            _ => self.finish(),
        }
        Poll::Ready(frame)
    }

    /// Passes a data chunk through the filter, if any; `None` while the filter works on it.
    fn filtered(&mut self, data: Bytes, eof: bool) -> Option<Bytes> {
        let Some(filter) = &mut self.filter else {
            return Some(data);
        };
        self.filtered_eof |= eof;
        match filter(data, eof) {
            Filtered::Now(data) => Some(data),
            Filtered::Later(work) => {
                self.pending = Some((work, eof));
                None
            }
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
        loop {
            // A filtered chunk: what to send and whether it is the last.
            let (data, eof) = if let Some((work, eof)) = &mut this.pending {
                let data = ready!(work.as_mut().poll(cx));
                let eof = *eof;
                this.pending = None;
                (data, eof)
            } else {
                let frame = match Pin::new(&mut this.inner).poll_frame(cx) {
                    Poll::Ready(frame) => frame,
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
                        return Poll::Ready(Some(Err(
                            "upstream timed out reading the response body".into(),
                        )));
                    }
                };
                this.sleep = None;
                match frame {
                    Some(Ok(frame)) => match frame.into_data() {
                        Ok(data) => {
                            let eof = this.inner.is_end_stream();
                            match this.filtered(data, eof) {
                                Some(data) => (data, eof),
                                None => continue,
                            }
                        }
                        Err(trailers) => return this.sending(Some(Ok(trailers))),
                    },
                    None if this.filter.is_some() && !this.filtered_eof => {
                        match this.filtered(Bytes::new(), true) {
                            Some(data) => (data, true),
                            None => continue,
                        }
                    }
                    other => return this.sending(other),
                }
            };
            if data.is_empty() && !eof {
                continue;
            }
            let frame = (!data.is_empty()).then(|| Ok(Frame::data(data)));
            return this.sending(frame);
        }
    }

    fn is_end_stream(&self) -> bool {
        self.pending.is_none()
            && self.inner.is_end_stream()
            && (self.filter.is_none() || self.filtered_eof)
    }

    fn size_hint(&self) -> SizeHint {
        if self.filter.is_some() {
            return SizeHint::default();
        }
        self.inner.size_hint()
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        self.finish();
    }
}
