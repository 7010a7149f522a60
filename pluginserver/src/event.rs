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

    /// Runs a deferred call (one that returns nothing: a setter, logging) to completion
    /// without waiting: its reply only tells whether it raised.
    fn tell(&mut self, method: &str, args: Vec<Value>) -> PdkReply;

    /// The request's headers to send with `HandleEvent` (Sluice's extension), as
    /// `kong.request.get_headers` would return them, so the plugin reads them without a
    /// round trip; `None` to send none (a phase where plugins rarely read them, or too
    /// many to be worth it).
    fn request_headers(&self) -> Option<Value>;
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
    /// Sluice's extension: the server may send calls that return nothing (setters,
    /// logging) as `Deferred`, with its next call or its `"ret"`, sparing a round trip
    /// each. Sent only to servers that announce it, so Kong's see Kong's two fields.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) deferred: bool,
    /// Sluice's extension: the request headers at the start of the event (see
    /// [`PdkDispatch::request_headers`]), like Envoy's `ext_proc` sending headers with its
    /// first message. A server may answer `kong.request.get_header(s)` from them until the
    /// plugin changes the request's headers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) request_headers: Option<Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Step {
    pub(crate) event_id: i64,
    pub(crate) data: Value,
}

/// A PDK call of the plugin: the Lua PDK function's name and its positional arguments.
#[derive(Debug, PartialEq)]
pub(crate) struct PdkCall {
    pub(crate) method: String,
    pub(crate) args: Vec<Value>,
}

/// What the server said after `HandleEvent` or a `Step`.
#[derive(Debug, PartialEq)]
pub(crate) enum StepIn {
    Ret,
    Call(PdkCall),
}

/// A parsed `{EventId, Data, Deferred}`.
#[derive(Debug, PartialEq)]
pub(crate) struct Answer {
    pub(crate) event_id: i64,
    /// Calls to run, in order, before `next`; never answered.
    pub(crate) deferred: Vec<PdkCall>,
    pub(crate) next: StepIn,
}

/// Reads `{EventId, Data}` where `Data` is `"ret"` or `{Method, Args}`, and the optional
/// `Deferred` list of `{Method, Args}`.
pub(crate) fn parse_step(value: &Value) -> Result<Answer, Error> {
    let bad = |reason: &str| Error::Protocol {
        reason: reason.into(),
        context: value_context(value),
    };
    let event_id = field(value, "EventId")
        .and_then(Value::as_i64)
        .ok_or_else(|| bad("event answer without an integer EventId"))?;
    let deferred = match field(value, "Deferred") {
        None | Some(Value::Nil) => Vec::new(),
        Some(Value::Array(calls)) => calls
            .iter()
            .map(|c| parse_call(c).ok_or_else(|| bad("a deferred call is not {Method, Args}")))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad("Deferred is not an array")),
    };
    let data = field(value, "Data").unwrap_or(&Value::Nil);
    let next = if as_bytes(data) == Some(b"ret") {
        StepIn::Ret
    } else {
        StepIn::Call(
            parse_call(data)
                .ok_or_else(|| bad("event answer is neither \"ret\" nor {Method, Args}"))?,
        )
    };
    Ok(Answer {
        event_id,
        deferred,
        next,
    })
}

fn parse_call(data: &Value) -> Option<PdkCall> {
    let method = String::from_utf8_lossy(field(data, "Method").and_then(as_bytes)?).into_owned();
    // Args are spread positionally; nil means none, anything else is a single argument.
    let args = match field(data, "Args") {
        None | Some(Value::Nil) => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(other) => vec![other.clone()],
    };
    Some(PdkCall { method, args })
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
        assert_eq!(
            parse_step(&ret).unwrap(),
            Answer {
                event_id: 0,
                deferred: vec![],
                next: StepIn::Ret
            }
        );

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
            Answer {
                event_id: 5,
                deferred: vec![],
                next: StepIn::Call(PdkCall {
                    method: "kong.request.get_header".into(),
                    args: vec!["host".into()]
                })
            }
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
        assert_eq!(
            parse_step(&call).unwrap().next,
            StepIn::Call(PdkCall {
                method: "kong.request.get_headers".into(),
                args: vec![]
            })
        );
    }

    #[test]
    fn deferred_calls_come_before_the_next_one() {
        let call = |method: &str, args: Vec<Value>| {
            map(vec![
                ("Method", method.into()),
                ("Args", Value::Array(args)),
            ])
        };
        let answer = map(vec![
            ("EventId", 2.into()),
            ("Data", "ret".into()),
            (
                "Deferred",
                Value::Array(vec![
                    call("kong.log.info", vec!["hi".into()]),
                    call("kong.response.set_header", vec!["x".into(), "1".into()]),
                ]),
            ),
        ]);
        let parsed = parse_step(&answer).unwrap();
        assert_eq!(parsed.next, StepIn::Ret);
        assert_eq!(
            parsed.deferred,
            vec![
                PdkCall {
                    method: "kong.log.info".into(),
                    args: vec!["hi".into()]
                },
                PdkCall {
                    method: "kong.response.set_header".into(),
                    args: vec!["x".into(), "1".into()]
                }
            ]
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
            map(vec![
                ("EventId", 1.into()),
                ("Data", "ret".into()),
                ("Deferred", 3.into()),
            ]),
            map(vec![
                ("EventId", 1.into()),
                ("Data", "ret".into()),
                ("Deferred", Value::Array(vec![3.into()])),
            ]),
        ] {
            let err = parse_step(&bad).unwrap_err();
            assert!(matches!(err, Error::Protocol { .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn handle_event_is_kongs_unless_extensions_were_announced() {
        let arg = |event: &HandleEvent| {
            let bytes = crate::codec::encode_request(1, "plugin.HandleEvent", event).unwrap();
            rmpv::decode::read_value(&mut bytes.as_slice()).unwrap()[3][0].clone()
        };
        let kong = arg(&HandleEvent {
            instance_id: 4,
            event_name: "access",
            deferred: false,
            request_headers: None,
        });
        assert_eq!(
            kong,
            map(vec![
                ("InstanceId", 4.into()),
                ("EventName", "access".into())
            ])
        );
        let headers = map(vec![("host", "example.com".into())]);
        let sluice = arg(&HandleEvent {
            instance_id: 4,
            event_name: "access",
            deferred: true,
            request_headers: Some(headers.clone()),
        });
        assert_eq!(field(&sluice, "Deferred"), Some(&Value::from(true)));
        assert_eq!(field(&sluice, "RequestHeaders"), Some(&headers));
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
