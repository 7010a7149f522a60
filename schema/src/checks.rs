//! Entity checks: Kong's cross-field rules (`Schema.entity_checkers` and `run_entity_check`),
//! with when each one runs (missing fields, fields that already failed) and its message.

use crate::error_tree::{msg, Errors};
use crate::model::{Check, Field, Record};
use crate::text;
use crate::validate::{same, Validator, REQUIRED};
use serde_json::{Map, Value};

/// Which fields a check reads and when it runs, as Kong's checker table says.
struct Plan<'a> {
    fields: Vec<&'a String>,
    /// Missing ones stop the check with "field required for entity check".
    required: Vec<&'a String>,
    run_with_missing_fields: bool,
    run_with_invalid_fields: bool,
}

/// A check over a list of fields, all of them required unless it runs with missing fields.
fn list(names: &[String], missing: bool, invalid: bool) -> Plan<'_> {
    Plan {
        fields: names.iter().collect(),
        required: names.iter().collect(),
        run_with_missing_fields: missing,
        run_with_invalid_fields: invalid,
    }
}

fn plan(check: &Check) -> Plan<'_> {
    match check {
        Check::AtLeastOneOf(n) => list(n, true, true),
        Check::OnlyOneOf(n) | Check::Distinct(n) => list(n, false, true),
        Check::MutuallyRequired(n) | Check::MutuallyExclusive(n) => list(n, true, false),
        Check::MutuallyExclusiveSets { set1, set2 } => Plan {
            fields: set1.iter().chain(set2).collect(),
            required: Vec::new(),
            run_with_missing_fields: true,
            run_with_invalid_fields: false,
        },
        Check::Conditional {
            if_field,
            then_field,
            ..
        } => Plan {
            fields: vec![if_field, then_field],
            required: vec![if_field],
            run_with_missing_fields: false,
            run_with_invalid_fields: true,
        },
        Check::ConditionalAtLeastOneOf {
            if_field,
            then_at_least_one_of,
            else_then_at_least_one_of,
            ..
        } => Plan {
            fields: std::iter::once(if_field)
                .chain(then_at_least_one_of)
                .chain(else_then_at_least_one_of)
                .collect(),
            // Kong lists it as an array, so its lookup by name never finds it.
            required: Vec::new(),
            run_with_missing_fields: true,
            run_with_invalid_fields: true,
        },
        Check::Custom { field_sources, .. } => list(field_sources, false, false),
    }
}

impl Validator<'_> {
    pub(crate) fn entity_checks(
        &self,
        record: &Record,
        input: &Map<String, Value>,
        errors: &mut Errors,
    ) {
        for check in &record.checks {
            self.entity_check(check, input, errors);
        }
    }

    fn entity_check(&self, check: &Check, input: &Map<String, Value>, errors: &mut Errors) {
        let plan = plan(check);
        let mut missing = Vec::new();
        let mut all_nil = true;
        let mut all_ok = true;
        for name in &plan.fields {
            match get(input, name) {
                None if !plan.run_with_missing_fields && plan.required.contains(name) => {
                    missing.push(*name)
                }
                None => {}
                Some(_) => all_nil = false,
            }
            if errors.has(name) {
                all_ok = false;
            }
        }
        if (!all_ok && !plan.run_with_invalid_fields) || (all_nil && !plan.run_with_missing_fields)
        {
            return;
        }
        if !missing.is_empty() {
            for name in missing {
                errors.set_path(name, msg("field required for entity check"));
            }
            return;
        }
        if let Some(message) = self.failure(check, input, errors) {
            errors.entity(message);
        }
    }

    /// Runs one check: `None` when it holds, else the `@entity` message.
    fn failure(
        &self,
        check: &Check,
        input: &Map<String, Value>,
        errors: &mut Errors,
    ) -> Option<String> {
        let nonempty = |names: &[String]| -> Vec<String> {
            names
                .iter()
                .filter(|n| is_nonempty(get(input, n)))
                .cloned()
                .collect()
        };
        match check {
            Check::AtLeastOneOf(names) => nonempty(names).is_empty().then(|| {
                format!(
                    "at least one of these fields must be non-empty: {}",
                    text::quoted(names)
                )
            }),
            Check::OnlyOneOf(names) => (nonempty(names).len() != 1).then(|| {
                format!(
                    "only one of these fields must be non-empty: {}",
                    text::quoted(names)
                )
            }),
            Check::Distinct(names) => {
                let values: Vec<&Value> = names
                    .iter()
                    .filter_map(|n| get(input, n))
                    .filter(|v| is_nonempty(Some(v)))
                    .collect();
                let repeated = values
                    .iter()
                    .enumerate()
                    .any(|(i, v)| values[..i].iter().any(|w| same(v, w)));
                repeated.then(|| {
                    format!(
                        "values of these fields must be distinct: {}",
                        text::quoted(names)
                    )
                })
            }
            Check::MutuallyRequired(names) => {
                let set = nonempty(names).len();
                (set != 0 && set != names.len()).then(|| {
                    format!(
                        "all or none of these fields must be set: {}",
                        text::quoted(names)
                    )
                })
            }
            Check::MutuallyExclusive(names) => (nonempty(names).len() > 1).then(|| {
                format!(
                    "only one or none of these fields must be set: {}",
                    text::quoted(names)
                )
            }),
            Check::MutuallyExclusiveSets { set1, set2 } => {
                let (a, b) = (nonempty(set1), nonempty(set2));
                (!a.is_empty() && !b.is_empty()).then(|| {
                    format!(
                        "these sets are mutually exclusive: ({}), ({})",
                        text::quoted(&a),
                        text::quoted(&b)
                    )
                })
            }
            Check::Conditional {
                if_field,
                if_match,
                then_field,
                then_match,
                then_err,
            } => {
                let if_value = get(input, if_field)?;
                self.field(if_match, if_value).ok()?;
                let then_value = get(input, then_field).unwrap_or(&Value::Null);
                let failed =
                    || format!("failed conditional validation given value of field '{if_field}'");
                if then_match.is_required() && then_value.is_null() {
                    errors.set_path(then_field, msg(REQUIRED));
                    return Some(failed());
                }
                let err = self.field(then_match, then_value).err()?;
                errors.set_path(then_field, err);
                Some(
                    then_err
                        .as_ref()
                        .map_or_else(failed, |e| text::format_s(e, if_field)),
                )
            }
            Check::ConditionalAtLeastOneOf {
                if_field,
                if_match,
                then_at_least_one_of,
                then_err,
                else_match,
                else_then_at_least_one_of,
                else_then_err,
            } => {
                let if_value = get(input, if_field)?;
                let (names, custom) = if self.field(if_match, if_value).is_ok() {
                    (then_at_least_one_of, then_err)
                } else {
                    let else_match: &Field = else_match.as_deref()?;
                    self.field(else_match, if_value).ok()?;
                    (else_then_at_least_one_of, else_then_err)
                };
                if !nonempty(names).is_empty() {
                    return None;
                }
                let list = text::quoted(names);
                Some(match custom {
                    Some(e) => text::format_s(e, &list),
                    None => format!("at least one of these fields must be non-empty: {list}"),
                })
            }
            Check::Custom {
                field_sources,
                func,
            } => {
                let mut projection = Map::new();
                for name in field_sources {
                    if let Some(v) = get(input, name) {
                        set(&mut projection, name, v.clone());
                    }
                }
                match self.vm.verdict(func, &[&Value::Object(projection)]) {
                    Ok(v) if v.ok => None,
                    Ok(v) => Some(v.err2.or(v.err).map_or_else(
                        || {
                            format!(
                                "failed entity check: custom_entity_check({})",
                                text::quoted(field_sources)
                            )
                        },
                        |e| text::value(&e),
                    )),
                    Err(e) => Some(e),
                }
            }
        }
    }
}

/// Kong's `get_field(entity, "a.b.c")`: `None` is Lua's nil (absent, or under a null/non-table).
pub(crate) fn get<'v>(input: &'v Map<String, Value>, path: &str) -> Option<&'v Value> {
    match path.split_once('.') {
        None => input.get(path),
        Some((head, tail)) => get(input.get(head)?.as_object()?, tail),
    }
}

/// Kong's `set_field(tbl, "a.b.c", v)`.
fn set(target: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            target.insert(path.to_string(), value);
        }
        Some((head, tail)) => {
            let slot = target
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(inner) = slot {
                set(inner, tail, value);
            }
        }
    }
}

/// Kong's `is_nonempty`: not nil, null, an empty table or an empty string.
fn is_nonempty(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(_) => true,
    }
}
