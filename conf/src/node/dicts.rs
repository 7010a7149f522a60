//! `lua_shared_dict = name size, name size`: the shared-memory zones. Kong's own zones (from its
//! `nginx_kong.lua` template) always exist; naming one of them here resizes it.

use super::values;
use serde::Serialize;

/// One `lua_shared_dict` zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SharedDict {
    pub name: String,
    /// Capacity in bytes.
    pub size: u64,
}

/// Kong's zones and sizes; `None` is `mem_cache_size`.
const KONG_DICTS: [(&str, Option<u64>); 10] = [
    ("kong", Some(5 << 20)),
    ("kong_locks", Some(8 << 20)),
    ("kong_healthchecks", Some(5 << 20)),
    ("kong_cluster_events", Some(5 << 20)),
    ("kong_rate_limiting_counters", Some(12 << 20)),
    ("kong_core_db_cache", None),
    ("kong_core_db_cache_miss", Some(12 << 20)),
    ("kong_db_cache", None),
    ("kong_db_cache_miss", Some(12 << 20)),
    ("kong_secrets", Some(5 << 20)),
];

/// OpenResty refuses zones smaller than this ("invalid lua shared dict size").
const MIN_SIZE: u64 = 8 << 10;

/// Kong's zones (resized where named) followed by the user's, in the order given.
pub(crate) fn parse(s: &str, mem_cache_size: u64) -> Result<Vec<SharedDict>, String> {
    let mut dicts: Vec<SharedDict> = KONG_DICTS
        .iter()
        .map(|(name, size)| SharedDict {
            name: name.to_string(),
            size: size.unwrap_or(mem_cache_size),
        })
        .collect();
    let mut named: Vec<String> = Vec::new();
    for entry in values::list(s) {
        let words: Vec<&str> = entry.split_whitespace().collect();
        let [name, size] = words[..] else {
            return Err(format!("expected 'name size', got '{entry}'"));
        };
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(format!("invalid lua shared dict name '{name}'"));
        }
        let size = values::size(size)?;
        if size < MIN_SIZE {
            return Err(format!(
                "invalid lua shared dict size for '{name}': {size} bytes (at least 8k)"
            ));
        }
        if named.iter().any(|n| n == name) {
            return Err(format!("lua shared dict '{name}' is declared twice"));
        }
        named.push(name.to_string());
        match dicts.iter_mut().find(|d| d.name == name) {
            Some(existing) => existing.size = size,
            None => dicts.push(SharedDict {
                name: name.to_string(),
                size,
            }),
        }
    }
    Ok(dicts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size_of(dicts: &[SharedDict], name: &str) -> Option<u64> {
        dicts.iter().find(|d| d.name == name).map(|d| d.size)
    }

    #[test]
    fn kong_dicts_are_always_present() {
        let dicts = parse("", 128 << 20).unwrap();
        assert_eq!(dicts.len(), KONG_DICTS.len());
        assert_eq!(size_of(&dicts, "kong"), Some(5 << 20));
        assert_eq!(size_of(&dicts, "kong_locks"), Some(8 << 20));
        assert_eq!(
            size_of(&dicts, "kong_rate_limiting_counters"),
            Some(12 << 20)
        );
        assert_eq!(size_of(&dicts, "kong_core_db_cache"), Some(128 << 20));
        assert_eq!(size_of(&dicts, "kong_db_cache"), Some(128 << 20));
        assert_eq!(size_of(&dicts, "kong_secrets"), Some(5 << 20));
    }

    #[test]
    fn user_dicts_are_added_and_kong_dicts_resized() {
        let dicts = parse("my_cache 10m, kong 1m, prometheus_metrics 5m", 64 << 20).unwrap();
        assert_eq!(size_of(&dicts, "my_cache"), Some(10 << 20));
        assert_eq!(size_of(&dicts, "kong"), Some(1 << 20));
        assert_eq!(size_of(&dicts, "kong_db_cache"), Some(64 << 20));
        assert_eq!(dicts.last().unwrap().name, "prometheus_metrics");
        assert_eq!(dicts.len(), KONG_DICTS.len() + 2);
    }

    #[test]
    fn errors() {
        assert!(parse("lonely", 1)
            .unwrap_err()
            .contains("expected 'name size'"));
        assert!(parse("a 1m 2m", 1)
            .unwrap_err()
            .contains("expected 'name size'"));
        assert!(parse("a 1x", 1).unwrap_err().contains("invalid size"));
        assert!(parse("a 4k", 1).unwrap_err().contains("at least 8k"));
        assert!(parse("a$ 1m", 1)
            .unwrap_err()
            .contains("invalid lua shared dict name"));
        assert!(parse("a 1m, a 2m", 1)
            .unwrap_err()
            .contains("declared twice"));
    }
}
