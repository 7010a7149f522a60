//! The node settings a worker needs, taken from the node config once per generation.

use std::net::IpAddr;
use std::time::Duration;

use sluice_conf::{Cidr, NodeConfig, ProxyHeaders};

/// Kong's `upstream_keepalive_*` settings.
#[derive(Debug, Clone)]
pub struct Keepalive {
    pub pool_size: usize,
    pub max_requests: u32,
    pub idle_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub keepalive: Keepalive,
    /// How long an old worker may take to finish in-flight requests after `QUIT` or a reload.
    pub drain_timeout: Duration,
    /// Largest request head accepted; a larger one gets 431.
    pub max_header_bytes: usize,
    /// Kong's `headers`: which informational headers responses carry.
    pub headers: ProxyHeaders,
    pub trusted_ips: Vec<Cidr>,
    pub worker_count: usize,
}

impl Settings {
    pub fn from_node(node: &NodeConfig, worker_count: usize) -> Settings {
        Settings {
            keepalive: Keepalive {
                pool_size: node.upstream_keepalive_pool_size as usize,
                max_requests: node.upstream_keepalive_max_requests,
                idle_timeout: node.upstream_keepalive_idle_timeout,
            },
            drain_timeout: node.nginx_main_worker_shutdown_timeout,
            // nginx's large_client_header_buffers bound one header line, hyper's buffer the
            // whole head: allow the head as many lines as nginx has buffers.
            max_header_bytes: usize::try_from(
                node.nginx_http_large_client_header_buffers.size
                    * u64::from(node.nginx_http_large_client_header_buffers.number),
            )
            .unwrap_or(usize::MAX),
            headers: node.headers,
            trusted_ips: node.trusted_ips.clone(),
            worker_count,
        }
    }

    /// Whether `ip` is one of `trusted_ips`, so its `X-Forwarded-*` headers are believed.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted_ips.iter().any(|net| net.contains(ip))
    }
}
