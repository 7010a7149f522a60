//! The client against a Go plugin built on Sluice's Go PDK (`pdk-go/`), whose embedded
//! server sends `serverPid` on every connection as Kong's Go servers do.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use rmpv::Value;
use serde_json::Map;
use sluice_pluginserver::info::{run_query, Extensions};
use sluice_pluginserver::{Client, ClientConfig, Error, EventOutcome, InstanceConfig, PluginScope};

use crate::support::{raw_call, run, Recorder, Sidecar, TempDir};

const PLUGIN: &str = "go-hello";

/// `pdk-go/examples/go-hello`, built once per test run (offline, as CI builds it).
fn go_hello() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let bin = Path::new(env!("CARGO_TARGET_TMPDIR")).join(PLUGIN);
        run(Command::new("go")
            .args(["build", "-o"])
            .arg(&bin)
            .arg("./examples/go-hello")
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../pdk-go"))
            .env("GOFLAGS", "-mod=mod")
            .env("GOPROXY", "off"));
        bin
    })
}

/// The plugin's own server on `<dir>/go-hello.socket`.
fn start_server(tag: &str) -> Sidecar {
    let dir = TempDir::new(&format!("go-{tag}"));
    let prefix = dir.0.clone();
    Sidecar::start(dir, prefix.join("go-hello.socket"), move || {
        let mut cmd = Command::new(go_hello());
        cmd.arg("-kong-prefix").arg(&prefix);
        cmd
    })
}

/// A client with the extensions go-hello's dump announces, as the gateway makes it.
fn sluice_client(server: &Sidecar) -> Client {
    let mut config = ClientConfig::new(server.socket());
    config.extensions = run_query(&format!("{} -dump", go_hello().display()))
        .unwrap()
        .extensions;
    Client::new(config)
}

fn conf(message: &str) -> InstanceConfig {
    let mut config = Map::new();
    config.insert("message".into(), message.into());
    InstanceConfig::new(
        PLUGIN,
        &config,
        &PluginScope {
            plugin_id: "0b5e7f5c-0000-4000-8000-000000000002".into(),
            seq: 3,
            ..PluginScope::default()
        },
    )
}

fn greeting(pdk: &Recorder) -> String {
    let args = pdk.args_of("kong.response.set_header");
    assert_eq!(args[0], Value::from("x-hello-from-go"));
    args[1].as_str().unwrap().to_owned()
}

/// Runs an access event of the "hi" config and checks the plugin's greeting.
async fn greets(client: &Client) -> Recorder {
    greets_with(client, Recorder::new("alice")).await
}

/// [`greets`] with a PDK set up by the caller.
async fn greets_with(client: &Client, mut pdk: Recorder) -> Recorder {
    let outcome = client
        .run_event(&conf("hi"), "access", &mut pdk)
        .await
        .unwrap();
    assert_eq!(outcome, EventOutcome::Done);
    assert_eq!(greeting(&pdk), "Go says hi to example.com");
    pdk
}

#[tokio::test]
async fn go_plugin_is_queried_and_runs_an_access_event() {
    let server = start_server("access");
    let cmd = format!(
        "{} -dump -kong-prefix {}",
        go_hello().display(),
        server.dir.0.display()
    );
    let dump = run_query(&cmd).unwrap();
    assert_eq!(
        dump.extensions,
        Extensions {
            deferred: true,
            request_headers: true
        }
    );
    let plugins = dump.plugins;
    assert_eq!(plugins.len(), 1);
    assert_eq!(plugins[0].name, PLUGIN);
    assert!(
        plugins[0].phases.contains(&"access".to_owned()),
        "{:?}",
        plugins[0].phases
    );

    // Without the extensions (as Kong's gateway), every call is asked.
    let client = Client::new(ClientConfig::new(server.socket()));
    let pdk = greets(&client).await;
    assert_eq!(
        pdk.methods(),
        [
            "kong.request.get_header",
            "kong.response.set_header",
            "kong.service.request.set_header"
        ]
    );
}

/// With the request's headers sent along, pdk-go reads them without asking: the event is
/// one round trip, its calls all deferred.
#[tokio::test]
async fn headers_sent_with_the_event_spare_the_plugin_asking() {
    let server = start_server("headers");
    let client = sluice_client(&server);
    let mut pdk = Recorder::new("alice");
    pdk.send_headers = true;
    let pdk = greets_with(&client, pdk).await;
    assert_eq!(
        pdk.methods(),
        [
            "kong.response.set_header",
            "kong.service.request.set_header"
        ]
    );
}

/// pdk-go defers its setters (they travel with the "ret"); one the PDK raises on still
/// fails the event, and the connection serves the next one.
#[tokio::test]
async fn a_raising_deferred_setter_fails_the_event() {
    let server = start_server("deferred");
    let client = sluice_client(&server);
    let mut pdk = Recorder::new("alice");
    pdk.raise_on = Some("kong.response.set_header");
    let err = client
        .run_event(&conf("hi"), "access", &mut pdk)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Pdk { method, .. } if method == "kong.response.set_header"),
        "{err}"
    );
    assert_eq!(
        pdk.methods(),
        ["kong.request.get_header", "kong.response.set_header"],
        "calls after the raising one are not run"
    );
    greets(&client).await;
}

#[tokio::test]
async fn go_server_restart_is_seen_through_its_pid() {
    let mut server = start_server("restart");
    // No pooled connections: only the serverPid notification can reveal the restart.
    let mut config = ClientConfig::new(server.socket());
    config.max_idle = 0;
    let client = Client::new(config);
    greets(&client).await;

    server.kill();
    server.restart();
    // Another worker's instance takes the new server's first id.
    let foreign = serde_json::json!({"message": "someone else's"}).to_string();
    raw_call(
        &server.socket(),
        "plugin.StartInstance",
        &serde_json::json!({"Name": PLUGIN, "Config": foreign}),
    )
    .unwrap();

    greets(&client).await;
}
