//! One error type for the whole bridge, worded for the error log.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// What went wrong talking to (or learning about) a plugin server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The socket could not be reached: the sidecar is not running (yet).
    #[error("plugin server unreachable at {}: {source}", path.display())]
    Connect { path: PathBuf, source: io::Error },

    /// The sidecar did not answer in time; the connection was dropped.
    #[error("plugin server did not answer {method} within {after:?}")]
    Timeout { method: String, after: Duration },

    /// The connection broke: the sidecar died or closed it mid-call.
    #[error("plugin server connection lost during {method}: {source}")]
    Gone { method: String, source: io::Error },

    /// The sidecar's pid changed while an event was starting: its instances are gone.
    #[error("plugin server restarted during {method}")]
    Restarted { method: String },

    /// The sidecar sent bytes that are not a valid `MsgPack:1` message.
    #[error("plugin server protocol error: {reason} (bytes: {context})")]
    Protocol { reason: String, context: String },

    /// The sidecar answered the call with an error string (`[1, id, err, nil]`).
    #[error("plugin server failed {method}: {message}")]
    Remote { method: String, message: String },

    /// The gateway's PDK function raised an error for a plugin's call; the event was abandoned.
    #[error("PDK function {method} failed: {message}")]
    Pdk { method: String, message: String },

    /// A request argument could not be encoded.
    #[error("cannot encode {method}: {reason}")]
    Encode { method: String, reason: String },

    /// The query command failed or printed something Kong would not accept.
    #[error("plugin server query command `{cmd}`: {reason}")]
    Query { cmd: String, reason: String },

    /// The node configuration of a plugin server is incomplete.
    #[error("{0}")]
    Config(String),
}

impl Error {
    /// Kong resets and restarts instances on any error mentioning `no plugin instance`.
    pub fn is_no_plugin_instance(&self) -> bool {
        matches!(self, Error::Remote { message, .. }
            if message.to_ascii_lowercase().contains("no plugin instance"))
    }
}

/// Hex dump of at most 48 bytes, for protocol errors.
pub(crate) fn hex_context(bytes: &[u8]) -> String {
    const MAX: usize = 48;
    let mut out: Vec<String> = bytes.iter().take(MAX).map(|b| format!("{b:02x}")).collect();
    if bytes.len() > MAX {
        out.push(format!("... ({} bytes)", bytes.len()));
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_plugin_instance_is_recognised_case_insensitively() {
        let py = Error::Remote {
            method: "plugin.HandleEvent".into(),
            message: "no plugin instance #0".into(),
        };
        let go = Error::Remote {
            method: "plugin.HandleEvent".into(),
            message: "No Plugin Instance 3".into(),
        };
        let other = Error::Remote {
            method: "plugin.HandleEvent".into(),
            message: "'Plugin' object has no attribute 'rewrite'".into(),
        };
        assert!(py.is_no_plugin_instance());
        assert!(go.is_no_plugin_instance());
        assert!(!other.is_no_plugin_instance());
    }

    #[test]
    fn hex_context_is_bounded() {
        assert_eq!(hex_context(&[0x94, 0x00, 0xc1]), "94 00 c1");
        let long = vec![0u8; 100];
        assert!(hex_context(&long).ends_with("... (100 bytes)"));
    }
}
