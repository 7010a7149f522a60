//! Reads a schema definition into the model, refusing what Kong's metaschema refuses
//! (`kong/db/schema/metaschema.lua`), with its messages where it has one.

use crate::error::SchemaError;
use crate::model::{join, Check, Field, Kind, Pattern, Record, Rule, Shorthand};
use crate::process;
use crate::raw::Raw;
use mlua::Function;
use serde_json::Value;

type Res<T> = Result<T, SchemaError>;

/// Attributes any field may carry that change nothing here: documentation, storage hints for
/// the database, vault encryption, and `json_schema` (a TODO: `json` values are not checked
/// against it).
const ACCEPTED: [&str; 13] = [
    "abstract",
    "auto",
    "description",
    "deprecation",
    "encrypted",
    "generate_admin_api",
    "immutable",
    "json_schema",
    "legacy",
    "on_delete",
    "reference",
    "unique",
    "unique_across_ws",
];

/// The attributes the metaschema ties to field types (`attribute_types`).
fn attribute_kinds(attribute: &str) -> Option<&'static [Kind]> {
    use Kind::*;
    Some(match attribute {
        "between" => &[Integer, Number],
        "len_eq" => &[Array, Set, String, Map],
        "match" => &[String],
        "one_of" => &[String, Number, Integer],
        "contains" => &[Array, Set],
        "is_regex" => &[String],
        "timestamp" => &[Number, Integer],
        "uuid" => &[String],
        "unique" => &[String, Number, Integer, Foreign],
        _ => return None,
    })
}

/// How a field definition is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A field of a schema: complete, with the metaschema's checks.
    Field,
    /// A `shorthand_fields` entry: a field plus `func`.
    Shorthand,
    /// An entity check's `if_match` / `then_match`: attributes laid over a field's definition.
    Overlay,
}

pub(crate) struct Builder<'a> {
    pub plugin: &'a str,
}

impl Builder<'_> {
    pub(crate) fn error(&self, at: &str, message: impl Into<String>) -> SchemaError {
        SchemaError {
            plugin: self.plugin.to_string(),
            at: at.to_string(),
            message: message.into(),
        }
    }

    /// `fields = { { name = { ... } }, ... }` of the record at `at`.
    pub(crate) fn fields(&self, raw: &Raw, at: &str) -> Res<Vec<(String, Field)>> {
        let items = raw
            .as_array()
            .ok_or_else(|| self.error(at, "'fields' must be a table"))?;
        let mut fields = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let entry_at = join(at, &format!("fields[{i}]"));
            let entries = item
                .as_object()
                .ok_or_else(|| self.error(&entry_at, "each entry in fields must be a sub-table"))?;
            let (name, def) = match entries {
                [] => return Err(self.error(&entry_at, "field entry table is empty")),
                [one] => one,
                _ => return Err(self.error(&entry_at, "length must be 1")),
            };
            let field_at = join(at, name);
            if def.as_object().is_none() {
                return Err(self.error(&field_at, format!("'{name}' must be a table")));
            }
            fields.push((name.clone(), self.field(def, &field_at)?));
        }
        Ok(fields)
    }

    pub(crate) fn field(&self, def: &Raw, at: &str) -> Res<Field> {
        self.definition(def, None, at, Role::Field)
    }

    /// The body of a record: its fields are already read; adds shorthand fields and entity
    /// checks from `def`.
    pub(crate) fn record(&self, def: &Raw, at: &str, fields: Vec<(String, Field)>) -> Res<Record> {
        let mut record = Record {
            fields,
            ..Record::default()
        };
        if let Some(raw) = present(def.get("shorthand_fields")) {
            record.shorthands = self.shorthands(raw, at)?;
        }
        if let Some(raw) = present(def.get("entity_checks")) {
            record.checks = self.checks(raw, at, &record)?;
        }
        Ok(record)
    }

    fn definition(&self, def: &Raw, base: Option<&Field>, at: &str, role: Role) -> Res<Field> {
        let entries = def
            .as_object()
            .ok_or_else(|| self.error(at, "field definition must be a table"))?;
        let kind = match present(def.get("type")) {
            Some(Raw::String(name)) => Kind::parse(name).ok_or_else(|| {
                let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
                self.error(at, format!("type: expected one of: {}", names.join(", ")))
            })?,
            Some(_) => return Err(self.error(at, "type: expected a string")),
            None => match base {
                Some(b) => b.kind,
                None => return Err(self.error(at, "missing type declaration")),
            },
        };
        if role == Role::Shorthand && matches!(kind, Kind::Record | Kind::Foreign | Kind::Function)
        {
            return Err(self.error(
                at,
                format!("type: a shorthand field cannot be a {}", kind.name()),
            ));
        }
        let mut field = match base {
            Some(b) => Field { kind, ..b.clone() },
            None => Field::new(kind),
        };
        let mut default = None;
        for (key, value) in entries {
            if matches!(value, Raw::Null) && key != "eq" && key != "ne" {
                continue;
            }
            if role != Role::Overlay {
                if let Some(kinds) = attribute_kinds(key) {
                    if !kinds.contains(&kind) {
                        return Err(self.error(
                            at,
                            format!(
                                "field of type '{}' cannot have attribute '{key}'",
                                kind.name()
                            ),
                        ));
                    }
                }
            }
            let a = Attr {
                b: self,
                at,
                key,
                value,
            };
            match key.as_str() {
                "type" => {}
                "required" => field.required = Some(a.boolean()?),
                "default" => default = Some(value),
                "err" => field.err = Some(a.string()?),
                "referenceable" => field.referenceable = a.boolean()?,
                "eq" => field.set_rule(Rule::Eq(a.data()?)),
                "ne" => field.set_rule(Rule::Ne(a.data()?)),
                "one_of" => field.set_rule(Rule::OneOf(a.list()?)),
                "not_one_of" => field.set_rule(Rule::NotOneOf(a.list()?)),
                "gt" => field.set_rule(Rule::Gt(a.number()?)),
                "between" => {
                    let (lo, hi) = a.pair()?;
                    field.set_rule(Rule::Between(lo, hi));
                }
                "len_eq" => field.set_rule(Rule::LenEq(a.integer()?)),
                "len_min" => field.set_rule(Rule::LenMin(a.integer()?)),
                "len_max" => field.set_rule(Rule::LenMax(a.integer()?)),
                "match" => field.set_rule(Rule::Match(a.string()?)),
                "not_match" => field.set_rule(Rule::NotMatch(a.string()?)),
                "starts_with" => field.set_rule(Rule::StartsWith(a.string()?)),
                "match_all" => field.set_rule(Rule::MatchAll(a.patterns()?)),
                "match_none" => field.set_rule(Rule::MatchNone(a.patterns()?)),
                "match_any" => field.set_rule(a.match_any()?),
                "contains" => field.set_rule(Rule::Contains(a.data()?)),
                "is_regex" => a.flag(&mut field, Rule::IsRegex)?,
                "timestamp" => a.flag(&mut field, Rule::Timestamp)?,
                "uuid" => a.flag(&mut field, Rule::Uuid)?,
                "custom_validator" => field.set_rule(Rule::Custom(a.function()?)),
                "mutually_exclusive_subsets" => {
                    field.set_rule(Rule::MutuallyExclusiveSubsets(a.subsets()?))
                }
                "elements" => field.elements = Some(Box::new(a.nested()?)),
                "keys" => field.keys = Some(Box::new(a.nested()?)),
                "values" => field.values = Some(Box::new(a.nested()?)),
                "fields" => {
                    let fields = self.fields(value, at)?;
                    field.record = Some(Box::new(self.record(def, at, fields)?));
                }
                "entity_checks" | "shorthand_fields" => {} // read with `fields`
                "func" | "translate_backwards" if role == Role::Shorthand => {}
                _ if ACCEPTED.contains(&key.as_str()) => {}
                _ => return Err(self.error(at, format!("unknown attribute '{key}'"))),
            }
        }
        if field.record.is_none()
            && (present(def.get("entity_checks")).is_some()
                || present(def.get("shorthand_fields")).is_some())
        {
            return Err(self.error(at, "entity_checks and shorthand_fields need 'fields'"));
        }
        if role != Role::Overlay {
            self.check_required_attributes(&field, at)?;
            // Kong's `validate_field` gives every string without `len_min` a `len_min` of 1.
            if kind == Kind::String && !field.rules.iter().any(|r| matches!(r, Rule::LenMin(_))) {
                field.set_rule(Rule::LenMin(1.0));
            }
        }
        if let Some(raw) = default {
            let value = raw
                .to_json()
                .map_err(|e| self.error(at, format!("default: {e}")))?;
            field.default = Some(process::normalize(&field, value));
        }
        Ok(field)
    }

    fn check_required_attributes(&self, field: &Field, at: &str) -> Res<()> {
        let missing = match field.kind {
            Kind::Array | Kind::Set if field.elements.is_none() => Some("elements"),
            Kind::Map if field.keys.is_none() => Some("keys"),
            Kind::Map if field.values.is_none() => Some("values"),
            Kind::Record if field.record.is_none() => Some("fields"),
            _ => None,
        };
        match missing {
            Some(attr) => Err(self.error(
                at,
                format!(
                    "field of type '{}' must declare '{attr}'",
                    field.kind.name()
                ),
            )),
            None => Ok(()),
        }
    }

    fn shorthands(&self, raw: &Raw, at: &str) -> Res<Vec<Shorthand>> {
        let items = raw
            .as_array()
            .ok_or_else(|| self.error(at, "'shorthand_fields' must be a table"))?;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let entry_at = join(at, &format!("shorthand_fields[{i}]"));
            let [(name, def)] = item.as_object().unwrap_or(&[]) else {
                return Err(self.error(&entry_at, "each entry must be a table with a single key"));
            };
            let field_at = join(at, name);
            let field = self.definition(def, None, &field_at, Role::Shorthand)?;
            let Some(Raw::Function(func)) = def.get("func") else {
                return Err(self.error(&field_at, "func: required field missing"));
            };
            out.push(Shorthand {
                name: name.clone(),
                field,
                func: func.clone(),
                deprecated: present(def.get("deprecation")).is_some(),
            });
        }
        Ok(out)
    }

    fn checks(&self, raw: &Raw, at: &str, record: &Record) -> Res<Vec<Check>> {
        let items = raw
            .as_array()
            .ok_or_else(|| self.error(at, "'entity_checks' must be a table"))?;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let entry_at = join(at, &format!("entity_checks[{i}]"));
            let [(name, arg)] = item.as_object().unwrap_or(&[]) else {
                return Err(self.error(&entry_at, "each entry must be a table with a single key"));
            };
            let c = CheckArg {
                b: self,
                at: join(&entry_at, name),
                arg,
                record,
            };
            let check = c.read(name)?;
            for path in check_paths(&check) {
                if !record.has_path(path) {
                    return Err(self.error(&c.at, format!("invalid field name: {path}")));
                }
            }
            out.push(check);
        }
        Ok(out)
    }
}

/// Every field name an entity check refers to.
fn check_paths(check: &Check) -> Vec<&String> {
    match check {
        Check::AtLeastOneOf(n)
        | Check::OnlyOneOf(n)
        | Check::Distinct(n)
        | Check::MutuallyRequired(n)
        | Check::MutuallyExclusive(n) => n.iter().collect(),
        Check::MutuallyExclusiveSets { set1, set2 } => set1.iter().chain(set2).collect(),
        Check::Conditional {
            if_field,
            then_field,
            ..
        } => vec![if_field, then_field],
        Check::ConditionalAtLeastOneOf {
            if_field,
            then_at_least_one_of,
            else_then_at_least_one_of,
            ..
        } => std::iter::once(if_field)
            .chain(then_at_least_one_of)
            .chain(else_then_at_least_one_of)
            .collect(),
        Check::Custom { field_sources, .. } => field_sources.iter().collect(),
    }
}

/// `None` for an absent or null attribute.
fn present(raw: Option<&Raw>) -> Option<&Raw> {
    raw.filter(|r| !matches!(r, Raw::Null))
}

/// One attribute of a field definition being read.
struct Attr<'a> {
    b: &'a Builder<'a>,
    at: &'a str,
    key: &'a str,
    value: &'a Raw,
}

impl Attr<'_> {
    fn fail<T>(&self, message: &str) -> Res<T> {
        Err(self.b.error(self.at, format!("{}: {message}", self.key)))
    }

    fn boolean(&self) -> Res<bool> {
        match self.value {
            Raw::Bool(b) => Ok(*b),
            _ => self.fail("expected a boolean"),
        }
    }

    fn string(&self) -> Res<String> {
        match self.value {
            Raw::String(s) => Ok(s.clone()),
            _ => self.fail("expected a string"),
        }
    }

    fn number(&self) -> Res<f64> {
        match self.value {
            Raw::Number(n) => Ok(*n),
            _ => self.fail("expected a number"),
        }
    }

    fn integer(&self) -> Res<f64> {
        match self.value {
            Raw::Number(n) if n.fract() == 0.0 => Ok(*n),
            _ => self.fail("expected an integer"),
        }
    }

    fn function(&self) -> Res<Function> {
        match self.value {
            Raw::Function(f) => Ok(f.clone()),
            _ => self.fail("expected a function"),
        }
    }

    fn data(&self) -> Res<Value> {
        self.value.to_json().or_else(|e| self.fail(&e))
    }

    fn list(&self) -> Res<Vec<Value>> {
        match self.data()? {
            Value::Array(items) => Ok(items),
            Value::Object(o) if o.is_empty() => Ok(Vec::new()),
            _ => self.fail("expected an array"),
        }
    }

    fn pair(&self) -> Res<(f64, f64)> {
        match self.value.as_array() {
            Some([Raw::Number(lo), Raw::Number(hi)]) => Ok((*lo, *hi)),
            Some([_, _]) => self.fail("expected a number"),
            Some(_) => self.fail("length must be 2"),
            None => self.fail("expected an array"),
        }
    }

    fn flag(&self, field: &mut Field, rule: Rule) -> Res<()> {
        if self.boolean()? {
            field.set_rule(rule);
        } else {
            field.rules.retain(|r| r.order() != rule.order());
        }
        Ok(())
    }

    fn patterns(&self) -> Res<Vec<Pattern>> {
        let Some(items) = self.value.as_array() else {
            return self.fail("expected an array");
        };
        let pattern = |item: &Raw| {
            let err = match present(item.get("err")) {
                None => None,
                Some(Raw::String(e)) => Some(e.clone()),
                Some(_) => return None,
            };
            match item.get("pattern") {
                Some(Raw::String(p)) => Some(Pattern {
                    pattern: p.clone(),
                    err,
                }),
                _ => None,
            }
        };
        items
            .iter()
            .map(|item| {
                pattern(item).map_or_else(
                    || self.fail("expected records with a string 'pattern' and an optional 'err'"),
                    Ok,
                )
            })
            .collect()
    }

    fn match_any(&self) -> Res<Rule> {
        let patterns = match self.value.get("patterns").map(|p| p.as_array()) {
            Some(Some(items)) => items
                .iter()
                .map(|p| match p {
                    Raw::String(s) => Ok(s.clone()),
                    _ => self.fail("patterns: expected a string"),
                })
                .collect::<Res<Vec<_>>>()?,
            _ => return self.fail("patterns: required field missing"),
        };
        let err = match present(self.value.get("err")) {
            None => None,
            Some(Raw::String(s)) => Some(s.clone()),
            Some(_) => return self.fail("err: expected a string"),
        };
        Ok(Rule::MatchAny { patterns, err })
    }

    fn subsets(&self) -> Res<Vec<Vec<String>>> {
        let Some(items) = self.value.as_array() else {
            return self.fail("expected an array");
        };
        items
            .iter()
            .map(|set| {
                strings(set)
                    .ok_or(())
                    .or_else(|()| self.fail("expected arrays of strings"))
            })
            .collect()
    }

    fn nested(&self) -> Res<Field> {
        if self.value.as_object().is_none() {
            return Err(self
                .b
                .error(self.at, format!("'{}' must be a table", self.key)));
        }
        self.b
            .definition(self.value, None, &join(self.at, self.key), Role::Field)
    }
}

fn strings(raw: &Raw) -> Option<Vec<String>> {
    raw.as_array()?
        .iter()
        .map(|v| match v {
            Raw::String(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// The argument of one entity check being read.
struct CheckArg<'a> {
    b: &'a Builder<'a>,
    at: String,
    arg: &'a Raw,
    record: &'a Record,
}

impl CheckArg<'_> {
    fn fail<T>(&self, message: impl Into<String>) -> Res<T> {
        Err(self.b.error(&self.at, message))
    }

    fn read(&self, name: &str) -> Res<Check> {
        Ok(match name {
            "at_least_one_of" => Check::AtLeastOneOf(self.names(self.arg, name)?),
            "only_one_of" => Check::OnlyOneOf(self.names(self.arg, name)?),
            "distinct" => Check::Distinct(self.names(self.arg, name)?),
            "mutually_required" => Check::MutuallyRequired(self.names(self.arg, name)?),
            "mutually_exclusive" => Check::MutuallyExclusive(self.names(self.arg, name)?),
            "mutually_exclusive_sets" => {
                self.only_keys(&["set1", "set2"])?;
                Check::MutuallyExclusiveSets {
                    set1: self.names(self.required("set1")?, "set1")?,
                    set2: self.names(self.required("set2")?, "set2")?,
                }
            }
            "conditional" => {
                self.only_keys(&[
                    "if_field",
                    "if_match",
                    "then_field",
                    "then_match",
                    "then_err",
                ])?;
                let if_field = self.string("if_field")?;
                let then_field = self.string("then_field")?;
                Check::Conditional {
                    if_match: self.overlay("if_match", &if_field)?,
                    then_match: self.overlay("then_match", &then_field)?,
                    then_err: self.optional_string("then_err")?,
                    if_field,
                    then_field,
                }
            }
            "conditional_at_least_one_of" => {
                self.only_keys(&[
                    "if_field",
                    "if_match",
                    "then_at_least_one_of",
                    "then_err",
                    "else_match",
                    "else_then_at_least_one_of",
                    "else_then_err",
                ])?;
                let if_field = self.string("if_field")?;
                let else_match = match present(self.arg.get("else_match")) {
                    Some(_) => Some(self.overlay("else_match", &if_field)?),
                    None => None,
                };
                let else_then_at_least_one_of =
                    match present(self.arg.get("else_then_at_least_one_of")) {
                        Some(raw) => self.names(raw, "else_then_at_least_one_of")?,
                        None if else_match.is_some() => {
                            return self.fail("else_then_at_least_one_of: required field missing")
                        }
                        None => Vec::new(),
                    };
                Check::ConditionalAtLeastOneOf {
                    if_match: self.overlay("if_match", &if_field)?,
                    then_at_least_one_of: self.names(
                        self.required("then_at_least_one_of")?,
                        "then_at_least_one_of",
                    )?,
                    then_err: self.optional_string("then_err")?,
                    else_match,
                    else_then_at_least_one_of,
                    else_then_err: self.optional_string("else_then_err")?,
                    if_field,
                }
            }
            "custom_entity_check" => {
                self.only_keys(&["field_sources", "fn"])?;
                let Raw::Function(func) = self.required("fn")? else {
                    return self.fail("fn: expected a function");
                };
                Check::Custom {
                    field_sources: self.names(self.required("field_sources")?, "field_sources")?,
                    func: func.clone(),
                }
            }
            _ => return self.fail(format!("unknown entity check '{name}'")),
        })
    }

    fn only_keys(&self, allowed: &[&str]) -> Res<()> {
        let Some(entries) = self.arg.as_object() else {
            return self.fail("expected a record");
        };
        match entries.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            Some((k, _)) => self.fail(format!("{k}: unknown field")),
            None => Ok(()),
        }
    }

    fn required(&self, key: &str) -> Res<&Raw> {
        present(self.arg.get(key))
            .map_or_else(|| self.fail(format!("{key}: required field missing")), Ok)
    }

    fn string(&self, key: &str) -> Res<String> {
        match self.required(key)? {
            Raw::String(s) => Ok(s.clone()),
            _ => self.fail(format!("{key}: expected a string")),
        }
    }

    fn optional_string(&self, key: &str) -> Res<Option<String>> {
        match present(self.arg.get(key)) {
            None => Ok(None),
            Some(Raw::String(s)) => Ok(Some(s.clone())),
            Some(_) => self.fail(format!("{key}: expected a string")),
        }
    }

    fn names(&self, raw: &Raw, key: &str) -> Res<Vec<String>> {
        strings(raw).map_or_else(
            || self.fail(format!("{key}: expected an array of field names")),
            Ok,
        )
    }

    /// `if_match` and friends: the attributes given, over the named field's definition.
    fn overlay(&self, key: &str, field_name: &str) -> Res<Box<Field>> {
        let Some(base) = self.record.field_at(field_name) else {
            return self.fail(format!("invalid field name: {field_name}"));
        };
        let def = self.required(key)?;
        let at = join(&self.at, key);
        Ok(Box::new(self.b.definition(
            def,
            Some(base),
            &at,
            Role::Overlay,
        )?))
    }
}
