//! The client against real plugin servers: Kong's Python PDK server and a Go plugin built
//! on Sluice's Go PDK, each on a temp unix socket.

mod go;
mod python;
mod support;
