//! Kong's schema language as Rust data: field types, the validators a field carries (kept in the
//! order Kong runs them), records with their entity checks and shorthand fields.

use mlua::Function;
use serde_json::Value;

/// Kong's field types (`Schema.valid_types`, plus `json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Array,
    Boolean,
    Foreign,
    Function,
    Integer,
    Json,
    Map,
    Number,
    Record,
    Set,
    String,
}

impl Kind {
    pub(crate) const ALL: [Kind; 11] = [
        Kind::Array,
        Kind::Boolean,
        Kind::Foreign,
        Kind::Function,
        Kind::Integer,
        Kind::Json,
        Kind::Map,
        Kind::Number,
        Kind::Record,
        Kind::Set,
        Kind::String,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Array => "array",
            Kind::Boolean => "boolean",
            Kind::Foreign => "foreign",
            Kind::Function => "function",
            Kind::Integer => "integer",
            Kind::Json => "json",
            Kind::Map => "map",
            Kind::Number => "number",
            Kind::Record => "record",
            Kind::Set => "set",
            Kind::String => "string",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    pub(crate) fn is_sequence(self) -> bool {
        matches!(self, Kind::Array | Kind::Set)
    }
}

/// A `match_all` / `match_none` entry.
#[derive(Clone, Debug)]
pub(crate) struct Pattern {
    pub pattern: String,
    pub err: Option<String>,
}

/// One validator attribute. Declaration order is the order Kong runs them in
/// (`Schema.validators_order`).
#[derive(Clone, Debug)]
pub(crate) enum Rule {
    Eq(Value),
    Ne(Value),
    NotOneOf(Vec<Value>),
    OneOf(Vec<Value>),
    Gt(f64),
    Timestamp,
    Uuid,
    IsRegex,
    Between(f64, f64),
    LenEq(f64),
    LenMin(f64),
    LenMax(f64),
    StartsWith(String),
    NotMatch(String),
    MatchNone(Vec<Pattern>),
    Match(String),
    MatchAll(Vec<Pattern>),
    MatchAny {
        patterns: Vec<String>,
        err: Option<String>,
    },
    Contains(Value),
    Custom(Function),
    MutuallyExclusiveSubsets(Vec<Vec<String>>),
}

impl Rule {
    /// Position in `Schema.validators_order`; also identifies the attribute.
    pub(crate) fn order(&self) -> usize {
        match self {
            Rule::Eq(_) => 0,
            Rule::Ne(_) => 1,
            Rule::NotOneOf(_) => 2,
            Rule::OneOf(_) => 3,
            Rule::Gt(_) => 4,
            Rule::Timestamp => 5,
            Rule::Uuid => 6,
            Rule::IsRegex => 7,
            Rule::Between(..) => 8,
            Rule::LenEq(_) => 9,
            Rule::LenMin(_) => 10,
            Rule::LenMax(_) => 11,
            Rule::StartsWith(_) => 12,
            Rule::NotMatch(_) => 13,
            Rule::MatchNone(_) => 14,
            Rule::Match(_) => 15,
            Rule::MatchAll(_) => 16,
            Rule::MatchAny { .. } => 17,
            Rule::Contains(_) => 18,
            Rule::Custom(_) => 19,
            Rule::MutuallyExclusiveSubsets(_) => 20,
        }
    }

    /// The Lua patterns this rule evaluates.
    pub(crate) fn patterns(&self) -> Vec<&str> {
        match self {
            Rule::Match(p) | Rule::NotMatch(p) => vec![p],
            Rule::MatchAll(list) | Rule::MatchNone(list) => {
                list.iter().map(|p| p.pattern.as_str()).collect()
            }
            Rule::MatchAny { patterns, .. } => patterns.iter().map(String::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

/// A field definition.
#[derive(Clone, Debug)]
pub(crate) struct Field {
    pub kind: Kind,
    /// `None` when the schema does not say: records then become required (see
    /// `Record::make_records_required`), other fields are optional.
    pub required: Option<bool>,
    pub default: Option<Value>,
    /// Replaces the message of a failed validator.
    pub err: Option<String>,
    /// A `{vault://...}` reference is accepted as is.
    pub referenceable: bool,
    /// Sorted by `Rule::order`, at most one of each.
    pub rules: Vec<Rule>,
    pub elements: Option<Box<Field>>,
    pub keys: Option<Box<Field>>,
    pub values: Option<Box<Field>>,
    pub record: Option<Box<Record>>,
}

impl Field {
    pub(crate) fn new(kind: Kind) -> Field {
        Field {
            kind,
            required: None,
            default: None,
            err: None,
            referenceable: false,
            rules: Vec::new(),
            elements: None,
            keys: None,
            values: None,
            record: None,
        }
    }

    pub(crate) fn is_required(&self) -> bool {
        self.required == Some(true)
    }

    /// Sets a rule, replacing one of the same attribute.
    pub(crate) fn set_rule(&mut self, rule: Rule) {
        self.rules.retain(|r| r.order() != rule.order());
        let at = self.rules.partition_point(|r| r.order() < rule.order());
        self.rules.insert(at, rule);
    }

    pub(crate) fn eq(&self) -> Option<&Value> {
        self.rules.iter().find_map(|r| match r {
            Rule::Eq(v) => Some(v),
            _ => None,
        })
    }

    pub(crate) fn ne(&self) -> Option<&Value> {
        self.rules.iter().find_map(|r| match r {
            Rule::Ne(v) => Some(v),
            _ => None,
        })
    }

    /// Visits this field and every field nested in it, with its path.
    pub(crate) fn walk<E>(
        &self,
        at: &str,
        f: &mut impl FnMut(&str, &Field) -> Result<(), E>,
    ) -> Result<(), E> {
        f(at, self)?;
        for (name, inner) in [
            ("elements", &self.elements),
            ("keys", &self.keys),
            ("values", &self.values),
        ] {
            if let Some(inner) = inner {
                inner.walk(&join(at, name), f)?;
            }
        }
        if let Some(record) = &self.record {
            record.walk(at, f)?;
        }
        Ok(())
    }
}

/// A `record`'s body, and the plugin schema itself.
#[derive(Clone, Debug, Default)]
pub(crate) struct Record {
    pub fields: Vec<(String, Field)>,
    pub checks: Vec<Check>,
    pub shorthands: Vec<Shorthand>,
    /// The schema's whole-entity `check` function.
    pub check: Option<Function>,
}

impl Record {
    pub(crate) fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, f)| f)
    }

    /// The definition at a dotted path (`config.redis.host`), through nested records.
    pub(crate) fn field_at(&self, path: &str) -> Option<&Field> {
        match path.split_once('.') {
            None => self.field(path),
            Some((head, tail)) => self.field(head)?.record.as_ref()?.field_at(tail),
        }
    }

    /// Whether an entity check may name this path: foreign fields are trusted past the dot, as
    /// Kong's metaschema does (it cannot see the other entity's schema).
    pub(crate) fn has_path(&self, path: &str) -> bool {
        match path.split_once('.') {
            None => self.field(path).is_some(),
            Some((head, tail)) => match self.field(head) {
                Some(f) if f.kind == Kind::Foreign => true,
                Some(f) => f.record.as_ref().is_some_and(|r| r.has_path(tail)),
                None => false,
            },
        }
    }

    /// Kong's `Entity.new_subschema`: a record field that does not say otherwise is required,
    /// so its defaults are always filled in — through nested records, not inside arrays.
    pub(crate) fn make_records_required(&mut self) {
        for (_, field) in &mut self.fields {
            if let Some(record) = &mut field.record {
                if field.required.is_none() {
                    field.required = Some(true);
                }
                record.make_records_required();
            }
        }
    }

    fn walk<E>(
        &self,
        at: &str,
        f: &mut impl FnMut(&str, &Field) -> Result<(), E>,
    ) -> Result<(), E> {
        for (name, field) in &self.fields {
            field.walk(&join(at, name), f)?;
        }
        for s in &self.shorthands {
            s.field.walk(&join(at, &s.name), f)?;
        }
        Ok(())
    }

    /// Every field, top-level and nested, with its path.
    pub(crate) fn walk_fields<E>(
        &self,
        f: &mut impl FnMut(&str, &Field) -> Result<(), E>,
    ) -> Result<(), E> {
        self.walk("", f)
    }
}

/// `parent.name`, or `name` at the top.
pub(crate) fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

/// A `shorthand_fields` entry: an input-only field whose value `func` maps onto real fields
/// (how Kong keeps deprecated config names working).
#[derive(Clone, Debug)]
pub(crate) struct Shorthand {
    pub name: String,
    pub field: Field,
    pub func: Function,
    /// With a `deprecation`, a value also given under the new name wins over the shorthand's.
    pub deprecated: bool,
}

/// `entity_checks` entries (`Schema.entity_checkers`).
#[derive(Clone, Debug)]
pub(crate) enum Check {
    AtLeastOneOf(Vec<String>),
    OnlyOneOf(Vec<String>),
    Distinct(Vec<String>),
    MutuallyRequired(Vec<String>),
    MutuallyExclusive(Vec<String>),
    MutuallyExclusiveSets {
        set1: Vec<String>,
        set2: Vec<String>,
    },
    /// `if_match` / `then_match` are the named fields' definitions overlaid with the given
    /// attributes (Kong sets the field as their metatable `__index`).
    Conditional {
        if_field: String,
        if_match: Box<Field>,
        then_field: String,
        then_match: Box<Field>,
        then_err: Option<String>,
    },
    ConditionalAtLeastOneOf {
        if_field: String,
        if_match: Box<Field>,
        then_at_least_one_of: Vec<String>,
        then_err: Option<String>,
        else_match: Option<Box<Field>>,
        else_then_at_least_one_of: Vec<String>,
        else_then_err: Option<String>,
    },
    Custom {
        field_sources: Vec<String>,
        func: Function,
    },
}
