//! `MsgPack:1` framing: requests out, responses and notifications in.
//!
//! As in Kong, the stream is a sequence of concatenated msgpack objects with no length
//! prefix. A request is `[0, msgid, method, [arg]]` (params is always a one-element array),
//! a response `[1, msgid, error, result]`, a notification `[2, label, args]`. Since
//! nothing frames a message, [`Decoder`] walks the msgpack markers itself to learn whether
//! the buffered bytes hold a complete object yet, which also tells "read more" from
//! "corrupt" without allocating for lengths the bytes do not back.

use rmpv::Value;
use serde::Serialize;

use crate::error::{hex_context, Error};

/// A message larger than this is treated as corrupt rather than awaited forever.
pub const MAX_MESSAGE: usize = 128 * 1024 * 1024;

/// Encodes `[0, msgid, method, [arg]]`, structs as maps (Go decodes them by field name).
pub fn encode_request<A: Serialize + ?Sized>(
    msgid: u32,
    method: &str,
    arg: &A,
) -> Result<Vec<u8>, Error> {
    rmp_serde::to_vec_named(&(0u8, msgid, method, [arg])).map_err(|e| Error::Encode {
        method: method.to_owned(),
        reason: e.to_string(),
    })
}

/// One message from a plugin server.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// `[1, msgid, error, result]`: `Err` holds the server's error string.
    Response {
        msgid: u32,
        result: Result<Value, String>,
    },
    /// `[2, label, args]`; the only one servers send is `serverPid`.
    Notification { label: String, args: Value },
}

impl Message {
    /// The pid carried by a `serverPid` notification (Go servers send it on every accept).
    pub fn server_pid(&self) -> Option<u32> {
        let Message::Notification { label, args } = self else {
            return None;
        };
        if label != "serverPid" {
            return None;
        }
        let pid = match args {
            Value::Array(items) if items.len() == 1 => &items[0],
            other => other,
        };
        pid.as_u64().and_then(|p| u32::try_from(p).ok())
    }
}

/// Buffers bytes read from the socket and yields complete messages.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    /// The buffer cannot hold a complete object before it has this many bytes.
    need: usize,
}

impl Decoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes as they came off the socket.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received but not yet decoded.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete message, `Ok(None)` if more bytes are needed, `Err` if corrupt.
    pub fn next_message(&mut self) -> Result<Option<Message>, Error> {
        if self.buf.is_empty() || self.buf.len() < self.need {
            return Ok(None);
        }
        let len = match scan(&self.buf).map_err(|reason| self.corrupt(reason))? {
            Scan::Complete(len) => len,
            Scan::Incomplete(need) if need > MAX_MESSAGE => {
                return Err(self.corrupt(format!(
                    "message needs {need} bytes, more than the {MAX_MESSAGE} allowed"
                )))
            }
            Scan::Incomplete(need) => {
                self.need = need;
                return Ok(None);
            }
        };
        let value = rmpv::decode::read_value(&mut &self.buf[..len])
            .map_err(|e| self.corrupt(format!("undecodable msgpack: {e}")))?;
        let message = parse_envelope(value).map_err(|reason| self.corrupt(reason))?;
        self.buf.drain(..len);
        self.need = 0;
        Ok(Some(message))
    }

    fn corrupt(&self, reason: String) -> Error {
        Error::Protocol {
            reason,
            context: hex_context(&self.buf),
        }
    }
}

/// Interprets a decoded object as a response or a notification.
fn parse_envelope(value: Value) -> Result<Message, String> {
    let Value::Array(mut items) = value else {
        return Err(format!("expected an array message, got {value}"));
    };
    let kind = items.first().and_then(Value::as_u64);
    match (kind, items.len()) {
        (Some(1), 4) => {
            let result = items.pop().unwrap_or(Value::Nil);
            let error = items.pop().unwrap_or(Value::Nil);
            let msgid = items[1]
                .as_u64()
                .and_then(|id| u32::try_from(id).ok())
                .ok_or_else(|| format!("bad response msgid {}", items[1]))?;
            let result = match error {
                Value::Nil => Ok(result),
                Value::String(s) => Err(String::from_utf8_lossy(s.as_bytes()).into_owned()),
                Value::Binary(b) => Err(String::from_utf8_lossy(&b).into_owned()),
                other => Err(other.to_string()),
            };
            Ok(Message::Response { msgid, result })
        }
        (Some(2), 3) => {
            let args = items.pop().unwrap_or(Value::Nil);
            let label = match items.pop() {
                Some(Value::String(s)) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
                other => return Err(format!("bad notification label {other:?}")),
            };
            Ok(Message::Notification { label, args })
        }
        (Some(0), 4) => Err("plugin server sent a request; only responses are expected".into()),
        _ => Err(format!(
            "expected [1, msgid, err, result] or [2, label, args], got {}",
            Value::Array(items)
        )),
    }
}

/// How much of a buffer one msgpack object spans.
#[derive(Debug, PartialEq)]
enum Scan {
    /// The first object ends at this offset.
    Complete(usize),
    /// The object is cut short; nothing can change before the buffer has this many bytes.
    Incomplete(usize),
}

/// Walks the markers of the first object in `buf` without decoding it.
fn scan(buf: &[u8]) -> Result<Scan, String> {
    let mut pos = 0usize;
    // Objects still to walk: 1 for the root, plus the children of open arrays and maps.
    let mut pending: u64 = 1;
    while pending > 0 {
        pending -= 1;
        let Some(&marker) = buf.get(pos) else {
            return Ok(Scan::Incomplete(pos + 1));
        };
        let (header, body, children) = match marker {
            0x00..=0x7f | 0xc0 | 0xc2 | 0xc3 | 0xe0..=0xff => (1, 0, 0),
            0x80..=0x8f => (1, 0, 2 * u64::from(marker & 0x0f)),
            0x90..=0x9f => (1, 0, u64::from(marker & 0x0f)),
            0xa0..=0xbf => (1, u64::from(marker & 0x1f), 0),
            0xc1 => return Err(format!("reserved marker 0xc1 at offset {pos}")),
            0xca | 0xd2 | 0xce => (5, 0, 0),
            0xcb | 0xcf | 0xd3 => (9, 0, 0),
            0xcc | 0xd0 => (2, 0, 0),
            0xcd | 0xd1 => (3, 0, 0),
            0xd4 => (3, 0, 0),
            0xd5 => (4, 0, 0),
            0xd6 => (6, 0, 0),
            0xd7 => (10, 0, 0),
            0xd8 => (18, 0, 0),
            // bin8/str8, bin16/str16, bin32/str32: a length, then that many bytes.
            0xc4 | 0xd9 | 0xc5 | 0xda | 0xc6 | 0xdb => {
                let width = match marker {
                    0xc4 | 0xd9 => 1,
                    0xc5 | 0xda => 2,
                    _ => 4,
                };
                let Some(len) = read_len(buf, pos + 1, width) else {
                    return Ok(Scan::Incomplete(pos + 1 + width));
                };
                (1 + width, len, 0)
            }
            // ext8/16/32: a length, a type byte, then the data.
            0xc7..=0xc9 => {
                let width = 1 << (marker - 0xc7);
                let Some(len) = read_len(buf, pos + 1, width) else {
                    return Ok(Scan::Incomplete(pos + 1 + width));
                };
                (2 + width, len, 0)
            }
            // array16/32 and map16/32: a count of children.
            0xdc..=0xdf => {
                let width = if marker & 1 == 0 { 2 } else { 4 };
                let Some(count) = read_len(buf, pos + 1, width) else {
                    return Ok(Scan::Incomplete(pos + 1 + width));
                };
                let per = if marker >= 0xde { 2 } else { 1 };
                (1 + width, 0, per * count)
            }
        };
        let end = usize::try_from(body)
            .ok()
            .and_then(|body| (pos + header).checked_add(body))
            .ok_or_else(|| format!("length {body} at offset {pos} overflows"))?;
        if end > buf.len() {
            return Ok(Scan::Incomplete(end));
        }
        pos = end;
        pending += children;
    }
    Ok(Scan::Complete(pos))
}

/// A big-endian length of `width` bytes at `at`, if the buffer has it.
fn read_len(buf: &[u8], at: usize, width: usize) -> Option<u64> {
    let bytes = buf.get(at..at + width)?;
    Some(bytes.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        rmpv::encode::write_value(&mut out, value).unwrap();
        out
    }

    fn response(msgid: u32, error: Value, result: Value) -> Value {
        Value::Array(vec![1.into(), msgid.into(), error, result])
    }

    /// A response exercising every marker family the scanner distinguishes.
    fn rich_response() -> Value {
        let str8 = "s".repeat(40);
        let str16 = "s".repeat(300);
        let bin16 = vec![7u8; 300];
        let array16: Vec<Value> = (0..20).map(Value::from).collect();
        let map16: Vec<(Value, Value)> = (0..17)
            .map(|i| {
                (
                    Value::from(format!("k{i}")),
                    Value::from(vec![Value::from("v")]),
                )
            })
            .collect();
        let result = Value::Map(vec![
            ("EventId".into(), 3.into()),
            (
                "Data".into(),
                Value::Map(vec![
                    ("Method".into(), "kong.response.exit".into()),
                    (
                        "Args".into(),
                        Value::Array(vec![
                            403.into(),
                            Value::Binary(b"denied".to_vec()),
                            Value::Map(vec![]),
                            Value::Nil,
                            true.into(),
                            (-1i64).into(),
                            (-200i64).into(),
                            70_000.into(),
                            (-70_000i64).into(),
                            u64::MAX.into(),
                            i64::MIN.into(),
                            1.5f32.into(),
                            2.25f64.into(),
                            str8.into(),
                            str16.into(),
                            Value::Binary(bin16),
                            Value::Array(array16),
                            Value::Map(map16),
                            Value::Ext(1, vec![1]),
                            Value::Ext(2, vec![1, 2]),
                            Value::Ext(3, vec![1, 2, 3, 4]),
                            Value::Ext(4, vec![0; 8]),
                            Value::Ext(5, vec![0; 16]),
                            Value::Ext(6, vec![0; 3]),
                            Value::Ext(7, vec![0; 300]),
                        ]),
                    ),
                ]),
            ),
        ]);
        response(9, Value::Nil, result)
    }

    #[test]
    fn request_bytes_match_kong() {
        // [0, 1, "plugin.GetStatus", [nil]], as captured from a real exchange.
        let bytes = encode_request(1, "plugin.GetStatus", &()).unwrap();
        let mut expected = vec![0x94, 0x00, 0x01, 0xb0];
        expected.extend_from_slice(b"plugin.GetStatus");
        expected.extend_from_slice(&[0x91, 0xc0]);
        assert_eq!(bytes, expected);
    }

    #[test]
    fn request_structs_are_maps() {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct HandleEvent<'a> {
            instance_id: i64,
            event_name: &'a str,
        }
        let bytes = encode_request(
            7,
            "plugin.HandleEvent",
            &HandleEvent {
                instance_id: 0,
                event_name: "access",
            },
        )
        .unwrap();
        let value = rmpv::decode::read_value(&mut bytes.as_slice()).unwrap();
        let expected = Value::Array(vec![
            0.into(),
            7.into(),
            "plugin.HandleEvent".into(),
            Value::Array(vec![Value::Map(vec![
                ("InstanceId".into(), 0.into()),
                ("EventName".into(), "access".into()),
            ])]),
        ]);
        assert_eq!(value, expected);
    }

    #[test]
    fn decodes_at_every_split_point() {
        let value = rich_response();
        let bytes = encode(&value);
        for split in 0..=bytes.len() {
            let mut decoder = Decoder::new();
            decoder.feed(&bytes[..split]);
            let first = decoder.next_message().unwrap();
            if split < bytes.len() {
                assert_eq!(first, None, "complete at split {split}");
                decoder.feed(&bytes[split..]);
            } else {
                assert!(first.is_some());
                continue;
            }
            let Message::Response { msgid, result } = decoder.next_message().unwrap().unwrap()
            else {
                panic!("not a response")
            };
            assert_eq!(msgid, 9);
            assert_eq!(result.unwrap(), value.as_array().unwrap()[3]);
            assert_eq!(decoder.buffered(), 0);
        }
    }

    #[test]
    fn decodes_32_bit_lengths_split_anywhere() {
        let big = response(
            2,
            Value::Nil,
            Value::Array(vec![
                Value::Binary(vec![1u8; 70_000]),
                "x".repeat(70_000).into(),
                Value::Ext(9, vec![2u8; 70_000]),
                Value::Array((0..70_000).map(|_| Value::Nil).collect()),
                Value::Map((0..70_000).map(|i| (i.into(), Value::Nil)).collect()),
            ]),
        );
        let bytes = encode(&big);
        let splits = (0..16)
            .chain((16..bytes.len()).step_by(30_011))
            .chain(bytes.len() - 16..bytes.len());
        for split in splits {
            let mut decoder = Decoder::new();
            decoder.feed(&bytes[..split]);
            assert_eq!(
                decoder.next_message().unwrap(),
                None,
                "complete at split {split}"
            );
            decoder.feed(&bytes[split..]);
            let Some(Message::Response { result, .. }) = decoder.next_message().unwrap() else {
                panic!("no response at split {split}")
            };
            assert_eq!(result.unwrap(), big.as_array().unwrap()[3]);
        }
    }

    #[test]
    fn decodes_byte_by_byte() {
        let bytes = encode(&rich_response());
        let mut decoder = Decoder::new();
        let mut got = None;
        for (i, b) in bytes.iter().enumerate() {
            decoder.feed(&[*b]);
            if let Some(m) = decoder.next_message().unwrap() {
                assert_eq!(i, bytes.len() - 1, "complete too early");
                got = Some(m);
            }
        }
        assert!(got.is_some());
    }

    #[test]
    fn concatenated_messages_come_out_in_order() {
        let mut bytes = encode(&Value::Array(vec![
            2.into(),
            "serverPid".into(),
            4242.into(),
        ]));
        bytes.extend(encode(&response(1, Value::Nil, "ret".into())));
        bytes.extend(encode(&response(
            2,
            "no plugin instance #0".into(),
            Value::Nil,
        )));
        let mut decoder = Decoder::new();
        decoder.feed(&bytes);
        let pid = decoder.next_message().unwrap().unwrap();
        assert_eq!(pid.server_pid(), Some(4242));
        assert_eq!(
            decoder.next_message().unwrap(),
            Some(Message::Response {
                msgid: 1,
                result: Ok("ret".into())
            })
        );
        assert_eq!(
            decoder.next_message().unwrap(),
            Some(Message::Response {
                msgid: 2,
                result: Err("no plugin instance #0".into())
            })
        );
        assert_eq!(decoder.next_message().unwrap(), None);
    }

    #[test]
    fn server_pid_only_from_server_pid_notifications() {
        let wrapped = Message::Notification {
            label: "serverPid".into(),
            args: Value::Array(vec![17.into()]),
        };
        let other = Message::Notification {
            label: "somethingElse".into(),
            args: 17.into(),
        };
        let response = Message::Response {
            msgid: 1,
            result: Ok(17.into()),
        };
        assert_eq!(wrapped.server_pid(), Some(17));
        assert_eq!(other.server_pid(), None);
        assert_eq!(response.server_pid(), None);
    }

    #[test]
    fn reserved_marker_is_corrupt() {
        let mut decoder = Decoder::new();
        decoder.feed(&[0x94, 0x01, 0xc1, 0xc0, 0xc0]);
        let err = decoder.next_message().unwrap_err();
        let text = err.to_string();
        assert!(text.contains("0xc1"), "{text}");
        assert!(text.contains("94 01 c1 c0 c0"), "{text}");
    }

    #[test]
    fn wrong_shapes_are_protocol_errors() {
        for bad in [
            Value::from("hello"),
            Value::Array(vec![1.into(), 1.into(), Value::Nil]),
            Value::Array(vec![
                0.into(),
                1.into(),
                "plugin.X".into(),
                Value::Array(vec![]),
            ]),
            Value::Array(vec![3.into(), 1.into(), Value::Nil, Value::Nil]),
            Value::Array(vec![1.into(), (-1).into(), Value::Nil, Value::Nil]),
            Value::Array(vec![2.into(), 5.into(), Value::Nil]),
        ] {
            let mut decoder = Decoder::new();
            decoder.feed(&encode(&bad));
            let err = decoder.next_message().unwrap_err();
            assert!(matches!(err, Error::Protocol { .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn absurd_lengths_are_corrupt_not_awaited() {
        // str32 claiming 4 GiB.
        let mut decoder = Decoder::new();
        decoder.feed(&[0x94, 0x01, 0x01, 0xdb, 0xff, 0xff, 0xff, 0xff]);
        let err = decoder.next_message().unwrap_err();
        assert!(err.to_string().contains("more than"), "{err}");
    }

    #[test]
    fn error_may_be_binary() {
        let mut decoder = Decoder::new();
        decoder.feed(&encode(&response(
            4,
            Value::Binary(b"boom".to_vec()),
            Value::Nil,
        )));
        assert_eq!(
            decoder.next_message().unwrap(),
            Some(Message::Response {
                msgid: 4,
                result: Err("boom".into())
            })
        );
    }
}
