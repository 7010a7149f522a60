//! Reading one JSON object as an entity: typed field access with Kong's error messages, every
//! error located by its path (`services[1].routes[0].paths[2]`), and whatever was not read
//! reported as an unknown field (Kong rejects unknown fields).

use super::validate;
use crate::error::{ConfError, Errors};
use serde_json::{Map, Value};

/// Collects errors for one declarative source.
pub(crate) struct Sink {
    source: String,
    errors: Errors,
}

impl Sink {
    pub fn new(source: &str) -> Self {
        Sink {
            source: source.to_string(),
            errors: Errors::default(),
        }
    }

    pub fn error(&mut self, at: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ConfError {
            source: self.source.clone(),
            line: None,
            at: at.into(),
            message: message.into(),
        });
    }

    pub fn into_errors(self) -> Errors {
        self.errors
    }
}

/// `parent.key`, or `key` at the top level.
pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// The fields of one record.
pub(crate) struct Fields<'a> {
    map: &'a Map<String, Value>,
    path: String,
    read: Vec<&'static str>,
}

impl<'a> Fields<'a> {
    /// `None` (and an error) when `value` is not an object.
    pub fn new(value: &'a Value, path: String, sink: &mut Sink) -> Option<Self> {
        match value {
            Value::Object(map) => Some(Fields {
                map,
                path,
                read: Vec::new(),
            }),
            _ => {
                sink.error(path, "expected a record");
                None
            }
        }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// The path of one of this record's fields.
    pub fn at(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// Whether the field is present and not null (does not mark it read).
    pub fn has(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(|v| !v.is_null())
    }

    /// The raw value; absent and `null` are both `None`, as Kong treats them.
    pub fn value(&mut self, key: &'static str) -> Option<&'a Value> {
        self.read.push(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn string(&mut self, key: &'static str, sink: &mut Sink) -> Option<String> {
        match self.value(key)? {
            Value::String(s) => Some(s.clone()),
            _ => {
                sink.error(self.at(key), "expected a string");
                None
            }
        }
    }

    pub fn required_string(&mut self, key: &'static str, sink: &mut Sink) -> Option<String> {
        if !self.has(key) {
            self.read.push(key);
            sink.error(self.at(key), "required field missing");
            return None;
        }
        self.string(key, sink)
    }

    pub fn boolean(&mut self, key: &'static str, default: bool, sink: &mut Sink) -> bool {
        match self.value(key) {
            None => default,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                sink.error(self.at(key), "expected a boolean");
                default
            }
        }
    }

    pub fn optional_integer(
        &mut self,
        key: &'static str,
        min: i64,
        max: i64,
        sink: &mut Sink,
    ) -> Option<i64> {
        let value = self.value(key)?;
        let n = value.as_i64().or_else(|| {
            value
                .as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                .map(|f| f as i64)
        });
        match n {
            Some(n) if (min..=max).contains(&n) => Some(n),
            Some(_) => {
                sink.error(
                    self.at(key),
                    format!("value should be between {min} and {max}"),
                );
                None
            }
            None => {
                sink.error(self.at(key), "expected an integer");
                None
            }
        }
    }

    pub fn integer(
        &mut self,
        key: &'static str,
        min: i64,
        max: i64,
        default: i64,
        sink: &mut Sink,
    ) -> i64 {
        self.optional_integer(key, min, max, sink)
            .unwrap_or(default)
    }

    /// An array field; a non-array is reported and read as empty.
    pub fn array(&mut self, key: &'static str, sink: &mut Sink) -> &'a [Value] {
        match self.value(key) {
            None => &[],
            Some(Value::Array(items)) => items,
            Some(_) => {
                sink.error(self.at(key), "expected an array");
                &[]
            }
        }
    }

    /// An array of strings; each non-string is reported at its index.
    pub fn strings(&mut self, key: &'static str, sink: &mut Sink) -> Vec<String> {
        let path = self.at(key);
        let items = self.array(key, sink);
        strings_at(items, &path, |_| Ok(()), sink)
    }

    /// A string from a fixed set of words.
    pub fn one_of(
        &mut self,
        key: &'static str,
        allowed: &[&str],
        default: &str,
        sink: &mut Sink,
    ) -> String {
        match self.string(key, sink) {
            None => default.to_string(),
            Some(s) if allowed.contains(&s.as_str()) => s,
            Some(_) => {
                sink.error(
                    self.at(key),
                    format!("expected one of: {}", allowed.join(", ")),
                );
                default.to_string()
            }
        }
    }

    /// Reports every field that was never read, then checks `_comment` and `_ignore`, which
    /// Kong allows on every record.
    pub fn finish(&self, sink: &mut Sink) {
        for (key, value) in self.map {
            match key.as_str() {
                "_comment" if !value.is_string() => sink.error(self.at(key), "expected a string"),
                "_ignore" if !value.is_array() => sink.error(self.at(key), "expected an array"),
                "_comment" | "_ignore" => {}
                key if self.read.contains(&key) => {}
                key => sink.error(self.at(key), "unknown field"),
            }
        }
    }
}

/// `tags`: a set of tag strings.
pub(crate) fn tags(f: &mut Fields, sink: &mut Sink) -> Vec<String> {
    checked_strings(f, "tags", validate::tag, sink)
}

/// An optional string field checked by `check`.
pub(crate) fn checked_string(
    f: &mut Fields,
    key: &'static str,
    check: impl Fn(&str) -> Result<(), String>,
    sink: &mut Sink,
) -> Option<String> {
    let value = f.string(key, sink)?;
    if let Err(message) = check(&value) {
        sink.error(f.at(key), message);
    }
    Some(value)
}

/// An array of strings, each checked by `check` and reported at its index.
pub(crate) fn checked_strings(
    f: &mut Fields,
    key: &'static str,
    check: impl Fn(&str) -> Result<(), String>,
    sink: &mut Sink,
) -> Vec<String> {
    let path = f.at(key);
    let items = f.array(key, sink);
    strings_at(items, &path, check, sink)
}

/// The strings of an array; a non-string or a string failing `check` is reported as `path[i]`.
pub(crate) fn strings_at(
    items: &[Value],
    path: &str,
    check: impl Fn(&str) -> Result<(), String>,
    sink: &mut Sink,
) -> Vec<String> {
    let mut strings = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item {
            Value::String(s) => {
                if let Err(message) = check(s) {
                    sink.error(format!("{path}[{i}]"), message);
                }
                strings.push(s.clone());
            }
            _ => sink.error(format!("{path}[{i}]"), "expected a string"),
        }
    }
    strings
}

/// Reads `v` as the record at `path` with `read`, then reports unknown fields; returns what was
/// read and every error as text (source `k`).
#[cfg(test)]
pub(crate) fn read_record<T>(
    v: &Value,
    path: &str,
    read: impl FnOnce(&mut Fields, &mut Sink) -> T,
) -> (T, Vec<String>) {
    let mut sink = Sink::new("k");
    let Some(mut f) = Fields::new(v, path.into(), &mut sink) else {
        panic!("{path} is not a record");
    };
    let out = read(&mut f, &mut sink);
    f.finish(&mut sink);
    (
        out,
        sink.into_errors().iter().map(ToString::to_string).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(sink: Sink) -> Vec<String> {
        sink.into_errors().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn typed_reads_and_kong_messages() {
        let v = json!({
            "name": "a", "n": 5, "f": 5.0, "big": 70000, "b": true, "s": ["x", 1],
            "notstr": 3, "nul": null, "odd": "z", "_comment": "fine", "_ignore": [1]
        });
        let mut sink = Sink::new("kong.yml");
        let mut f = Fields::new(&v, "services[0]".into(), &mut sink).unwrap();
        assert_eq!(f.string("name", &mut sink).as_deref(), Some("a"));
        assert_eq!(f.integer("n", 0, 10, 1, &mut sink), 5);
        assert_eq!(f.integer("f", 0, 10, 1, &mut sink), 5);
        assert_eq!(f.integer("big", 0, 65535, 1, &mut sink), 1);
        assert!(f.boolean("b", false, &mut sink));
        assert!(f.boolean("absent", true, &mut sink));
        assert_eq!(f.strings("s", &mut sink), vec!["x"]);
        assert_eq!(f.string("notstr", &mut sink), None);
        assert_eq!(f.string("nul", &mut sink), None);
        assert_eq!(f.required_string("missing", &mut sink), None);
        assert_eq!(f.one_of("odd", &["x", "y"], "x", &mut sink), "x");
        f.finish(&mut sink);
        assert_eq!(
            errors(sink),
            vec![
                "kong.yml: services[0].big: value should be between 0 and 65535",
                "kong.yml: services[0].s[1]: expected a string",
                "kong.yml: services[0].notstr: expected a string",
                "kong.yml: services[0].missing: required field missing",
                "kong.yml: services[0].odd: expected one of: x, y",
            ]
        );
    }

    #[test]
    fn unknown_fields_and_bad_meta_fields_are_reported() {
        let v = json!({"name": "a", "colour": "red", "_comment": 1, "_ignore": "x"});
        let mut sink = Sink::new("k");
        let mut f = Fields::new(&v, "routes[2]".into(), &mut sink).unwrap();
        f.string("name", &mut sink);
        f.finish(&mut sink);
        assert_eq!(
            errors(sink),
            vec![
                "k: routes[2]._comment: expected a string",
                "k: routes[2]._ignore: expected an array",
                "k: routes[2].colour: unknown field",
            ]
        );
    }

    #[test]
    fn non_records_are_reported() {
        let mut sink = Sink::new("k");
        assert!(Fields::new(&json!("x"), "services[3]".into(), &mut sink).is_none());
        assert_eq!(errors(sink), vec!["k: services[3]: expected a record"]);
        assert_eq!(join("", "services"), "services");
        assert_eq!(join("services[0]", "routes"), "services[0].routes");
    }
}
