//! A worker's small pool of connections to one plugin server. A lease holds a connection
//! for a whole event conversation; one slow conversation only holds its own connection.

use std::cell::RefCell;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::conn::Conn;
use crate::error::Error;

#[derive(Debug)]
pub(crate) struct Pool {
    path: PathBuf,
    idle: RefCell<Vec<Conn>>,
    max_idle: usize,
    /// Bounds the connections leased at once.
    open: Semaphore,
    connect_timeout: Duration,
}

/// A leased connection. Dropping it closes the connection: only [`Lease::release`]
/// returns it to the pool, after a conversation ended cleanly.
#[derive(Debug)]
pub(crate) struct Lease<'a> {
    pool: &'a Pool,
    pub(crate) conn: Conn,
    _permit: SemaphorePermit<'a>,
}

/// What a checkout found.
#[derive(Debug)]
pub(crate) struct Checkout<'a> {
    pub(crate) lease: Lease<'a>,
    /// Idle connections had been closed by the server: it died or restarted.
    pub(crate) saw_dead: bool,
}

impl Pool {
    pub(crate) fn new(
        path: PathBuf,
        max_open: usize,
        max_idle: usize,
        connect_timeout: Duration,
    ) -> Pool {
        Pool {
            path,
            idle: RefCell::new(Vec::new()),
            max_idle,
            open: Semaphore::new(max_open.max(1)),
            connect_timeout,
        }
    }

    /// Leases an idle live connection, or opens one. Waits at most `wait` for a free slot.
    pub(crate) async fn checkout(&self, wait: Duration) -> Result<Checkout<'_>, Error> {
        // A free slot needs no timer; the semaphore is never closed, so only the wait can fail.
        let permit = match self.open.try_acquire() {
            Ok(permit) => permit,
            Err(_) => match tokio::time::timeout(wait, self.open.acquire()).await {
                Ok(Ok(permit)) => permit,
                _ => {
                    return Err(Error::Timeout {
                        method: "a free plugin server connection".into(),
                        after: wait,
                    })
                }
            },
        };
        let mut saw_dead = false;
        loop {
            let conn = self.idle.borrow_mut().pop();
            match conn {
                Some(conn) if conn.is_idle_alive() => {
                    return Ok(self.lease(conn, permit, saw_dead));
                }
                Some(_dead) => saw_dead = true,
                None => break,
            }
        }
        let conn = Conn::connect(&self.path, self.connect_timeout).await?;
        Ok(self.lease(conn, permit, saw_dead))
    }

    fn lease<'a>(
        &'a self,
        conn: Conn,
        permit: SemaphorePermit<'a>,
        saw_dead: bool,
    ) -> Checkout<'a> {
        Checkout {
            lease: Lease {
                pool: self,
                conn,
                _permit: permit,
            },
            saw_dead,
        }
    }

    /// Closes every idle connection (after a server restart they all point at the dead one).
    pub(crate) fn clear_idle(&self) {
        self.idle.borrow_mut().clear();
    }

    #[cfg(test)]
    pub(crate) fn idle_count(&self) -> usize {
        self.idle.borrow().len()
    }
}

impl Lease<'_> {
    /// Returns the connection for reuse; nothing may be outstanding on it.
    pub(crate) fn release(self) {
        let mut idle = self.pool.idle.borrow_mut();
        if idle.len() < self.pool.max_idle {
            idle.push(self.conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::UnixListener;

    fn temp_socket(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sluice-ps-pool-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let _ = std::fs::remove_file(&path);
        path
    }

    #[tokio::test]
    async fn idle_connections_are_reused_and_dead_ones_noticed() {
        let path = temp_socket("reuse");
        let listener = UnixListener::bind(&path).unwrap();
        let pool = Pool::new(path.clone(), 4, 2, Duration::from_secs(1));

        let first = pool.checkout(Duration::from_secs(1)).await.unwrap();
        assert!(!first.saw_dead);
        let (server_side, _) = listener.accept().await.unwrap();
        first.lease.release();
        assert_eq!(pool.idle_count(), 1);

        // Alive: the same connection comes back, no new accept needed.
        let again = pool.checkout(Duration::from_secs(1)).await.unwrap();
        assert!(!again.saw_dead);
        again.lease.release();

        // The server closes it while idle: the next checkout notices and reconnects.
        drop(server_side);
        assert!(!pool.idle.borrow()[0].is_idle_alive());
        let fresh = pool.checkout(Duration::from_secs(1)).await.unwrap();
        assert!(fresh.saw_dead);
        let _ = listener.accept().await.unwrap();
        drop(fresh);
        assert_eq!(
            pool.idle_count(),
            0,
            "a dropped lease is closed, not pooled"
        );
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[tokio::test]
    async fn checkout_waits_for_a_slot_with_a_bound() {
        let path = temp_socket("bound");
        let _listener = UnixListener::bind(&path).unwrap();
        let pool = Pool::new(path.clone(), 1, 1, Duration::from_secs(1));
        let held = pool.checkout(Duration::from_secs(1)).await.unwrap();
        let err = pool.checkout(Duration::from_millis(50)).await.unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err}");
        drop(held);
        assert!(pool.checkout(Duration::from_millis(50)).await.is_ok());
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[tokio::test]
    async fn unreachable_socket_fails_fast() {
        let path = temp_socket("absent");
        let pool = Pool::new(path.clone(), 1, 1, Duration::from_secs(1));
        let err = pool.checkout(Duration::from_secs(1)).await.unwrap_err();
        assert!(matches!(err, Error::Connect { .. }), "{err}");
        assert!(err.to_string().contains("s.sock"), "{err}");
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
