//! IP addresses and CIDR ranges, as Kong's `trusted_ips` and route `sources`/`destinations` take them.

use serde::Serialize;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An address range: `10.0.0.0/8`, `::1/128`; a bare address is a full-length range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    /// The network address (host bits cleared).
    pub addr: IpAddr,
    pub prefix_len: u8,
}

impl Cidr {
    /// Whether `ip` is in the range; IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, what a
    /// dual-stack socket reports) match IPv4 ranges.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                mask_v4(u32::from(ip), self.prefix_len) == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                mask_v6(u128::from(ip), self.prefix_len) == u128::from(net)
            }
            _ => false,
        }
    }
}

fn mask_v4(bits: u32, len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        bits & (u32::MAX << (32 - u32::from(len)))
    }
}

fn mask_v6(bits: u128, len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        bits & (u128::MAX << (128 - u32::from(len)))
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || format!("invalid ip or cidr range: '{s}'");
        let (addr, len) = match s.split_once('/') {
            Some((addr, len)) => (addr, Some(len)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| invalid())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix_len = match len {
            None => max,
            Some(len) if !len.is_empty() && len.bytes().all(|b| b.is_ascii_digit()) => len
                .parse::<u8>()
                .ok()
                .filter(|l| *l <= max)
                .ok_or_else(invalid)?,
            Some(_) => return Err(invalid()),
        };
        let addr = match addr {
            IpAddr::V4(v4) => IpAddr::V4(mask_v4(u32::from(v4), prefix_len).into()),
            IpAddr::V6(v6) => IpAddr::V6(mask_v6(u128::from(v6), prefix_len).into()),
        };
        Ok(Cidr { addr, prefix_len })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

impl Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_masks() {
        assert_eq!(cidr("10.1.2.3/8").to_string(), "10.0.0.0/8");
        assert_eq!(cidr("10.1.2.3").to_string(), "10.1.2.3/32");
        assert_eq!(cidr("::1").to_string(), "::1/128");
        assert_eq!(cidr("0.0.0.0/0").to_string(), "0.0.0.0/0");
        assert_eq!(cidr("2001:db8::1/32").to_string(), "2001:db8::/32");
    }

    #[test]
    fn rejects_bad_ranges() {
        for bad in [
            "10.0.0.0/33",
            "10.0.0.0/",
            "10.0.0/8",
            "x",
            "::/129",
            "1.2.3.4/-1",
        ] {
            assert_eq!(
                bad.parse::<Cidr>(),
                Err(format!("invalid ip or cidr range: '{bad}'"))
            );
        }
    }

    #[test]
    fn contains_matches_ranges_and_mapped_v4() {
        let net = cidr("192.168.0.0/16");
        assert!(net.contains("192.168.4.5".parse().unwrap()));
        assert!(!net.contains("192.169.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:192.168.1.1".parse().unwrap()));
        assert!(cidr("0.0.0.0/0").contains("8.8.8.8".parse().unwrap()));
        assert!(!cidr("0.0.0.0/0").contains("::2".parse().unwrap()));
        assert!(cidr("::/0").contains("::2".parse().unwrap()));
        assert!(cidr("fe80::/10").contains("fe80::1".parse().unwrap()));
        assert!(!cidr("fe80::/10").contains("fec0::1".parse().unwrap()));
    }
}
