//! Listening sockets, bound by the master: one `SO_REUSEPORT` socket per worker slot for each
//! address (nginx's `reuseport`), so slot i always serves socket i and a respawned or reloaded
//! worker picks up the same accept queue.

use std::io;
use std::net::{SocketAddr, TcpListener};

use sluice_conf::Listen;
use sluice_worker::ListenKind;
use socket2::{Domain, Protocol, Socket, Type};

/// nginx's default `backlog` on Linux.
const BACKLOG: i32 = 511;

/// One configured address and its per-slot sockets.
pub struct ListenGroup {
    pub kind: ListenKind,
    /// The address as configured (port 0 means "pick one", then every slot shares the port).
    pub configured: SocketAddr,
    /// The address actually bound.
    pub local: SocketAddr,
    /// `ssl` and `http2`, as the current config says (a reload may change them on the same
    /// socket).
    pub ssl: bool,
    pub http2: bool,
    pub sockets: Vec<TcpListener>,
}

impl ListenGroup {
    pub fn bind(kind: ListenKind, listen: &Listen, slots: usize) -> io::Result<ListenGroup> {
        let first = bind_one(listen.addr)?;
        let local = first.local_addr()?;
        let mut group = ListenGroup {
            kind,
            configured: listen.addr,
            local,
            ssl: listen.ssl,
            http2: listen.http2,
            sockets: vec![first],
        };
        group.resize(slots)?;
        Ok(group)
    }

    /// Adds or closes sockets so there is exactly one per slot. A closed socket's queued
    /// connections stay with the old worker that still holds it until it drains.
    pub fn resize(&mut self, slots: usize) -> io::Result<()> {
        self.sockets.truncate(slots.max(1));
        while self.sockets.len() < slots {
            self.sockets.push(bind_one(self.local)?);
        }
        Ok(())
    }
}

fn bind_one(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket
        .bind(&addr.into())
        .map_err(|e| io::Error::new(e.kind(), format!("bind() to {addr} failed: {e}")))?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// Keeps the groups still configured (their sockets and queues survive a reload), binds the new
/// ones, and sizes all to `slots`. If a new address cannot be bound, nothing changes.
pub fn reconcile(
    old: &mut Vec<ListenGroup>,
    wanted: &[(ListenKind, &Listen)],
    slots: usize,
) -> io::Result<()> {
    let same =
        |g: &ListenGroup, kind, listen: &Listen| g.kind == kind && g.configured == listen.addr;
    let mut fresh = Vec::new();
    for &(kind, listen) in wanted {
        if !old.iter().any(|g| same(g, kind, listen)) {
            fresh.push(ListenGroup::bind(kind, listen, slots)?);
        }
    }
    let mut next = Vec::with_capacity(wanted.len());
    for &(kind, listen) in wanted {
        let from = if old.iter().any(|g| same(g, kind, listen)) {
            &mut *old
        } else {
            &mut fresh
        };
        if let Some(i) = from.iter().position(|g| same(g, kind, listen)) {
            let mut group = from.swap_remove(i);
            group.ssl = listen.ssl;
            group.http2 = listen.http2;
            next.push(group);
        }
    }
    for group in &mut next {
        group.resize(slots)?;
    }
    *old = next;
    Ok(())
}

/// `kind address [ssl]` lines for `<prefix>/listen.addrs`, so tools and tests find ports chosen
/// by the kernel (`:0`).
pub fn describe(groups: &[ListenGroup]) -> String {
    groups
        .iter()
        .map(|g| {
            let kind = match g.kind {
                ListenKind::Proxy => "proxy",
                ListenKind::Admin => "admin",
                ListenKind::Status => "status",
            };
            let ssl = if g.ssl { " ssl" } else { "" };
            format!("{kind} {}{ssl}\n", g.local)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `addr` with `flags` (" ssl http2"), as the config parses them.
    fn listen(addr: &str, flags: &str) -> Listen {
        sluice_conf::NodeConfig::load(&sluice_conf::LoadOptions {
            env: [("SLUICE_PROXY_LISTEN".into(), format!("{addr}{flags}"))].into(),
            ..Default::default()
        })
        .unwrap()
        .proxy_listen
        .remove(0)
    }

    #[test]
    fn port_zero_group_shares_one_port_across_slots() {
        let g = ListenGroup::bind(ListenKind::Proxy, &listen("127.0.0.1:0", ""), 3).unwrap();
        assert_eq!(g.sockets.len(), 3);
        assert_ne!(g.local.port(), 0);
        for s in &g.sockets {
            assert_eq!(s.local_addr().unwrap(), g.local);
        }
    }

    #[test]
    fn reconcile_keeps_existing_sockets_and_binds_new_ones() {
        let (plain, ssl) = (
            listen("127.0.0.1:0", ""),
            listen("127.0.0.1:0", " ssl http2"),
        );
        let mut groups = vec![ListenGroup::bind(ListenKind::Proxy, &plain, 2).unwrap()];
        let port = groups[0].local.port();
        reconcile(
            &mut groups,
            &[(ListenKind::Proxy, &ssl), (ListenKind::Admin, &plain)],
            3,
        )
        .unwrap();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].local.port(), port);
        assert_eq!(groups[0].sockets.len(), 3);
        assert!(
            groups[0].ssl && groups[0].http2,
            "the flags follow the config on the same socket"
        );
        assert_eq!(groups[1].kind, ListenKind::Admin);
    }
}
