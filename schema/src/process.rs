//! Kong's `process_auto_fields` for an insert: shorthand fields are mapped onto the real ones,
//! then every field gets its value, its default, or `null`; required records are expanded so
//! their own defaults appear; sets lose duplicates.

use crate::error::FieldError;
use crate::model::{join, Field, Kind, Record};
use crate::validate::{same, Validator};
use serde_json::{Map, Value};

impl Validator<'_> {
    /// The record's data with defaults filled. Errors of shorthand fields (which never reach
    /// validation: they are consumed here) are added to `errors`.
    pub(crate) fn process(
        &self,
        record: &Record,
        input: &Map<String, Value>,
        at: &str,
        errors: &mut Vec<FieldError>,
    ) -> Map<String, Value> {
        let mut data = input.clone();
        for shorthand in &record.shorthands {
            let Some(value) = data.remove(&shorthand.name) else {
                continue;
            };
            let shorthand_at = join(at, &shorthand.name);
            if let Err(e) = self.field(&shorthand.field, &value) {
                e.flatten(&shorthand_at, errors);
                continue;
            }
            match self.vm.map(&shorthand.func, &value) {
                Ok(Some(Value::Object(new_values))) => {
                    merge_shorthand(&mut data, new_values, shorthand.deprecated)
                }
                Ok(_) => {}
                Err(message) => errors.push(FieldError {
                    path: shorthand_at,
                    message,
                }),
            }
        }
        for (name, field) in &record.fields {
            let value = data.remove(name);
            if let Some(v) = self.adjust(field, value, &join(at, name), errors) {
                data.insert(name.clone(), v);
            }
        }
        data
    }

    /// Kong's `adjust_field_for_context` for an insert.
    fn adjust(
        &self,
        field: &Field,
        mut value: Option<Value>,
        at: &str,
        errors: &mut Vec<FieldError>,
    ) -> Option<Value> {
        if let Some(record) = &field.record {
            let recurse = value != Some(Value::Null) && (value.is_some() || field.is_required());
            if recurse {
                value = value.or_else(|| missing(field));
                if let Some(Value::Object(map)) = &value {
                    return Some(Value::Object(self.process(record, map, at, errors)));
                }
            }
        }
        let value = normalize_empty(field, value.or_else(|| missing(field))?);
        Some(match (field.kind, value) {
            (Kind::Array | Kind::Set, Value::Array(items)) => {
                let items = match field.elements.as_deref() {
                    Some(elements) if elements.record.is_some() => items
                        .into_iter()
                        .enumerate()
                        .filter_map(|(i, v)| {
                            self.adjust(elements, Some(v), &format!("{at}[{i}]"), errors)
                        })
                        .collect(),
                    _ => items,
                };
                Value::Array(if field.kind == Kind::Set {
                    dedupe(items)
                } else {
                    items
                })
            }
            (Kind::Map, Value::Object(map)) => match field.values.as_deref() {
                Some(values) if values.record.is_some() => Value::Object(
                    map.into_iter()
                        .filter_map(|(k, v)| {
                            let v = self.adjust(values, Some(v), &join(at, &k), errors)?;
                            Some((k, v))
                        })
                        .collect(),
                ),
                _ => Value::Object(map),
            },
            (_, v) => v,
        })
    }
}

/// Kong's `handle_missing_field`: the default, else `null` for an optional field, else an
/// empty record to expand, else nothing (the required check reports it).
fn missing(field: &Field) -> Option<Value> {
    if let Some(default) = &field.default {
        return Some(default.clone());
    }
    if !field.is_required() {
        return Some(Value::Null);
    }
    field.record.as_ref().map(|_| Value::Object(Map::new()))
}

/// Merges what a shorthand's `func` returned into the data (Kong ≥ 3.6): tables are merged
/// with what is there, the shorthand winning unless it is deprecated; other values are set,
/// except over a value a deprecated shorthand's replacement already has.
fn merge_shorthand(
    data: &mut Map<String, Value>,
    new_values: Map<String, Value>,
    deprecated: bool,
) {
    for (k, v) in new_values {
        match v {
            Value::Object(new) => {
                let mut merged = match data.remove(&k) {
                    Some(Value::Object(old)) => old,
                    _ => Map::new(),
                };
                for (nk, nv) in new {
                    if !(deprecated && merged.contains_key(&nk)) {
                        merged.insert(nk, nv);
                    }
                }
                data.insert(k, Value::Object(merged));
            }
            v => {
                if !deprecated || data.get(&k).is_none_or(Value::is_null) {
                    data.insert(k, v);
                }
            }
        }
    }
}

/// The empty table is an array or an object depending on the field.
fn normalize_empty(field: &Field, value: Value) -> Value {
    match (field.kind, value) {
        (k, Value::Object(o)) if k.is_sequence() && o.is_empty() => Value::Array(Vec::new()),
        (Kind::Map | Kind::Record, Value::Array(a)) if a.is_empty() => Value::Object(Map::new()),
        (_, v) => v,
    }
}

/// Type-directed clean-up of data read from Lua (a schema's defaults, a shorthand's result):
/// empty tables take the shape their field expects, all the way down.
pub(crate) fn normalize(field: &Field, value: Value) -> Value {
    match normalize_empty(field, value) {
        Value::Array(items) => match &field.elements {
            Some(e) => Value::Array(items.into_iter().map(|v| normalize(e, v)).collect()),
            None => Value::Array(items),
        },
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let inner = match (&field.record, &field.values) {
                        (Some(r), _) => r.field(&k),
                        (None, Some(values)) => Some(&**values),
                        (None, None) => None,
                    };
                    let v = match inner {
                        Some(f) => normalize(f, v),
                        None => v,
                    };
                    (k, v)
                })
                .collect(),
        ),
        v => v,
    }
}

/// Kong's `make_set`: the first of equal values stays.
fn dedupe(items: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for v in items {
        if !out.iter().any(|w| same(w, &v)) {
            out.push(v);
        }
    }
    out
}

/// What the handler's `conf` sees: Kong reads plugin configs back with `nulls = false`, so
/// unset fields are absent rather than `null`.
pub(crate) fn strip_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_nulls).collect()),
        v => v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deprecated_shorthands_do_not_override_new_names() {
        let object = |v: Value| v.as_object().cloned().unwrap_or_default();
        let mut data = object(json!({"redis": {"host": "new"}, "port": 1}));
        let new = object(json!({"redis": {"host": "old", "port": 7}, "port": 2}));
        merge_shorthand(&mut data, new.clone(), true);
        assert_eq!(
            Value::Object(data.clone()),
            json!({"redis": {"host": "new", "port": 7}, "port": 1})
        );
        merge_shorthand(&mut data, new, false);
        assert_eq!(
            Value::Object(data),
            json!({"redis": {"host": "old", "port": 7}, "port": 2})
        );
    }

    #[test]
    fn nulls_are_stripped_for_conf() {
        assert_eq!(
            strip_nulls(&json!({"a": null, "b": {"c": null, "d": [ {"e": null} ]}, "f": 1})),
            json!({"b": {"d": [{}]}, "f": 1})
        );
    }

    #[test]
    fn sets_keep_first_of_equal_values() {
        assert_eq!(
            dedupe(vec![json!("a"), json!(1), json!("a"), json!(1.0)]),
            vec![json!("a"), json!(1)]
        );
    }
}
