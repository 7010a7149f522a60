//! Kong's `Schema:validate_field` and `Schema:validate`: type checks, then the validators in
//! Kong's order, with Kong's messages; records also check required fields, entity checks and
//! the schema's `check` function.

use crate::error_tree::{msg, Errors, Node};
use crate::model::{Field, Kind, Record, Rule};
use crate::text;
use crate::vm::Vm;
use serde_json::{Map, Value};

pub(crate) const REQUIRED: &str = "required field missing";

pub(crate) struct Validator<'a> {
    pub vm: Vm<'a>,
}

impl Validator<'_> {
    /// `Schema:validate_field`: `Ok` or the error (a message, or nested errors).
    pub(crate) fn field(&self, field: &Field, value: &Value) -> Result<(), Node> {
        let custom = |m: String| msg(field.err.clone().unwrap_or(m));
        if value.is_null() {
            if field.ne().is_some_and(Value::is_null) {
                return Err(custom("value must not be null".into()));
            }
            if let Some(eq) = field.eq().filter(|eq| !eq.is_null()) {
                return Err(msg(format!("value must be {}", text::value(eq))));
            }
            if field.is_required() {
                return Err(msg(REQUIRED));
            }
            return Ok(());
        }
        if field.eq().is_some_and(Value::is_null) {
            return Err(custom("value must be null".into()));
        }
        if field.referenceable && is_reference(value) {
            return Ok(());
        }
        self.shape(field, value)?;
        for rule in &field.rules {
            self.rule(rule, value).map_err(custom)?;
        }
        Ok(())
    }

    /// The type check, and the contents of aggregates.
    fn shape(&self, field: &Field, value: &Value) -> Result<(), Node> {
        match field.kind {
            Kind::Array | Kind::Set => {
                let Some(items) = sequence(value) else {
                    return Err(msg(if field.kind == Kind::Array {
                        "expected an array"
                    } else {
                        "expected a set"
                    }));
                };
                let Some(elements) = &field.elements else {
                    return Ok(());
                };
                let elements = required(elements);
                let errors: Vec<(usize, Node)> = items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| self.field(&elements, v).err().map(|e| (i, e)))
                    .collect();
                if !errors.is_empty() {
                    return Err(Node::Items(errors));
                }
            }
            Kind::Map => {
                let Some(map) = value.as_object() else {
                    return Err(msg("expected a map"));
                };
                let (Some(keys), Some(values)) = (&field.keys, &field.values) else {
                    return Ok(());
                };
                let (keys, values) = (required(keys), required(values));
                for (k, v) in map {
                    self.field(&keys, &Value::String(k.clone()))?;
                    self.field(&values, v)
                        .map_err(|e| Node::Entries(vec![(k.clone(), e)]))?;
                }
            }
            Kind::Record => {
                let Some(map) = value.as_object() else {
                    return Err(msg("expected a record"));
                };
                if let Some(record) = &field.record {
                    let errors = self.record(record, map);
                    if !errors.is_empty() {
                        return Err(Node::Record(errors));
                    }
                }
            }
            Kind::Integer => {
                if !value
                    .as_f64()
                    .is_some_and(|n| n.is_finite() && n.fract() == 0.0)
                {
                    return Err(msg("expected an integer"));
                }
            }
            Kind::Number if !value.is_number() => return Err(msg("expected a number")),
            Kind::Boolean if !value.is_boolean() => return Err(msg("expected a boolean")),
            Kind::String if !value.is_string() => return Err(msg("expected a string")),
            Kind::Function => return Err(msg("expected a function")),
            Kind::Number | Kind::Boolean | Kind::String | Kind::Foreign | Kind::Json => {}
        }
        Ok(())
    }

    /// One validator; the message on failure.
    fn rule(&self, rule: &Rule, value: &Value) -> Result<(), String> {
        let invalid = || format!("invalid value: {}", text::value(value));
        let pass = |ok: bool, message: String| if ok { Ok(()) } else { Err(message) };
        let num = value.as_f64();
        let s = value.as_str();
        match rule {
            Rule::Eq(wanted) => pass(
                same(value, wanted),
                format!("value must be {}", text::value(wanted)),
            ),
            Rule::Ne(wanted) => pass(
                !same(value, wanted),
                format!("value must not be {}", text::value(value)),
            ),
            Rule::NotOneOf(list) => pass(
                !list.iter().any(|o| same(value, o)),
                format!("must not be one of: {}", text::concat(list)),
            ),
            Rule::OneOf(list) => pass(
                list.iter().any(|o| same(value, o)),
                format!("expected one of: {}", text::concat(list)),
            ),
            Rule::Gt(limit) => pass(
                num.is_none_or(|n| n > *limit),
                format!("value must be greater than {}", text::number(*limit)),
            ),
            Rule::Timestamp => pass(
                num.is_none_or(|n| n > 0.0),
                "expected a valid timestamp".into(),
            ),
            Rule::Uuid => pass(s.is_none_or(is_uuid), "expected a valid UUID".into()),
            Rule::IsRegex => match s {
                Some(s) => pass(self.vm.is_regex(s)?, format!("not a valid regex: {s}")),
                None => Ok(()),
            },
            Rule::Between(lo, hi) => pass(
                num.is_none_or(|n| n >= *lo && n <= *hi),
                format!(
                    "value should be between {} and {}",
                    text::integer(*lo),
                    text::integer(*hi)
                ),
            ),
            Rule::LenEq(n) => length(value, |len| len == *n, "length must be", *n),
            Rule::LenMin(n) => length(value, |len| len >= *n, "length must be at least", *n),
            Rule::LenMax(n) => length(value, |len| len <= *n, "length must be at most", *n),
            Rule::StartsWith(prefix) => pass(
                s.is_none_or(|s| s.starts_with(prefix.as_str())),
                format!("should start with: {prefix}"),
            ),
            Rule::NotMatch(p) => match s {
                Some(s) => pass(!self.vm.matches(s, p)?, invalid()),
                None => Ok(()),
            },
            Rule::MatchNone(list) => {
                let Some(s) = s else { return Ok(()) };
                for p in list {
                    if self.vm.matches(s, &p.pattern)? {
                        return Err(p.err.clone().unwrap_or_else(invalid));
                    }
                }
                Ok(())
            }
            Rule::Match(p) => match s {
                Some(s) => pass(self.vm.matches(s, p)?, invalid()),
                None => Ok(()),
            },
            Rule::MatchAll(list) => {
                let Some(s) = s else { return Ok(()) };
                for p in list {
                    if !self.vm.matches(s, &p.pattern)? {
                        return Err(p.err.clone().unwrap_or_else(invalid));
                    }
                }
                Ok(())
            }
            Rule::MatchAny { patterns, err } => {
                let Some(s) = s else { return Ok(()) };
                for p in patterns {
                    if self.vm.matches(s, p)? {
                        return Ok(());
                    }
                }
                Err(err.clone().unwrap_or_else(invalid))
            }
            Rule::Contains(wanted) => pass(
                sequence(value).is_none_or(|items| items.iter().any(|i| same(i, wanted))),
                format!("expected to contain: {}", text::value(wanted)),
            ),
            Rule::Custom(f) => {
                let verdict = self.vm.verdict(f, &[value])?;
                match verdict.ok {
                    true => Ok(()),
                    false => Err(verdict
                        .message()
                        .unwrap_or_else(|| format!("failed validating: {}", text::value(value)))),
                }
            }
            Rule::MutuallyExclusiveSubsets(subsets) => mutually_exclusive_subsets(value, subsets),
        }
    }

    /// `Schema:validate` of a record (a full check: this is configuration, not a partial update).
    pub(crate) fn record(&self, record: &Record, input: &Map<String, Value>) -> Errors {
        let mut errors = Errors::default();
        for (name, field) in &record.fields {
            if let Some(value) = input.get(name) {
                if let Err(e) = self.field(field, value) {
                    errors.set(name, e);
                }
            }
        }
        for key in input.keys() {
            if record.field(key).is_none() {
                errors.set(key, msg("unknown field"));
            }
        }
        for (name, field) in &record.fields {
            if field.is_required() && input.get(name).is_none_or(Value::is_null) {
                errors.set(name, msg(REQUIRED));
            }
        }
        self.entity_checks(record, input, &mut errors);
        if let Some(check) = &record.check {
            self.self_check(check, input, &mut errors);
        }
        errors
    }

    /// The schema's `check(entity)`: a message, or a table of messages (numeric keys for the
    /// entity, names for fields).
    fn self_check(&self, check: &mlua::Function, input: &Map<String, Value>, errors: &mut Errors) {
        let entity = Value::Object(input.clone());
        let verdict = match self.vm.verdict(check, &[&entity]) {
            Ok(v) if v.ok => return,
            Ok(v) => v,
            Err(e) => return errors.entity(e),
        };
        match verdict.err {
            Some(Value::Object(fields)) => {
                for (k, v) in fields {
                    let m = text::value(&v);
                    match k.parse::<usize>() {
                        Ok(_) => errors.entity(m),
                        Err(_) => errors.set(&k, msg(m)),
                    }
                }
            }
            Some(Value::Array(items)) => items.iter().for_each(|v| errors.entity(text::value(v))),
            Some(Value::String(m)) => errors.entity(m),
            _ => errors.entity("entity check failed".to_string()),
        }
    }
}

/// Elements, keys and map values are required: a `null` inside an aggregate is an error.
fn required(field: &Field) -> Field {
    Field {
        required: Some(true),
        ..field.clone()
    }
}

/// A Lua sequence: an array, or the empty table that JSON writes as `{}`.
pub(crate) fn sequence(value: &Value) -> Option<&[Value]> {
    match value {
        Value::Array(items) => Some(items),
        Value::Object(o) if o.is_empty() => Some(&[]),
        _ => None,
    }
}

/// Lua equality for data: numbers by value, tables never (they would compare by identity).
pub(crate) fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(_) | Value::Object(_), _) | (_, Value::Array(_) | Value::Object(_)) => false,
        _ => a == b,
    }
}

/// Kong's `is_reference`: `{vault://...}`.
fn is_reference(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| s.starts_with("{vault:/") && s.ends_with('}'))
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// `#value`: bytes of a string, items of an array, entries of a map.
fn length(value: &Value, ok: impl Fn(f64) -> bool, text: &str, n: f64) -> Result<(), String> {
    let len = match value {
        Value::String(s) => s.len(),
        Value::Array(a) => a.len(),
        Value::Object(o) => o.len(),
        _ => return Ok(()),
    };
    if ok(len as f64) {
        Ok(())
    } else {
        Err(format!("{text} {}", text::integer(n)))
    }
}

/// The values of a set may come from at most one of the subsets.
fn mutually_exclusive_subsets(value: &Value, subsets: &[Vec<String>]) -> Result<(), String> {
    let mut member_of: Vec<&Vec<String>> = Vec::new();
    for v in sequence(value).unwrap_or(&[]) {
        let Some(v) = v.as_str() else { continue };
        if let Some(subset) = subsets.iter().find(|s| s.iter().any(|e| e == v)) {
            if !member_of.iter().any(|m| std::ptr::eq(*m, subset)) {
                member_of.push(subset);
            }
        }
    }
    if member_of.len() <= 1 {
        return Ok(());
    }
    let groups: Vec<String> = member_of
        .iter()
        .map(|s| format!("({})", text::quoted(s)))
        .collect();
    Err(format!(
        "these sets are mutually exclusive: {}",
        groups.join(", ")
    ))
}
