//! The client against Kong's real Python plugin server (`kong-pdk` from PyPI, in a venv).

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rmpv::Value;
use serde_json::Map;
use sluice_pluginserver::info::run_query;
use sluice_pluginserver::{
    Client, ClientConfig, Error, EventOutcome, InstanceConfig, PdkDispatch, PluginScope,
};
use tokio::sync::Notify;

use crate::support::{raw_call, Hook, Recorder, Sidecar, TempDir};

/// The plugin in `tests/fixtures/sluice_demo.py`, named after its file.
const PLUGIN: &str = "sluice_demo";

/// The venv holding `kong-pdk`: `$SLUICE_PY_VENV`, else `target/py-venv`, both made by
/// `scripts/deps` (tests use no network, so they do not install it themselves).
fn python_venv() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let venv = std::env::var_os("SLUICE_PY_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/py-venv"));
        assert!(
            venv.join("bin/kong-python-pluginserver").exists(),
            "no kong-pdk venv at {}: run scripts/deps first",
            venv.display()
        );
        venv
    })
}

/// `kong-python-pluginserver` serving the fixture plugin on `<dir>/py.sock`.
fn start_server(tag: &str) -> Sidecar {
    let dir = TempDir::new(&format!("py-{tag}"));
    let plugins = dir.0.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sluice_demo.py");
    std::fs::copy(fixture, plugins.join(format!("{PLUGIN}.py"))).unwrap();
    let prefix = dir.0.clone();
    Sidecar::start(dir, prefix.join("py.sock"), move || {
        let mut cmd = Command::new(python_venv().join("bin/kong-python-pluginserver"));
        cmd.arg("-p")
            .arg(&prefix)
            .args(["--socket-name", "py.sock", "-d"])
            .arg(prefix.join("plugins"));
        cmd
    })
}

/// Ids of the running instances of [`PLUGIN`], from `plugin.GetStatus`.
fn server_instances(socket: &Path) -> Vec<i64> {
    let status = raw_call(socket, "plugin.GetStatus", &()).unwrap();
    let instances = &status["Plugins"][PLUGIN]["Instances"];
    instances
        .as_array()
        .unwrap_or_else(|| panic!("no Instances in {status}"))
        .iter()
        .map(|i| i["Id"].as_i64().unwrap())
        .collect()
}

const PLUGIN_ID: &str = "6a1f0a2e-0000-4000-8000-000000000001";

fn conf(message: &str, seq: u64) -> InstanceConfig {
    let mut config = Map::new();
    config.insert("message".into(), message.into());
    InstanceConfig::new(
        PLUGIN,
        &config,
        &PluginScope {
            plugin_id: PLUGIN_ID.into(),
            route_id: Some("route-1".into()),
            seq,
            ..PluginScope::default()
        },
    )
}

fn client(server: &Sidecar) -> Client {
    Client::new(ClientConfig::new(server.socket()))
}

/// What the plugin reported it saw, from its `x-echo` response header.
fn echo(pdk: &Recorder) -> serde_json::Value {
    let args = pdk.args_of("kong.response.set_header");
    assert_eq!(args[0], Value::from("x-echo"));
    serde_json::from_str(args[1].as_str().unwrap()).unwrap()
}

async fn access(client: &Client, conf: &InstanceConfig, user: &str) -> (EventOutcome, Recorder) {
    let mut pdk = Recorder::new(user);
    let outcome = client
        .run_event(conf, "access", &mut pdk)
        .await
        .unwrap_or_else(|e| panic!("access event failed: {e}"));
    (outcome, pdk)
}

#[test]
fn query_command_describes_the_plugin() {
    let server = start_server("query");
    let cmd = format!(
        "{} -d {} --dump-all-plugins",
        python_venv().join("bin/kong-python-pluginserver").display(),
        server.dir.0.join("plugins").display()
    );
    let plugins = run_query(&cmd).unwrap().plugins;
    assert_eq!(plugins.len(), 1);
    let p = &plugins[0];
    assert_eq!(p.name, PLUGIN);
    assert_eq!(p.priority, 100);
    assert_eq!(p.version, "0.1.0");
    assert_eq!(p.phases, ["rewrite", "log", "access"]);
    assert_eq!(
        p.schema["fields"][0]["config"]["fields"][0]["message"]["type"],
        "string"
    );
}

#[tokio::test]
async fn access_event_answers_every_pdk_call_with_kong_encodings() {
    let server = start_server("access");
    let client = client(&server);
    let conf = conf("hi", 7);

    let (outcome, pdk) = access(&client, &conf, "alice").await;
    assert_eq!(outcome, EventOutcome::Done);
    assert_eq!(
        pdk.methods(),
        [
            "kong.request.get_header",
            "kong.request.get_headers",
            "kong.request.get_raw_body",
            "kong.request.get_header",
            "kong.ctx.shared.set",
            "kong.response.set_header",
        ]
    );
    assert_eq!(
        pdk.args_of("kong.request.get_header"),
        [Value::from("x-user")]
    );
    assert_eq!(pdk.args_of("kong.request.get_headers"), []);
    assert_eq!(
        pdk.args_of("kong.ctx.shared.set"),
        [Value::from("seen"), Value::from(1)]
    );
    let seen = echo(&pdk);
    assert_eq!(seen["user"], "alice");
    // StepMultiMap: single values became lists.
    assert_eq!(seen["host"], serde_json::json!(["example.com"]));
    assert_eq!(seen["accept"], serde_json::json!(["a/b", "c/d"]));
    // Raw bodies travel as msgpack bin: Python sees bytes.
    assert_eq!(seen["body_type"], "bytes");
    assert_eq!(seen["body"], "raw-body");
    // StepError: a lua-style (None, err).
    assert_eq!(seen["failed"], serde_json::Value::Null);
    assert_eq!(seen["fail_err"], "header lookup failed");
    // The config arrived as JSON text with Kong's fields.
    assert_eq!(seen["message"], "hi");
    assert_eq!(seen["plugin_id"], PLUGIN_ID);
    assert_eq!(seen["seq"], 7);
    assert_eq!(seen["events"], 1);

    // Same config: the same instance serves the next event.
    let (_, pdk) = access(&client, &conf, "bob").await;
    assert_eq!(echo(&pdk)["events"], 2);
    assert_eq!(server_instances(&server.socket()).len(), 1);

    // The log phase: kong.log.serialize is a JSON string.
    let mut log = Recorder::new("alice");
    let outcome = client.run_event(&conf, "log", &mut log).await.unwrap();
    assert_eq!(outcome, EventOutcome::Done);
    assert_eq!(log.methods(), ["kong.log.serialize", "kong.log.info"]);
    assert_eq!(
        log.args_of("kong.log.info"),
        [
            Value::from("serialized"),
            Value::from(Recorder::serialized().len())
        ]
    );
}

#[tokio::test]
async fn response_exit_is_never_answered_and_ends_the_event() {
    let server = start_server("exit");
    let client = client(&server);
    let conf = conf("hi", 1);

    let (outcome, pdk) = access(&client, &conf, "deny").await;
    assert_eq!(outcome, EventOutcome::Exited);
    assert_eq!(pdk.methods().last(), Some(&"kong.response.exit"));
    assert_eq!(
        pdk.args_of("kong.response.exit"),
        [
            Value::from(403),
            Value::Binary(b"denied deny".to_vec()),
            Value::Map(vec![("x-why".into(), "py".into())]),
        ]
    );
    // Nothing is outstanding: the connection and the instance serve the next event.
    let (outcome, pdk) = access(&client, &conf, "carol").await;
    assert_eq!(outcome, EventOutcome::Done);
    assert_eq!(echo(&pdk)["events"], 2);
}

#[tokio::test]
async fn config_change_replaces_the_instance_and_reload_closes_it() {
    let server = start_server("reconf");
    let client = client(&server);

    let (_, pdk) = access(&client, &conf("one", 1), "alice").await;
    assert_eq!(echo(&pdk)["message"], "one");
    let first = server_instances(&server.socket());
    assert_eq!(first.len(), 1);

    let (_, pdk) = access(&client, &conf("two", 2), "alice").await;
    let seen = echo(&pdk);
    assert_eq!(seen["message"], "two");
    assert_eq!(seen["events"], 1, "a new instance");
    let second = server_instances(&server.socket());
    assert_eq!(second.len(), 1, "the old instance was closed");
    assert_ne!(first, second);

    // A reload that keeps the plugin closes nothing; one that drops it closes it.
    client.close_instances(&|id| id == PLUGIN_ID).await.unwrap();
    assert_eq!(server_instances(&server.socket()), second);
    client.close_instances(&|_| false).await.unwrap();
    assert!(server_instances(&server.socket()).is_empty());

    // Used again later, it is simply started again.
    let (_, pdk) = access(&client, &conf("two", 2), "alice").await;
    assert_eq!(echo(&pdk)["events"], 1);
}

#[tokio::test]
async fn lost_instance_is_started_again_and_the_event_retried() {
    let server = start_server("lost");
    let client = client(&server);
    let conf = conf("hi", 1);
    access(&client, &conf, "alice").await;
    let ids = server_instances(&server.socket());

    // The server forgets the instance behind the client's back (as JS/Go expire them).
    raw_call(&server.socket(), "plugin.CloseInstance", &ids[0]).unwrap();

    let (outcome, pdk) = access(&client, &conf, "alice").await;
    assert_eq!(outcome, EventOutcome::Done);
    assert_eq!(echo(&pdk)["events"], 1, "a fresh instance ran the event");
    assert_eq!(pdk.methods().len(), 6, "the PDK saw the event once");
    assert_eq!(server_instances(&server.socket()).len(), 1);
}

#[tokio::test]
async fn sidecar_killed_mid_conversation_fails_fast_then_recovers() {
    let server = Rc::new(RefCell::new(start_server("kill")));
    let client = client(&server.borrow());
    let conf = conf("hi", 1);

    let mut pdk = Recorder::new("alice");
    let victim = Rc::clone(&server);
    pdk.hooks.insert(
        "kong.request.get_raw_body",
        Hook::Run(Box::new(move || victim.borrow_mut().kill())),
    );
    let started = Instant::now();
    let err = client
        .run_event(&conf, "access", &mut pdk)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Gone { .. }), "{err}");
    assert!(err.to_string().contains("plugin.Step"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );

    // While it is down, requests fail at once.
    let started = Instant::now();
    let mut pdk = Recorder::new("alice");
    let err = client
        .run_event(&conf, "access", &mut pdk)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));

    // A new server process: the instance is started again, the event goes through.
    server.borrow_mut().restart();
    let (outcome, pdk) = access(&client, &conf, "alice").await;
    assert_eq!(outcome, EventOutcome::Done);
    assert_eq!(echo(&pdk)["events"], 1);
}

#[tokio::test]
async fn restart_between_events_is_noticed_on_pooled_connections() {
    let mut server = start_server("restart");
    let client = client(&server);
    let conf = conf("hi", 1);
    let (_, pdk) = access(&client, &conf, "alice").await;
    assert_eq!(echo(&pdk)["events"], 1);

    server.kill();
    server.restart();
    // Another worker got id 0 first on the new server: reusing our old id would run
    // the event on the wrong instance.
    let foreign = serde_json::json!({"message": "someone else's"}).to_string();
    raw_call(
        &server.socket(),
        "plugin.StartInstance",
        &serde_json::json!({"Name": PLUGIN, "Config": foreign}),
    )
    .unwrap();

    let (outcome, pdk) = access(&client, &conf, "alice").await;
    assert_eq!(outcome, EventOutcome::Done);
    let seen = echo(&pdk);
    assert_eq!(seen["message"], "hi");
    assert_eq!(seen["events"], 1);
}

#[tokio::test]
async fn generation_change_forgets_instances() {
    let server = start_server("generation");
    let client = client(&server);
    let conf = conf("hi", 1);
    client.observe_generation(1);
    access(&client, &conf, "alice").await;
    client.observe_generation(1);
    let (_, pdk) = access(&client, &conf, "alice").await;
    assert_eq!(echo(&pdk)["events"], 2);

    client.observe_generation(2);
    let (_, pdk) = access(&client, &conf, "alice").await;
    assert_eq!(
        echo(&pdk)["events"],
        1,
        "started again for the new generation"
    );
}

#[tokio::test]
async fn hung_sidecar_times_out() {
    let server = start_server("hung");
    let mut config = ClientConfig::new(server.socket());
    config.call_timeout = Duration::from_millis(300);
    let client = Client::new(config);

    let started = Instant::now();
    let mut pdk = Recorder::new("alice");
    let err = client
        .run_event(&conf("hi", 1), "rewrite", &mut pdk)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(err.to_string().contains("plugin.HandleEvent"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn one_slow_conversation_does_not_block_another() {
    let server = start_server("concurrent");
    let client = client(&server);
    let conf = conf("hi", 1);
    let gate = Rc::new(Notify::new());

    let mut slow = Recorder::new("slow");
    slow.hooks
        .insert("kong.request.get_headers", Hook::Wait(Rc::clone(&gate)));
    let mut fast = Recorder::new("fast");
    fast.hooks
        .insert("kong.request.get_headers", Hook::Wake(Rc::clone(&gate)));

    let both = async {
        tokio::join!(
            client.run_event(&conf, "access", &mut slow),
            client.run_event(&conf, "access", &mut fast),
        )
    };
    let (a, b) = tokio::time::timeout(Duration::from_secs(20), both)
        .await
        .expect("the slow event blocked the other");
    assert_eq!(a.unwrap(), EventOutcome::Done);
    assert_eq!(b.unwrap(), EventOutcome::Done);
    assert_eq!(echo(&slow)["user"], "slow");
    assert_eq!(echo(&fast)["user"], "fast");
}

#[tokio::test]
async fn pdk_error_abandons_the_event_but_not_the_client() {
    let server = start_server("raise");
    let client = client(&server);
    let conf = conf("hi", 1);

    let mut pdk = Recorder::new("alice");
    pdk.raise_on = Some("kong.ctx.shared.set");
    let err = client
        .run_event(&conf, "access", &mut pdk)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Pdk { method, .. } if method == "kong.ctx.shared.set"),
        "{err}"
    );
    let (outcome, _) = access(&client, &conf, "alice").await;
    assert_eq!(outcome, EventOutcome::Done);
}

#[tokio::test]
async fn unhandled_phase_is_the_servers_error() {
    let server = start_server("phase");
    let client = client(&server);
    let mut pdk = Recorder::new("alice");
    let err = client
        .run_event(&conf("hi", 1), "certificate", &mut pdk)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Remote { message, .. } if message.contains("certificate")),
        "{err}"
    );
    assert!(pdk.calls.is_empty());
}

#[tokio::test]
async fn dispatcher_can_be_any_pdk_dispatch() {
    // The trait is object-safe: a worker can hold dispatchers as trait objects.
    let server = start_server("dyn");
    let client = client(&server);
    let mut boxed: Box<dyn PdkDispatch> = Box::new(Recorder::new("alice"));
    let outcome = client
        .run_event(&conf("hi", 1), "access", boxed.as_mut())
        .await
        .unwrap();
    assert_eq!(outcome, EventOutcome::Done);
}
