//! Declarative config text to a JSON value: JSON when the source is a `.json` file or the text
//! starts with `{`, YAML otherwise (JSON is YAML too, but serde_json's errors are clearer).

use crate::error::ConfError;
use serde_json::Value;

pub(crate) fn parse(text: &str, source: &str) -> Result<Value, ConfError> {
    let json = source.to_ascii_lowercase().ends_with(".json") || text.trim_start().starts_with('{');
    let parsed = if json {
        serde_json::from_str(text).map_err(|e| (format!("invalid JSON: {e}"), e.line()))
    } else {
        serde_yaml::from_str(text).map_err(|e| {
            let line = e.location().map_or(0, |l| l.line());
            (format!("invalid YAML: {e}"), line)
        })
    };
    parsed.map_err(|(message, line)| ConfError {
        source: source.to_string(),
        line: (line > 0).then_some(line),
        at: String::new(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_and_json() {
        assert_eq!(
            parse("_format_version: \"3.0\"\nservices: []\n", "kong.yml"),
            Ok(json!({"_format_version": "3.0", "services": []}))
        );
        assert_eq!(parse("{\"a\": 1}", "inline"), Ok(json!({"a": 1})));
        assert_eq!(parse("a: 1", "kong.yml"), Ok(json!({"a": 1})));
        assert_eq!(parse("", "kong.yml"), Ok(Value::Null));
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e = parse("a: 1\nb: [\n", "kong.yml").unwrap_err();
        assert_eq!(e.source, "kong.yml");
        assert!(e.line.is_some());
        assert!(e.message.starts_with("invalid YAML"), "{}", e.message);
        let e = parse("{\n\"a\": }", "x.json").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.message.starts_with("invalid JSON"), "{}", e.message);
        assert!(parse("a: 1", "config.JSON").is_err());
    }
}
