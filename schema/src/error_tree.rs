//! Kong's nested error table (`{ config = { minute = "..." }, ["@entity"] = { ... } }`), kept
//! in the order errors were found and flattened into `FieldError`s at the end.

use crate::error::FieldError;
use crate::model::join;

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Msg(String),
    /// A record's own errors.
    Record(Errors),
    /// Array or set elements, by 0-based position.
    Items(Vec<(usize, Node)>),
    /// Map values, by key.
    Entries(Vec<(String, Node)>),
}

pub(crate) fn msg(m: impl Into<String>) -> Node {
    Node::Msg(m.into())
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Errors {
    fields: Vec<(String, Node)>,
    entity: Vec<String>,
}

impl Errors {
    pub(crate) fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.entity.is_empty()
    }

    /// `errors[name] = node`: a later error for a field replaces the earlier one.
    pub(crate) fn set(&mut self, name: &str, node: Node) {
        match self.fields.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = node,
            None => self.fields.push((name.to_string(), node)),
        }
    }

    /// Whether `errors[name]` is set; like Kong's lookup, a dotted name never is.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.fields.iter().any(|(n, _)| n == name)
    }

    /// Kong's `set_field(errors, "a.b", node)`: into nested records, creating them; a field
    /// that already has a plain message keeps it.
    pub(crate) fn set_path(&mut self, path: &str, node: Node) {
        let Some((head, tail)) = path.split_once('.') else {
            self.set(path, node);
            return;
        };
        if !self.has(head) {
            self.fields
                .push((head.to_string(), Node::Record(Errors::default())));
        }
        if let Some((_, Node::Record(inner))) = self.fields.iter_mut().find(|(n, _)| n == head) {
            inner.set_path(tail, node);
        }
    }

    /// An `@entity` error.
    pub(crate) fn entity(&mut self, message: String) {
        self.entity.push(message);
    }

    pub(crate) fn flatten(self, at: &str, out: &mut Vec<FieldError>) {
        for (name, node) in self.fields {
            node.flatten(&join(at, &name), out);
        }
        let entity_at = join(at, "@entity");
        out.extend(self.entity.into_iter().map(|message| FieldError {
            path: entity_at.clone(),
            message,
        }));
    }
}

impl Node {
    pub(crate) fn flatten(self, at: &str, out: &mut Vec<FieldError>) {
        match self {
            Node::Msg(message) => out.push(FieldError {
                path: at.to_string(),
                message,
            }),
            Node::Record(errors) => errors.flatten(at, out),
            Node::Items(items) => {
                for (i, node) in items {
                    node.flatten(&format!("{at}[{i}]"), out);
                }
            }
            Node::Entries(entries) => {
                for (key, node) in entries {
                    node.flatten(&join(at, &key), out);
                }
            }
        }
    }

    /// The first message, for places that report one (a schema default that does not validate).
    pub(crate) fn first(self) -> String {
        let mut out = Vec::new();
        self.flatten("", &mut out);
        out.into_iter()
            .next()
            .map(|e| {
                if e.path.is_empty() {
                    e.message
                } else {
                    e.to_string()
                }
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_errors_flatten_to_paths() {
        let mut inner = Errors::default();
        inner.set("minute", msg("expected a number"));
        inner.set("allow", Node::Items(vec![(1, msg("not an ip address: x"))]));
        inner.entity("at least one of these fields must be non-empty: 'a'".into());
        let mut top = Errors::default();
        top.set("config", Node::Record(inner));
        top.set_path("config.redis.host", msg("required field missing"));
        top.set("consumer", msg("value must be null"));
        top.set("consumer", msg("replaced"));
        top.entity("failed conditional validation given value of field 'config.policy'".into());
        let mut out = Vec::new();
        top.flatten("", &mut out);
        let lines: Vec<String> = out.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            vec![
                "config.minute: expected a number",
                "config.allow[1]: not an ip address: x",
                "config.redis.host: required field missing",
                "config.@entity: at least one of these fields must be non-empty: 'a'",
                "consumer: replaced",
                "@entity: failed conditional validation given value of field 'config.policy'",
            ]
        );
    }

    #[test]
    fn a_message_is_not_overwritten_by_a_nested_path() {
        let mut e = Errors::default();
        e.set("config", msg("expected a record"));
        e.set_path("config.x", msg("field required for entity check"));
        let mut out = Vec::new();
        e.flatten("", &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].message, "expected a record");
        let mut e = Errors::default();
        e.set_path("a.b", msg("m"));
        assert!(!e.has("a.b") && e.has("a"));
    }
}
