//! How Kong's messages print values: they are built with Lua's `tostring`, `%d` and `%s`, so
//! numbers and lists must print the way LuaJIT prints them for our messages to read the same.

use serde_json::Value;

/// `tostring(n)` in LuaJIT: `%.14g`.
pub(crate) fn number(n: f64) -> String {
    if n.is_nan() {
        return if n.is_sign_negative() { "-nan" } else { "nan" }.to_string();
    }
    if n.is_infinite() {
        return if n < 0.0 { "-inf" } else { "inf" }.to_string();
    }
    if n == 0.0 {
        return if n.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // %g with precision 14: scientific when the exponent is < -4 or >= 14.
    let sci = format!("{n:.13e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..14).contains(&exp) {
        let mantissa = trim_fraction(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    let decimals = usize::try_from(13 - exp).unwrap_or(0);
    trim_fraction(&format!("{n:.decimals$}")).to_string()
}

fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// `string.format("%d", n)`: LuaJIT truncates a fractional number.
pub(crate) fn integer(n: f64) -> String {
    format!("{}", n.trunc() as i64)
}

/// A value the way Kong's messages show it (`tostring` for scalars).
pub(crate) fn value(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `table.concat(options, ", ")`.
pub(crate) fn concat(values: &[Value]) -> String {
    values.iter().map(value).collect::<Vec<_>>().join(", ")
}

/// Kong's `quoted_list`: `'a', 'b'`.
pub(crate) fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `fmt:format(arg)` for the custom messages schemas give (`then_err`, ...): `%s` takes the
/// argument once, `%%` is a percent sign.
pub(crate) fn format_s(fmt: &str, arg: &str) -> String {
    let mut out = String::with_capacity(fmt.len() + arg.len());
    let mut used = false;
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('%', Some('%')) => {
                chars.next();
                out.push('%');
            }
            ('%', Some('s')) if !used => {
                chars.next();
                used = true;
                out.push_str(arg);
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_print_like_luajit() {
        assert_eq!(number(0.0), "0");
        assert_eq!(number(65535.0), "65535");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(0.01), "0.01");
        assert_eq!(number(0.1 + 0.2), "0.3");
        assert_eq!(number(-2.25), "-2.25");
        assert_eq!(number(1e15), "1e+15");
        assert_eq!(number(2147483646.0), "2147483646");
        assert_eq!(number(1e-5), "1e-05");
        assert_eq!(integer(0.001), "0");
        assert_eq!(integer(65535.0), "65535");
    }

    #[test]
    fn lists_and_formats() {
        assert_eq!(concat(&[json!("a"), json!(1), json!(true)]), "a, 1, true");
        assert_eq!(quoted(&["x".into(), "y.z".into()]), "'x', 'y.z'");
        assert_eq!(format_s("need %s (100%%)", "a"), "need a (100%)");
        assert_eq!(format_s("no placeholder", "a"), "no placeholder");
    }
}
