//! The Admin and Status listeners' read-only endpoints (Kong's `GET /` and `GET /status`).
//! Kong's DB-less Admin API is read-only too; configuration changes go through the declarative
//! file and `HUP`.

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::json;

use crate::gateway::Gateway;
use crate::proxy::body::ResponseBody;
use crate::proxy::errors::{json, json_error, kong_error};
use crate::ListenKind;

pub fn handle(gw: &Gateway, kind: ListenKind, req: Request<Incoming>) -> Response<ResponseBody> {
    let resp = match (req.method(), req.uri().path()) {
        (&Method::GET, "/") if kind == ListenKind::Admin => json(StatusCode::OK, &node_info(gw)),
        (&Method::GET, "/status") => json(StatusCode::OK, &status(gw)),
        (&Method::GET, _) => kong_error(StatusCode::NOT_FOUND),
        _ => json_error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed"),
    };
    resp.map(ResponseBody::new)
}

fn node_info(gw: &Gateway) -> serde_json::Value {
    json!({
        "tagline": "Welcome to sluice",
        "version": env!("CARGO_PKG_VERSION"),
        "hostname": gw.hostname,
        "pid": std::process::id(),
        "configuration": { "database": "off", "role": "traditional" },
    })
}

/// Kong's status shape; the counters are this worker's (each worker answers for itself).
fn status(gw: &Gateway) -> serde_json::Value {
    json!({
        "database": { "reachable": true },
        "server": {
            "connections_active": gw.life.open_connections(),
            "total_requests": gw.requests.get(),
        },
        "memory": { "lua_shared_dicts": shared_dicts(gw) },
        "worker": { "id": gw.worker_id, "count": gw.settings.worker_count, "pid": std::process::id() },
    })
}

/// Kong's per-dict memory figures, plus the result of the zone's consistency check (`"ok"` or
/// what is wrong), which the crash tests read.
fn shared_dicts(gw: &Gateway) -> serde_json::Value {
    let dicts: serde_json::Map<String, serde_json::Value> = gw
        .zones
        .iter()
        .map(|z| {
            let check = z.check().map_or_else(|e| e.0, |()| "ok".to_string());
            let used = z.capacity() - z.free_space();
            (
                z.name().to_string(),
                json!({ "capacity": z.capacity(), "allocated": used, "check": check }),
            )
        })
        .collect();
    serde_json::Value::Object(dicts)
}
