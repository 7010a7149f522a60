//! The custom validators behind `kong.db.schema.typedefs` (host, ip, cidr, path, url, ...),
//! with the messages of Kong's typedefs and of the `kong.tools` helpers they call. They are
//! native so that addresses are parsed by `std::net`, and are handed to Lua as functions
//! returning `true` or `nil, message`, as Kong's do.

use mlua::{Lua, Table};
use std::net::{Ipv4Addr, Ipv6Addr};

type Check = Result<(), String>;
/// A validator of text, by the name Lua knows it by.
type TextValidator = (&'static str, fn(&str) -> Check);
/// A validator of raw bytes (the UTF-8 checks).
type ByteValidator = (&'static str, fn(&[u8]) -> Check);

const BAD_PORT: &str = "invalid port number";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HostType {
    Ipv4,
    Ipv6,
    Name,
}

/// Kong's `hostname_type`: more than one colon is IPv6, digits and dots are IPv4.
fn hostname_type(name: &str) -> HostType {
    if name.matches(':').count() > 1 {
        return HostType::Ipv6;
    }
    let mut rest = name.chars().filter(|c| *c != ':').peekable();
    if rest.peek().is_some() && rest.all(|c| c.is_ascii_digit() || c == '.') {
        HostType::Ipv4
    } else {
        HostType::Name
    }
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn port(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(p) if p <= 65535 => Ok(p),
        _ => Err(BAD_PORT.into()),
    }
}

/// Kong's `normalize_ip`: the kind of host and its port, or Kong's error.
fn normalize_ip(address: &str) -> Result<(HostType, Option<u32>), String> {
    let kind = hostname_type(address);
    let port = match kind {
        HostType::Ipv4 => normalize_ipv4(address)?,
        HostType::Ipv6 => normalize_ipv6(address)?,
        HostType::Name => check_hostname(address)?,
    };
    Ok((kind, port))
}

fn normalize_ipv4(address: &str) -> Result<Option<u32>, String> {
    let bad = || format!("invalid ipv4 address: {address}");
    let (ip, port_part) = match address.split_once(':') {
        Some((ip, p)) => (ip, Some(p)),
        None => (address, None),
    };
    let octets: Vec<&str> = ip.split('.').collect();
    let octet_ok = |o: &&str| o.len() <= 3 && digits(o) && o.parse::<u32>().is_ok_and(|n| n <= 255);
    if octets.len() != 4 || !octets.iter().all(octet_ok) {
        return Err(bad());
    }
    match port_part {
        None => Ok(None),
        Some(p) if digits(p) => port(p).map(Some),
        Some(_) => Err(bad()),
    }
}

fn normalize_ipv6(address: &str) -> Result<Option<u32>, String> {
    let (ip, port) = match address
        .strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
    {
        Some((inside, "")) => (inside, None),
        Some((inside, after)) => match after.strip_prefix(':') {
            Some(p) if digits(p) => (inside, Some(port(p)?)),
            _ => return Err("invalid ipv6 address".into()),
        },
        None => (address, None),
    };
    ip.parse::<Ipv6Addr>()
        .map_err(|_| format!("invalid ipv6 address: {address}"))?;
    Ok(port)
}

/// Kong's `check_hostname`: letters, digits, `-`, `.`, `_`; no label ends with `-`; no empty
/// label except after a final dot.
fn check_hostname(address: &str) -> Result<Option<u32>, String> {
    let bad = || format!("invalid hostname: {address}");
    let (name, port) = match address.rsplit_once(':') {
        Some((name, p)) if digits(p) => (name, Some(port(p)?)),
        _ => (address, None),
    };
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_');
    if name.is_empty() || !name.bytes().all(allowed) {
        return Err(bad());
    }
    let labels: Vec<&str> = name.split('.').collect();
    let last = labels.len() - 1;
    if labels
        .iter()
        .enumerate()
        .any(|(i, l)| l.ends_with('-') || (l.is_empty() && i != last))
    {
        return Err(bad());
    }
    Ok(port)
}

pub(crate) fn host(host: &str) -> Check {
    match normalize_ip(host) {
        Err(e) if e != BAD_PORT => Err(format!("invalid value: {host}")),
        Err(_) | Ok((_, Some(_))) => Err("must not have a port".into()),
        Ok(_) => Ok(()),
    }
}

pub(crate) fn host_with_optional_port(host: &str) -> Check {
    normalize_ip(host).map(|_| ())
}

/// A server name: a host name, not an address, without a port.
pub(crate) fn sni(host: &str) -> Check {
    match normalize_ip(host) {
        Err(e) if e != BAD_PORT => Err(format!("invalid value: {host}")),
        Ok((kind, _)) if kind != HostType::Name => Err("must not be an IP".into()),
        Err(_) | Ok((_, Some(_))) => Err("must not have a port".into()),
        Ok(_) => Ok(()),
    }
}

/// A server name with at most one `*`, as its first or last character.
pub(crate) fn wildcard_host(host: &str) -> Check {
    let mut host = host.to_string();
    if let Some(at) = host.find('*') {
        if at != 0 && at != host.len() - 1 {
            return Err("wildcard must be leftmost or rightmost character".into());
        }
        if host.matches('*').count() > 1 {
            return Err("only one wildcard must be specified".into());
        }
        host = host.replace('*', "wildcard");
    }
    sni(&host)
}

/// Some(true) for IPv4, Some(false) for IPv6 (bracketed or not).
fn ip_family(s: &str) -> Option<bool> {
    if s.parse::<Ipv4Addr>().is_ok() {
        return Some(true);
    }
    let bare = s
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(s);
    bare.parse::<Ipv6Addr>().is_ok().then_some(false)
}

pub(crate) fn ip(ip: &str) -> Check {
    match ip_family(ip) {
        Some(_) => Ok(()),
        None => Err(format!("not an ip address: {ip}")),
    }
}

/// An address, or an address with a prefix length (`/0`..`/32` or `/0`..`/128`).
fn cidr_family(s: &str) -> Option<bool> {
    match s.split_once('/') {
        None => ip_family(s),
        Some((ip, mask)) => {
            let v4 = ip_family(ip)?;
            let bits: u32 = mask.parse().ok().filter(|_| digits(mask))?;
            (bits <= if v4 { 32 } else { 128 }).then_some(v4)
        }
    }
}

pub(crate) fn ip_or_cidr(s: &str) -> Check {
    match cidr_family(s) {
        Some(_) => Ok(()),
        None => Err(format!("invalid ip or cidr range: '{s}'")),
    }
}

pub(crate) fn cidr_v4(s: &str) -> Check {
    match cidr_family(s) {
        Some(true) => Ok(()),
        _ => Err(format!("invalid ipv4 cidr range: '{s}'")),
    }
}

/// RFC 3986 characters only, and every `%` starts a valid escape.
pub(crate) fn path(path: &str) -> Check {
    let allowed = |c: char| c.is_ascii_alphanumeric() || ".-_~/%:@!$&'()*+,;=".contains(c);
    if !path.starts_with('/') || !path.chars().all(allowed) {
        return Err(format!(
            "invalid path: '{path}' (characters outside of the reserved list of RFC 3986 found)"
        ));
    }
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let escape = bytes.get(i + 1..i + 3);
            if !escape.is_some_and(|e| e.iter().all(u8::is_ascii_hexdigit)) {
                let end = (i + 3).min(bytes.len());
                return Err(format!(
                    "invalid url-encoded value: '{}'",
                    String::from_utf8_lossy(&bytes[i..end])
                ));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

pub(crate) fn name(name: &str) -> Check {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~');
    if !name.is_empty() && name.bytes().all(allowed) {
        return Ok(());
    }
    Err(format!(
        "invalid value '{name}': it must only contain alphanumeric and '., -, _, ~' characters"
    ))
}

/// Kong's `validate_utf8`: the 1-based position of the first bad byte sequence.
fn utf8(bytes: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(bytes).map_err(|e| {
        format!(
            "invalid utf-8 character sequence detected at position {}",
            e.valid_up_to() + 1
        )
    })
}

pub(crate) fn utf8_name(bytes: &[u8]) -> Check {
    let name = utf8(bytes)?;
    let allowed =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~' | 128..=244);
    if !name.is_empty() && bytes.iter().all(|b| allowed(*b)) {
        return Ok(());
    }
    Err(format!(
        "invalid value '{name}': the only accepted ascii characters are alphanumerics or ., -, _, and ~"
    ))
}

pub(crate) fn tag(bytes: &[u8]) -> Check {
    let tag = utf8(bytes)?;
    let allowed = |b: u8| matches!(b, b' ' | 33..=43 | 45 | 46 | 48..=126 | 128..=244);
    if !tag.is_empty() && bytes.iter().all(|b| allowed(*b)) {
        return Ok(());
    }
    Err(format!(
        "invalid tag '{tag}': expected printable ascii (except `,` and `/`) or valid utf-8 sequences"
    ))
}

pub(crate) fn header_name(name: &str) -> Check {
    if name.is_empty() {
        return Err("no header name provided".into());
    }
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_');
    if name.bytes().all(allowed) {
        return Ok(());
    }
    Err(format!(
        "bad header name '{name}', allowed characters are A-Z, a-z, 0-9, '_', and '-'"
    ))
}

/// What LuaSocket's `url.parse` finds, as far as Kong's check needs: a scheme and a host.
pub(crate) fn url(url: &str) -> Check {
    if url.is_empty() {
        return Err("could not parse url. invalid url".into());
    }
    let scheme_len = url
        .char_indices()
        .take_while(|(i, c)| {
            if *i == 0 {
                c.is_ascii_alphanumeric()
            } else {
                c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')
            }
        })
        .count();
    let (has_scheme, rest) = match url[scheme_len..].strip_prefix(':') {
        Some(rest) if scheme_len > 0 => (true, rest),
        _ => (false, url),
    };
    let host = rest.strip_prefix("//").and_then(|rest| {
        let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        let authority = authority.split_once('@').map_or(authority, |(_, a)| a);
        let authority = match authority.rfind(':') {
            Some(i) if !authority[i + 1..].contains(']') => &authority[..i],
            _ => authority,
        };
        (!authority.is_empty()).then_some(authority)
    });
    if host.is_none() {
        return Err("missing host in url".into());
    }
    if !has_scheme {
        return Err("missing scheme in url".into());
    }
    Ok(())
}

/// `typedefs.lua_code` values: Lua source that compiles.
fn lua_code(lua: &Lua, code: &[u8]) -> Check {
    lua.load(code)
        .set_name("=lua_code")
        .into_function()
        .map(|_| ())
        .map_err(crate::vm::message)
}

/// The Lua module (`sluice.schema.validators`) that `typedefs.lua` takes these from, with
/// `null` and the protocol lists the typedefs share with the plugins entity.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let module = lua.create_table()?;
    let text: [TextValidator; 11] = [
        ("host", host),
        ("host_with_optional_port", host_with_optional_port),
        ("sni", sni),
        ("wildcard_host", wildcard_host),
        ("ip", ip),
        ("ip_or_cidr", ip_or_cidr),
        ("cidr_v4", cidr_v4),
        ("path", path),
        ("name", name),
        ("header_name", header_name),
        ("url", url),
    ];
    for (name, check) in text {
        let f = lua.create_function(move |_, s: mlua::LuaString| {
            Ok(verdict(check(&s.to_string_lossy())))
        })?;
        module.set(name, f)?;
    }
    let bytes: [ByteValidator; 2] = [("utf8_name", utf8_name), ("tag", tag)];
    for (name, check) in bytes {
        let f =
            lua.create_function(move |_, s: mlua::LuaString| Ok(verdict(check(&s.as_bytes()))))?;
        module.set(name, f)?;
    }
    module.set(
        "lua_code",
        lua.create_function(|lua, s: mlua::LuaString| Ok(verdict(lua_code(lua, &s.as_bytes()))))?,
    )?;
    module.set("null", mlua::LuaSerdeExt::null(lua))?;
    module.set("protocols", crate::plugin::PROTOCOLS)?;
    module.set("http_protocols", crate::plugin::HTTP_PROTOCOLS)?;
    Ok(module)
}

/// `true` or `nil, message`.
fn verdict(check: Check) -> (Option<bool>, Option<String>) {
    match check {
        Ok(()) => (Some(true), None),
        Err(e) => (None, Some(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        for ok in [
            "example.com",
            "a_b.example.com.",
            "10.0.0.1",
            "::1",
            "[::1]",
            "localhost",
        ] {
            assert_eq!(host(ok), Ok(()), "{ok}");
        }
        assert_eq!(host("example.com:80"), Err("must not have a port".into()));
        assert_eq!(host("10.0.0.1:80"), Err("must not have a port".into()));
        assert_eq!(host("[::1]:8080"), Err("must not have a port".into()));
        assert_eq!(
            host("example.com:99999"),
            Err("must not have a port".into())
        );
        for bad in [
            "exa mple.com",
            "a..b",
            ".a",
            "a-.b",
            "300.1.1.1",
            "1.2.3",
            "::g",
            "a/b",
        ] {
            assert_eq!(host(bad), Err(format!("invalid value: {bad}")), "{bad}");
        }
        assert_eq!(host_with_optional_port("example.com:80"), Ok(()));
        assert_eq!(
            host_with_optional_port("ex ample"),
            Err("invalid hostname: ex ample".into())
        );
        assert_eq!(sni("10.0.0.1"), Err("must not be an IP".into()));
        assert_eq!(sni("example.com"), Ok(()));
        assert_eq!(wildcard_host("*.example.com"), Ok(()));
        assert_eq!(wildcard_host("example.*"), Ok(()));
        assert_eq!(
            wildcard_host("a.*.com"),
            Err("wildcard must be leftmost or rightmost character".into())
        );
        assert_eq!(
            wildcard_host("*.a.*"),
            Err("only one wildcard must be specified".into())
        );
    }

    #[test]
    fn addresses() {
        assert_eq!(ip("10.1.2.3"), Ok(()));
        assert_eq!(ip("2001:db8::1"), Ok(()));
        assert_eq!(
            ip("example.com"),
            Err("not an ip address: example.com".into())
        );
        for ok in ["10.0.0.0/8", "10.0.0.1", "::/0", "2001:db8::/128"] {
            assert_eq!(ip_or_cidr(ok), Ok(()), "{ok}");
        }
        for bad in ["10.0.0.0/33", "10.0.0.0/", "10.0.0.0/+8", "::/129", "x/8"] {
            assert_eq!(
                ip_or_cidr(bad),
                Err(format!("invalid ip or cidr range: '{bad}'")),
                "{bad}"
            );
        }
        assert_eq!(cidr_v4("10.0.0.0/8"), Ok(()));
        assert_eq!(
            cidr_v4("::/0"),
            Err("invalid ipv4 cidr range: '::/0'".into())
        );
    }

    #[test]
    fn paths_names_tags_headers() {
        assert_eq!(path("/a/b%20c;d=e"), Ok(()));
        assert_eq!(
            path("/a b"),
            Err(
                "invalid path: '/a b' (characters outside of the reserved list of RFC 3986 found)"
                    .into()
            )
        );
        assert_eq!(
            path("/a%zzb"),
            Err("invalid url-encoded value: '%zz'".into())
        );
        assert_eq!(path("/a%2"), Err("invalid url-encoded value: '%2'".into()));
        assert_eq!(name("my-name_1.0~x"), Ok(()));
        assert!(name("a b").unwrap_err().starts_with("invalid value 'a b'"));
        assert_eq!(utf8_name("café".as_bytes()), Ok(()));
        assert_eq!(
            utf8_name(b"a\xffb"),
            Err("invalid utf-8 character sequence detected at position 2".into())
        );
        assert_eq!(tag(b"team a"), Ok(()));
        assert!(tag(b"a,b").unwrap_err().starts_with("invalid tag 'a,b'"));
        assert_eq!(header_name("X-Api_Key"), Ok(()));
        assert_eq!(
            header_name("x api"),
            Err(
                "bad header name 'x api', allowed characters are A-Z, a-z, 0-9, '_', and '-'"
                    .into()
            )
        );
    }

    #[test]
    fn urls() {
        for ok in [
            "http://example.com",
            "https://u:p@h:8080/p?q#f",
            "http://[::1]:80/",
        ] {
            assert_eq!(url(ok), Ok(()), "{ok}");
        }
        assert_eq!(url("example.com/x"), Err("missing host in url".into()));
        assert_eq!(url("http://"), Err("missing host in url".into()));
        assert_eq!(url("//example.com"), Err("missing scheme in url".into()));
    }

    #[test]
    fn lua_code_must_compile() {
        let lua = Lua::new();
        assert_eq!(lua_code(&lua, b"return 1"), Ok(()));
        assert!(lua_code(&lua, b"return (")
            .unwrap_err()
            .contains("lua_code"));
    }
}
