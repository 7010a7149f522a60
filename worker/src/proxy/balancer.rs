//! Choosing the peer for a request: nginx's smooth weighted round-robin over an upstream's
//! targets (Kong's default `round-robin` algorithm), and a DNS cache for named hosts.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use http::HeaderValue;
use tokio::time::Instant;

/// One `host:port` a request may go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub weight: u32,
    /// What requests need of the target, derived once rather than per request.
    ip: Option<IpAddr>,
    /// `Host` for plain HTTP (no port when 80) and for TLS (no port when 443).
    host_header: HeaderValue,
    host_header_tls: HeaderValue,
}

impl Target {
    pub fn new(host: String, port: u16, weight: u32) -> Target {
        let ip = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .ok();
        let name = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.clone()
        };
        let header = |default_port: u16| {
            let text = if port == default_port {
                name.clone()
            } else {
                format!("{name}:{port}")
            };
            HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
        };
        Target {
            host_header: header(80),
            host_header_tls: header(443),
            host,
            port,
            weight,
            ip,
        }
    }

    /// The `Host` header naming this target: the host, with the port unless it is the default
    /// of the scheme (80, or 443 with `https`).
    pub fn host_header(&self, https: bool) -> &HeaderValue {
        if https {
            &self.host_header_tls
        } else {
            &self.host_header
        }
    }
}

/// Weighted round-robin over targets, per worker.
#[derive(Debug)]
pub struct Balancer {
    targets: Vec<Target>,
    current: RefCell<Vec<i64>>,
}

impl Balancer {
    /// Targets with weight 0 are disabled, as in Kong.
    pub fn new(targets: Vec<Target>) -> Balancer {
        let targets: Vec<Target> = targets.into_iter().filter(|t| t.weight > 0).collect();
        let current = RefCell::new(vec![0; targets.len()]);
        Balancer { targets, current }
    }

    /// The next target: each target is picked in proportion to its weight, interleaved smoothly.
    pub fn pick(&self) -> Option<&Target> {
        let mut current = self.current.borrow_mut();
        let total: i64 = self.targets.iter().map(|t| i64::from(t.weight)).sum();
        let mut best: Option<usize> = None;
        for (i, t) in self.targets.iter().enumerate() {
            current[i] += i64::from(t.weight);
            if best.is_none_or(|b| current[i] > current[b]) {
                best = Some(i);
            }
        }
        let best = best?;
        current[best] -= total;
        Some(&self.targets[best])
    }
}

/// A cached DNS answer.
struct Resolved {
    addrs: Vec<SocketAddr>,
    at: Instant,
}

/// Resolves host names, caching answers so DNS is not on every request's path.
pub struct Resolver {
    cache: RefCell<HashMap<(String, u16), Resolved>>,
    next: Cell<usize>,
    ttl: Duration,
}

impl Resolver {
    pub fn new(ttl: Duration) -> Resolver {
        Resolver {
            cache: RefCell::new(HashMap::new()),
            next: Cell::new(0),
            ttl,
        }
    }

    /// One address for the target, rotating over all its name's addresses.
    pub async fn resolve(&self, target: &Target) -> io::Result<SocketAddr> {
        let (host, port) = (target.host.as_str(), target.port);
        if let Some(ip) = target.ip {
            return Ok(SocketAddr::new(ip, port));
        }
        let n = self.next.get().wrapping_add(1);
        self.next.set(n);
        let key = (host.to_string(), port);
        if let Some(r) = self
            .cache
            .borrow()
            .get(&key)
            .filter(|r| r.at.elapsed() < self.ttl)
        {
            return Ok(r.addrs[n % r.addrs.len()]);
        }
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await?.collect();
        let Some(&addr) = addrs.get(n % addrs.len().max(1)) else {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{host} could not be resolved"),
            ));
        };
        self.cache.borrow_mut().insert(
            key,
            Resolved {
                addrs,
                at: Instant::now(),
            },
        );
        Ok(addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(host: &str, weight: u32) -> Target {
        Target::new(host.into(), 80, weight)
    }

    #[test]
    fn smooth_weighted_round_robin_interleaves_by_weight() {
        let b = Balancer::new(vec![t("a", 5), t("b", 1), t("c", 1), t("off", 0)]);
        let picks: String = (0..7).map(|_| b.pick().unwrap().host.clone()).collect();
        assert_eq!(picks, "aabacaa");
    }

    #[test]
    fn no_enabled_targets_means_no_peer() {
        assert!(Balancer::new(vec![t("off", 0)]).pick().is_none());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn ip_literals_skip_dns() {
        let r = Resolver::new(Duration::from_secs(1));
        let v4 = Target::new("127.0.0.1".into(), 9, 1);
        assert_eq!(
            r.resolve(&v4).await.unwrap(),
            "127.0.0.1:9".parse().unwrap()
        );
        let v6 = Target::new("[::1]".into(), 9, 1);
        assert_eq!(r.resolve(&v6).await.unwrap(), "[::1]:9".parse().unwrap());
    }

    #[test]
    fn host_header_names_the_port_unless_80() {
        assert_eq!(t("api", 1).host_header(false), "api");
        assert_eq!(t("api", 1).host_header(true), "api:80");
        assert_eq!(Target::new("::1".into(), 443, 1).host_header(true), "[::1]");
        assert_eq!(
            Target::new("::1".into(), 9, 1).host_header(false),
            "[::1]:9"
        );
    }
}
