//! External plugins (Kong's `runloop/plugin_servers`): each phase of a plugin that a plugin
//! server serves runs as one `plugin.HandleEvent` conversation (see `sluice_pluginserver`), and
//! every PDK call the plugin makes is answered by the Lua PDK function of the same name, as Kong
//! does. Lua and external plugins therefore share one request state, `kong.ctx.shared` included.

mod convert;
mod dispatch;

pub use dispatch::Api;
