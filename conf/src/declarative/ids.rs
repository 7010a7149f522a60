//! Deterministic entity ids, as Kong's declarative loader makes them: a UUIDv5 in a
//! per-entity namespace (`uuid5(fd02801f-..., "<entity>")`) of the entity's cache key or
//! endpoint key. Where Kong would fall back to a random v4 (no usable key: an unnamed route, a
//! key-auth credential), Sluice derives a v5 from the entity's position in the file instead, so a
//! reload of the same file keeps every id.

use uuid::Uuid;

/// Kong's namespace for declarative entity ids.
const NAMESPACE: Uuid = Uuid::from_u128(0xfd02801f_0957_4a15_a55a_c8d9606f30b5);

/// `uuid5(uuid5(NAMESPACE, entity), key)`.
pub(crate) fn generate(entity: &str, key: &str) -> Uuid {
    let namespace = Uuid::new_v5(&NAMESPACE, entity.as_bytes());
    Uuid::new_v5(&namespace, key.as_bytes())
}

/// Kong's cache-key string for an entity in the default workspace: `<entity>:*:<part>:<part>...`.
pub(crate) fn cache_key<S: AsRef<str>>(entity: &str, parts: &[S]) -> String {
    let mut key = format!("{entity}:*");
    for part in parts {
        key.push(':');
        key.push_str(part.as_ref());
    }
    key
}

/// The id for an entity Kong would give a random id: derived from where it is in the file.
pub(crate) fn positional(entity: &str, path: &str) -> Uuid {
    generate(entity, &format!("#{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Uuid {
        s.parse().unwrap()
    }

    /// Values from Kong's own test fixtures (`spec/.../15-off_spec.lua`).
    #[test]
    fn matches_kong_fixtures() {
        assert_eq!(
            generate("services", "my-service"),
            id("0855b320-0dd2-547d-891d-601e9b38647f")
        );
    }

    #[test]
    fn is_a_v5_per_entity_namespace() {
        let u = generate("routes", "my-route");
        assert_eq!(u.get_version_num(), 5);
        assert_ne!(u, generate("services", "my-route"));
        assert_eq!(u, generate("routes", "my-route"));
        let ns = Uuid::new_v5(&NAMESPACE, b"consumers");
        assert_eq!(generate("consumers", "alice"), Uuid::new_v5(&ns, b"alice"));
    }

    #[test]
    fn cache_keys_and_positions() {
        assert_eq!(
            cache_key("plugins", &["cors", "", "svc", "", ""]),
            "plugins:*:cors::svc::"
        );
        assert_eq!(
            cache_key("targets", &["u-id", "10.0.0.1:80"]),
            "targets:*:u-id:10.0.0.1:80"
        );
        assert_ne!(
            positional("routes", "services[0].routes[0]"),
            positional("routes", "routes[0]")
        );
    }
}
