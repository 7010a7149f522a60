//! Route `sources` and `destinations`: an IP or CIDR, a port, or both.

use crate::spec::IpPort;
use std::net::IpAddr;

#[derive(Debug, Clone, Copy)]
enum IpMatch {
    Addr(IpAddr),
    Cidr { network: IpAddr, prefix_len: u8 },
}

impl IpMatch {
    fn parse(value: &str) -> Option<Self> {
        let Some((addr, prefix_len)) = value.split_once('/') else {
            return value.parse().ok().map(IpMatch::Addr);
        };
        let network: IpAddr = addr.parse().ok()?;
        let prefix_len: u8 = prefix_len.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        (prefix_len <= max).then_some(IpMatch::Cidr {
            network,
            prefix_len,
        })
    }

    fn matches(&self, ip: IpAddr) -> bool {
        match *self {
            IpMatch::Addr(addr) => addr == ip,
            IpMatch::Cidr {
                network: IpAddr::V4(net),
                prefix_len,
            } => match ip {
                IpAddr::V4(ip) => same_prefix(
                    u128::from(u32::from(net)) << 96,
                    u128::from(u32::from(ip)) << 96,
                    prefix_len,
                ),
                IpAddr::V6(_) => false,
            },
            IpMatch::Cidr {
                network: IpAddr::V6(net),
                prefix_len,
            } => match ip {
                IpAddr::V6(ip) => same_prefix(u128::from(net), u128::from(ip), prefix_len),
                IpAddr::V4(_) => false,
            },
        }
    }
}

/// Whether the first `prefix_len` bits agree (host bits of the network are ignored, as Kong masks
/// them away when it builds the expression).
fn same_prefix(network: u128, ip: u128, prefix_len: u8) -> bool {
    let mask = u128::MAX
        .checked_shl(128 - u32::from(prefix_len))
        .unwrap_or(0);
    network & mask == ip & mask
}

/// One element of `sources` or `destinations`; both parts must match when both are set.
#[derive(Debug, Clone)]
pub(crate) struct NetMatcher {
    ip: Option<IpMatch>,
    port: Option<u16>,
}

impl NetMatcher {
    pub(crate) fn compile(spec: &IpPort) -> Result<Self, String> {
        if spec.ip.is_none() && spec.port.is_none() {
            return Err("at least one of these fields must be non-empty: 'ip', 'port'".to_string());
        }
        let ip = match &spec.ip {
            None => None,
            Some(value) => Some(
                IpMatch::parse(value)
                    .ok_or_else(|| format!("invalid ip or cidr range: '{value}'"))?,
            ),
        };
        Ok(NetMatcher {
            ip,
            port: spec.port,
        })
    }

    pub(crate) fn matches(&self, ip: IpAddr, port: u64) -> bool {
        self.ip.is_none_or(|wanted| wanted.matches(ip))
            && self.port.is_none_or(|wanted| u64::from(wanted) == port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(ip: Option<&str>, port: Option<u16>) -> NetMatcher {
        NetMatcher::compile(&IpPort {
            ip: ip.map(str::to_string),
            port,
        })
        .unwrap()
    }

    #[test]
    fn plain_ip_cidr_and_port() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(matcher(Some("127.0.0.1"), None).matches(ip("127.0.0.1"), 1));
        assert!(!matcher(Some("127.0.0.1"), None).matches(ip("127.0.0.2"), 1));
        assert!(matcher(Some("127.168.0.0/8"), None).matches(ip("127.1.2.3"), 1));
        assert!(!matcher(Some("127.168.0.0/16"), None).matches(ip("127.1.2.3"), 1));
        assert!(matcher(Some("10.0.0.0/0"), None).matches(ip("192.168.1.1"), 1));
        assert!(matcher(Some("fd00::/8"), None).matches(ip("fd12::1"), 1));
        assert!(!matcher(Some("fd00::/8"), None).matches(ip("10.0.0.1"), 1));
        assert!(matcher(None, Some(65001)).matches(ip("10.0.0.1"), 65001));
        assert!(!matcher(Some("127.0.0.1"), Some(65001)).matches(ip("127.0.0.1"), 65002));
    }

    #[test]
    fn rejects_bad_entries() {
        assert!(NetMatcher::compile(&IpPort::default()).is_err());
        for bad in ["300.0.0.1", "10.0.0.0/33", "host", "::1/129"] {
            let spec = IpPort {
                ip: Some(bad.to_string()),
                port: None,
            };
            assert!(NetMatcher::compile(&spec).is_err(), "{bad}");
        }
    }
}
