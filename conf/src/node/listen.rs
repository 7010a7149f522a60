//! Listener lists: Kong's `proxy_listen`, `admin_listen`, `status_listen`
//! (`off`, or `addr:port [flags], addr:port [flags], ...`).

use super::values;
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// One listening socket and its nginx `listen` flags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listen {
    pub addr: SocketAddr,
    /// `ssl`: connections are TLS, with the certificates of `ssl_cert` / `ssl_cert_key`.
    pub ssl: bool,
    /// `http2`: serve HTTP/2 next to HTTP/1.1: chosen in ALPN with `ssl`, else h2c with prior
    /// knowledge, told apart by its preface (as nginx ≥ 1.25 does).
    pub http2: bool,
    /// `reuseport`. Workers always get one `SO_REUSEPORT` socket each; the flag is accepted for
    /// Kong compatibility.
    pub reuseport: bool,
    /// `bind`: accepted for nginx compatibility; every listener is bound separately anyway.
    pub bind: bool,
    /// `deferred`: `TCP_DEFER_ACCEPT`.
    pub deferred: bool,
    /// `backlog=N`: the `listen(2)` backlog.
    pub backlog: Option<u32>,
    /// `ipv6only=on|off` (`IPV6_V6ONLY`).
    pub ipv6only: Option<bool>,
    /// `so_keepalive=on|off|idle:interval:count`.
    pub so_keepalive: Option<KeepAlive>,
}

/// nginx's `so_keepalive` values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeepAlive {
    On,
    Off,
    /// `idle:interval:count`, each part optional (system default when empty).
    Custom {
        idle: Option<Duration>,
        interval: Option<Duration>,
        count: Option<u32>,
    },
}

const USAGE: &str =
    "must be of form: [off] | <ip>:<port> [ssl] [http2] [reuseport] [backlog=N] [bind] \
                     [deferred] [ipv6only=on|off] [so_keepalive=on|off|idle:interval:count], \
                     [... next entry ...]";

/// Parses a whole listener list; `off` is the empty list.
pub(crate) fn parse_list(s: &str) -> Result<Vec<Listen>, String> {
    if s == "off" {
        return Ok(Vec::new());
    }
    let mut listens: Vec<Listen> = Vec::new();
    for entry in s.split(',') {
        let listen = parse_entry(entry.trim())?;
        // Port 0 lets the kernel pick a free port for each entry.
        if listen.addr.port() != 0 && listens.iter().any(|l| l.addr == listen.addr) {
            return Err(format!("{} is listed twice", listen.addr));
        }
        listens.push(listen);
    }
    Ok(listens)
}

fn parse_entry(entry: &str) -> Result<Listen, String> {
    let mut words = entry.split_whitespace();
    let addr = words
        .next()
        .ok_or_else(|| format!("empty entry: {USAGE}"))?;
    let mut listen = Listen {
        addr: address(addr).ok_or_else(|| format!("invalid address '{addr}': {USAGE}"))?,
        ssl: false,
        http2: false,
        reuseport: false,
        bind: false,
        deferred: false,
        backlog: None,
        ipv6only: None,
        so_keepalive: None,
    };
    for flag in words {
        match flag.split_once('=') {
            None => match flag {
                "ssl" => listen.ssl = true,
                "http2" => listen.http2 = true,
                "reuseport" => listen.reuseport = true,
                "bind" => listen.bind = true,
                "deferred" => listen.deferred = true,
                "proxy_protocol" => return Err(format!("the '{flag}' flag is not supported yet")),
                _ => return Err(format!("unknown flag '{flag}': {USAGE}")),
            },
            Some(("backlog", n)) => {
                listen.backlog = Some(
                    values::integer(n, 1, i32::MAX as u32).map_err(|e| format!("backlog: {e}"))?,
                )
            }
            Some(("ipv6only", v)) => {
                listen.ipv6only = Some(match v {
                    "on" => true,
                    "off" => false,
                    _ => return Err(format!("ipv6only must be 'on' or 'off', got '{v}'")),
                })
            }
            Some(("so_keepalive", v)) => listen.so_keepalive = Some(keepalive(v)?),
            Some(_) => return Err(format!("unknown flag '{flag}': {USAGE}")),
        }
    }
    Ok(listen)
}

/// `ip:port`, `[ipv6]:port`, `*:port`, `localhost:port`, or a bare port (all IPv4 addresses).
fn address(s: &str) -> Option<SocketAddr> {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Some(addr);
    }
    let (host, port) = s.rsplit_once(':').unwrap_or(("*", s));
    let port: u16 = port.parse().ok()?;
    let ip = match host {
        "*" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

fn keepalive(v: &str) -> Result<KeepAlive, String> {
    let invalid = || format!("so_keepalive must be on, off or idle:interval:count, got '{v}'");
    match v {
        "on" => return Ok(KeepAlive::On),
        "off" => return Ok(KeepAlive::Off),
        _ => {}
    }
    let parts: Vec<&str> = v.split(':').collect();
    let [idle, interval, count] = parts[..] else {
        return Err(invalid());
    };
    let time = |s: &str| -> Result<Option<Duration>, String> {
        if s.is_empty() {
            Ok(None)
        } else {
            values::duration(s).map(Some).map_err(|_| invalid())
        }
    };
    Ok(KeepAlive::Custom {
        idle: time(idle)?,
        interval: time(interval)?,
        count: if count.is_empty() {
            None
        } else {
            Some(count.parse().map_err(|_| invalid())?)
        },
    })
}

/// Whether two listeners would fight over the same port (same address, or a wildcard address of
/// the same family). Port 0 lets the kernel pick a free port for each, so it never overlaps.
pub(crate) fn overlaps(a: &SocketAddr, b: &SocketAddr) -> bool {
    a.port() == b.port()
        && a.port() != 0
        && (a.ip() == b.ip()
            || (a.is_ipv4() == b.is_ipv4() && (a.ip().is_unspecified() || b.ip().is_unspecified())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Listen {
        let mut list = parse_list(s).unwrap();
        assert_eq!(list.len(), 1);
        list.remove(0)
    }

    #[test]
    fn off_is_empty() {
        assert_eq!(parse_list("off"), Ok(vec![]));
    }

    #[test]
    fn addresses() {
        assert_eq!(
            one("127.0.0.1:8000").addr,
            "127.0.0.1:8000".parse().unwrap()
        );
        assert_eq!(one("[::1]:8000").addr, "[::1]:8000".parse().unwrap());
        assert_eq!(one("*:8000").addr, "0.0.0.0:8000".parse().unwrap());
        assert_eq!(
            one("localhost:8001").addr,
            "127.0.0.1:8001".parse().unwrap()
        );
        assert_eq!(one("8002").addr, "0.0.0.0:8002".parse().unwrap());
        for bad in ["example.com:80", "1.2.3.4", "1.2.3.4:99999", "::1:80", ""] {
            assert!(parse_list(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kong_default_flags() {
        let l = one("0.0.0.0:8000 reuseport backlog=16384");
        assert!(l.reuseport && !l.ssl);
        let l = one("0.0.0.0:8443 ssl reuseport backlog=16384 deferred bind");
        assert!(l.ssl && l.reuseport && l.deferred && l.bind);
        assert_eq!(l.backlog, Some(16384));
        let l = one("[::]:8000 http2 bind deferred ipv6only=on so_keepalive=30s:10s:3");
        assert!(l.http2 && l.bind && l.deferred);
        assert_eq!(l.ipv6only, Some(true));
        assert_eq!(
            l.so_keepalive,
            Some(KeepAlive::Custom {
                idle: Some(Duration::from_secs(30)),
                interval: Some(Duration::from_secs(10)),
                count: Some(3)
            })
        );
        assert_eq!(
            one("1.1.1.1:1 so_keepalive=on").so_keepalive,
            Some(KeepAlive::On)
        );
        assert_eq!(
            one("1.1.1.1:1 so_keepalive=::5").so_keepalive,
            Some(KeepAlive::Custom {
                idle: None,
                interval: None,
                count: Some(5)
            })
        );
    }

    #[test]
    fn lists_and_errors() {
        let list = parse_list("0.0.0.0:8000, 127.0.0.1:8443 ssl http2").unwrap();
        assert_eq!(list.len(), 2);
        assert!(!list[0].ssl && list[1].ssl && list[1].http2);
        assert!(parse_list("0.0.0.0:8000 proxy_protocol")
            .unwrap_err()
            .contains("'proxy_protocol' flag is not supported"));
        assert!(parse_list("0.0.0.0:8000 fast")
            .unwrap_err()
            .contains("unknown flag 'fast'"));
        assert!(parse_list("0.0.0.0:8000 backlog=x")
            .unwrap_err()
            .contains("backlog"));
        assert!(parse_list("0.0.0.0:8000 ipv6only=maybe").is_err());
        assert!(parse_list("0.0.0.0:8000 so_keepalive=1:2").is_err());
        assert!(parse_list("1.1.1.1:1, 1.1.1.1:1")
            .unwrap_err()
            .contains("listed twice"));
        assert_eq!(parse_list("1.1.1.1:0, 1.1.1.1:0 ssl").unwrap().len(), 2);
        assert!(parse_list("1.1.1.1:1,").is_err());
    }

    #[test]
    fn overlap_rules() {
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert!(overlaps(&a("0.0.0.0:80"), &a("127.0.0.1:80")));
        assert!(overlaps(&a("127.0.0.1:80"), &a("127.0.0.1:80")));
        assert!(!overlaps(&a("127.0.0.1:80"), &a("127.0.0.2:80")));
        assert!(!overlaps(&a("0.0.0.0:80"), &a("[::]:80")));
        assert!(!overlaps(&a("0.0.0.0:80"), &a("0.0.0.0:81")));
        assert!(!overlaps(&a("127.0.0.1:0"), &a("127.0.0.1:0")));
    }
}
