//! One phase event: `plugin.HandleEvent`, then a `plugin.Step*` per PDK call the plugin
//! makes, until the server answers `"ret"`. The gateway side of each PDK call is a
//! [`PdkDispatch`] the caller provides.

use std::future::Future;
use std::pin::Pin;

use rmpv::Value;
use serde::Serialize;

use crate::error::{hex_context, Error};

/// What [`PdkDispatch::call`] returns, boxed so the trait stays object-safe.
pub type PdkFuture<'a> = Pin<Box<dyn Future<Output = PdkReply> + 'a>>;

/// The gateway's PDK, as seen by an external plugin: every call the plugin makes
/// arrives here by its Kong name (`kong.request.get_header`, ...) with positional args.
///
/// For the `log` phase, which runs after the response was sent, the dispatcher should
/// answer from a snapshot of the request, as Kong does.
pub trait PdkDispatch {
    fn call<'a>(&'a mut self, method: &'a str, args: Vec<Value>) -> PdkFuture<'a>;
}

/// The outcome of one PDK call.
#[derive(Debug, Clone, PartialEq)]
pub enum PdkReply {
    /// The function's (first) return value; `Nil` for none. Sent with the `Step*`
    /// Kong picks for the method, shaped as Kong shapes it (multimaps, raw bodies).
    Value(Value),
    /// Lua's `nil, err`: sent as `plugin.StepError`. Kong ≥3.0 never sends it (it keeps
    /// only the first return value, so it sends `Value(Nil)`); a JS plugin throws on it.
    Error(String),
    /// The PDK function raised an error. As in Kong, nothing is sent back, the event is
    /// abandoned and `run_event` fails with [`Error::Pdk`] (Kong answers 500).
    Raise(String),
}

/// How an event ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOutcome {
    /// The handler returned (`"ret"`).
    Done,
    /// The plugin called `kong.response.exit` or `kong.response.error`: the dispatcher got
    /// the call, nothing was sent back (Kong never answers them) and the event is over.
    Exited,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct HandleEvent<'a> {
    pub(crate) instance_id: i64,
    pub(crate) event_name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Step {
    pub(crate) event_id: i64,
    pub(crate) data: Value,
}

/// What the server said after `HandleEvent` or a `Step`.
#[derive(Debug, PartialEq)]
pub(crate) enum StepIn {
    Ret,
    Call { method: String, args: Vec<Value> },
}

/// Reads `{EventId, Data}` where `Data` is `"ret"` or `{Method, Args}`.
pub(crate) fn parse_step(value: &Value) -> Result<(i64, StepIn), Error> {
    let bad = |reason: String| Error::Protocol {
        reason,
        context: value_context(value),
    };
    let event_id = field(value, "EventId")
        .and_then(Value::as_i64)
        .ok_or_else(|| bad("event answer without an integer EventId".into()))?;
    let data = field(value, "Data").unwrap_or(&Value::Nil);
    if as_bytes(data) == Some(b"ret") {
        return Ok((event_id, StepIn::Ret));
    }
    let method = field(data, "Method")
        .and_then(as_bytes)
        .ok_or_else(|| bad("event answer is neither \"ret\" nor {Method, Args}".into()))?;
    let method = String::from_utf8_lossy(method).into_owned();
    // Args are spread positionally; nil means none, anything else is a single argument.
    let args = match field(data, "Args") {
        None | Some(Value::Nil) => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(other) => vec![other.clone()],
    };
    Ok((event_id, StepIn::Call { method, args }))
}

/// A map entry by string key (servers send maps with string keys).
pub(crate) fn field<'v>(map: &'v Value, key: &str) -> Option<&'v Value> {
    map.as_map()?
        .iter()
        .find(|(k, _)| as_bytes(k) == Some(key.as_bytes()))
        .map(|(_, v)| v)
}

/// `str` and `bin` are interchangeable byte strings on this wire.
fn as_bytes(value: &Value) -> Option<&[u8]> {
    match value {
        Value::String(s) => Some(s.as_bytes()),
        Value::Binary(b) => Some(b),
        _ => None,
    }
}

fn value_context(value: &Value) -> String {
    let mut bytes = Vec::new();
    match rmpv::encode::write_value(&mut bytes, value) {
        Ok(()) => hex_context(&bytes),
        Err(_) => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    #[test]
    fn ret_and_calls() {
        let ret = map(vec![("Data", "ret".into()), ("EventId", 0.into())]);
        assert_eq!(parse_step(&ret).unwrap(), (0, StepIn::Ret));

        let call = map(vec![
            (
                "Data",
                map(vec![
                    ("Method", "kong.request.get_header".into()),
                    ("Args", Value::Array(vec!["host".into()])),
                ]),
            ),
            ("EventId", 5.into()),
        ]);
        assert_eq!(
            parse_step(&call).unwrap(),
            (
                5,
                StepIn::Call {
                    method: "kong.request.get_header".into(),
                    args: vec!["host".into()]
                }
            )
        );
    }

    #[test]
    fn go_style_nil_args_and_key_order() {
        // Go sends EventId first and a nil slice for no arguments.
        let call = map(vec![
            ("EventId", 1.into()),
            (
                "Data",
                map(vec![
                    ("Method", "kong.request.get_headers".into()),
                    ("Args", Value::Nil),
                ]),
            ),
        ]);
        let (_, step) = parse_step(&call).unwrap();
        assert_eq!(
            step,
            StepIn::Call {
                method: "kong.request.get_headers".into(),
                args: vec![]
            }
        );
    }

    #[test]
    fn malformed_answers_are_protocol_errors() {
        for bad in [
            Value::Nil,
            map(vec![("Data", "ret".into())]),
            map(vec![("EventId", 1.into()), ("Data", 3.into())]),
            map(vec![
                ("EventId", 1.into()),
                ("Data", map(vec![("Args", Value::Nil)])),
            ]),
        ] {
            let err = parse_step(&bad).unwrap_err();
            assert!(matches!(err, Error::Protocol { .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn step_is_a_named_map_with_binary_preserved() {
        let bytes = crate::codec::encode_request(
            3,
            "plugin.Step",
            &Step {
                event_id: 2,
                data: Value::Binary(b"raw".to_vec()),
            },
        )
        .unwrap();
        let decoded = rmpv::decode::read_value(&mut bytes.as_slice()).unwrap();
        let arg = &decoded[3][0];
        assert_eq!(field(arg, "EventId"), Some(&Value::from(2)));
        assert_eq!(field(arg, "Data"), Some(&Value::Binary(b"raw".to_vec())));
    }
}
