//! `consumers`, `consumer_groups` and plugin-owned credential entities.

use super::fields::{self, Fields, Sink};
use super::model::{Consumer, ConsumerGroup};
use uuid::Uuid;

pub(crate) fn read_consumer(f: &mut Fields, sink: &mut Sink) -> Consumer {
    let c = Consumer {
        id: Uuid::nil(),
        username: f.string("username", sink),
        custom_id: f.string("custom_id", sink),
        tags: fields::tags(f, sink),
    };
    if c.username.is_none() && c.custom_id.is_none() {
        sink.error(
            f.path(),
            "at least one of these fields must be non-empty: 'custom_id', 'username'",
        );
    }
    c
}

pub(crate) fn read_group(f: &mut Fields, sink: &mut Sink) -> ConsumerGroup {
    ConsumerGroup {
        id: Uuid::nil(),
        name: f.required_string("name", sink).unwrap_or_default(),
        tags: fields::tags(f, sink),
    }
}

/// What Sluice knows of a plugin's credential entity (from the bundled plugins' `daos.lua`).
pub(crate) struct CredentialSchema {
    pub entity: &'static str,
    /// The cache-key fields Kong builds ids from; `None` when one of them is auto-generated
    /// (Kong then uses a random id).
    pub cache_key: Option<&'static [&'static str]>,
    /// Fields whose values must be unique across the entity.
    pub unique: &'static [&'static str],
}

/// The credential entities the bundled auth plugins declare; each belongs to a consumer.
pub(crate) const CREDENTIALS: [CredentialSchema; 6] = [
    CredentialSchema {
        entity: "keyauth_credentials",
        cache_key: None,
        unique: &["key"],
    },
    CredentialSchema {
        entity: "basicauth_credentials",
        cache_key: Some(&["username"]),
        unique: &["username"],
    },
    CredentialSchema {
        entity: "acls",
        cache_key: Some(&["consumer", "group"]),
        unique: &[],
    },
    CredentialSchema {
        entity: "jwt_secrets",
        cache_key: None,
        unique: &["key"],
    },
    CredentialSchema {
        entity: "hmacauth_credentials",
        cache_key: Some(&["username"]),
        unique: &["username"],
    },
    CredentialSchema {
        entity: "oauth2_credentials",
        cache_key: None,
        unique: &["client_id"],
    },
];

/// The credential entities of the bundled auth plugins, each with the fields whose values are
/// unique across it (what `kong.db.<entity>:select_by_<field>` looks up).
pub fn credential_entities() -> impl Iterator<Item = (&'static str, &'static [&'static str])> {
    CREDENTIALS.iter().map(|c| (c.entity, c.unique))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn consumers_need_a_username_or_custom_id() {
        let (c, errors) =
            fields::read_record(&json!({"tags": ["x"]}), "consumers[0]", read_consumer);
        assert_eq!(c.tags, vec!["x"]);
        assert_eq!(
            errors,
            vec!["k: consumers[0]: at least one of these fields must be non-empty: 'custom_id', 'username'"]
        );
    }

    #[test]
    fn groups_need_a_name() {
        let (_, errors) = fields::read_record(&json!({}), "consumer_groups[0]", read_group);
        assert_eq!(
            errors,
            vec!["k: consumer_groups[0].name: required field missing"]
        );
    }
}
