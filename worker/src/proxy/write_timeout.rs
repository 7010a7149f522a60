//! A service's `write_timeout` on an upstream connection, as nginx's `proxy_send_timeout`: a write
//! fails with `TimedOut` when the peer has accepted nothing for that long. Only stalls count, not
//! the whole send, and the timer is reused, so a request costs no allocation.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// A stream with a stall timeout on writes. The timeout is shared with the pooled connection's
/// owner, which sets it to the service's `write_timeout` before each request.
pub struct WriteTimeout<S> {
    inner: S,
    timeout: Rc<Cell<Duration>>,
    timer: Pin<Box<Sleep>>,
    /// The timer runs: the last write attempt would have blocked.
    stalled: bool,
}

impl<S> WriteTimeout<S> {
    pub fn new(inner: S, timeout: Rc<Cell<Duration>>) -> WriteTimeout<S> {
        WriteTimeout {
            inner,
            timeout,
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
            stalled: false,
        }
    }

    /// Passes a finished write through; on a blocked one, starts (or checks) the stall timer.
    fn watch<T>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if r.is_ready() {
            self.stalled = false;
            return r;
        }
        if !self.stalled {
            self.stalled = true;
            let deadline = Instant::now() + self.timeout.get();
            self.timer.as_mut().reset(deadline);
        }
        ready!(self.timer.as_mut().poll(cx));
        Poll::Ready(Err(io::ErrorKind::TimedOut.into()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteTimeout<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(cx, r)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(cx, r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test(start_paused = true)]
    async fn a_stalled_write_times_out_and_a_flowing_one_does_not() {
        let (near, mut far) = tokio::io::duplex(16);
        let timeout = Rc::new(Cell::new(Duration::from_millis(100)));
        let mut stream = WriteTimeout::new(near, timeout.clone());
        stream.write_all(b"0123456789abcdef").await.unwrap();
        // The peer reads now and then, faster than the timeout: the writes go through.
        let drain = async {
            let mut buf = [0u8; 16];
            for _ in 0..4 {
                tokio::time::sleep(Duration::from_millis(60)).await;
                tokio::io::AsyncReadExt::read_exact(&mut far, &mut buf)
                    .await
                    .unwrap();
            }
        };
        let (written, ()) = tokio::join!(stream.write_all(&[1u8; 48]), drain);
        written.unwrap();
        // Nobody reads any more: the write fails after the timeout.
        let started = Instant::now();
        let e = stream.write_all(&[1u8; 32]).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_millis(100));
    }
}
