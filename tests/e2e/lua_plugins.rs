//! Lua plugins with Kong's contract: phases, the PDK, scoping, ordering, errors, schemas.

use std::process::Command;
use std::time::Duration;

use crate::common::http::{client, echo, fresh_client, get};
use crate::common::upstream::Upstream;
use crate::common::{wait_for, Sluice};

const LONG: Duration = Duration::from_secs(30);

/// Node config enabling `plugins` from the fixtures tree.
fn node(plugins: &str) -> String {
    node_on_path(
        plugins,
        concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/lua/?.lua;;"),
    )
}

/// Node config enabling `plugins` found on `lua_package_path`.
fn node_on_path(plugins: &str, lua_package_path: &str) -> String {
    format!("plugins = {plugins}\nlua_package_path = {lua_package_path}\n")
}

/// One service routing `/` to `up`, with one global instance of `plugin`.
fn global_plugin(up: &Upstream, plugin: &str) -> String {
    format!(
        "_format_version: \"3.0\"\nservices:\n- name: s\n  url: {}\n  routes:\n  - paths: [/]\nplugins:\n- name: {plugin}\n",
        up.url()
    )
}

#[test]
fn phases_run_in_order_with_the_pdk_and_conf_defaults() {
    let up = Upstream::start("up");
    let yml = format!(
        r#"_format_version: "3.0"
services:
- name: s
  url: {}
  routes:
  - name: global-only
    paths: [/g]
  - name: scoped
    paths: [/r]
    plugins:
    - name: hello
      config: {{ greeting: route-hi }}
plugins:
- name: hello
"#,
        up.url()
    );
    let sluice = Sluice::start(&yml, &node("hello"));
    let resp = get(&sluice.url("/g"));
    let h = resp.headers().clone();
    let e = echo(resp);
    assert_eq!(e["headers"]["x-hello"], "hi", "conf default filled in");
    assert_eq!(e["headers"]["x-hello-route"], "none");
    assert_eq!(h["x-hello-phases"], "rewrite,access,header_filter");
    assert_eq!(
        h["x-hello-set-in-access"], "yes",
        "headers set in access reach the response"
    );
    assert_eq!(
        h["x-hello-inits"], "1",
        "init_worker ran once in this worker"
    );
    assert_eq!(h["x-hello-upstream-status"], "200");

    // The route's own instance wins from access on (rewrite ran the global one: the route is not
    // known yet in rewrite).
    let resp = get(&sluice.url("/r"));
    assert_eq!(
        resp.headers()["x-hello-phases"],
        "rewrite,access,header_filter"
    );
    let e = echo(resp);
    assert_eq!(e["headers"]["x-hello"], "route-hi");
    assert_ne!(
        e["headers"]["x-hello-route"], "none",
        "conf.route_id is set for a route-scoped instance"
    );
}

fn scoping_config(up: &Upstream) -> String {
    format!(
        r#"_format_version: "3.0"
consumers:
- username: alice
- username: bob
services:
- name: s
  url: {up}
  plugins:
  - name: tag
    config: {{ value: service }}
  routes:
  - name: plain
    paths: [/plain]
  - name: routed
    paths: [/routed]
    plugins:
    - name: tag
      config: {{ value: route }}
  - name: free
    paths: [/free]
plugins:
- name: tag
  config: {{ value: global }}
- name: tag
  consumer: alice
  config: {{ value: consumer }}
- name: tag
  consumer: bob
  route: routed
  config: {{ value: consumer+route }}
- name: auth-key
  service: s
  config: {{ keys: {{ ka: alice, kb: bob }} }}
"#,
        up = up.url()
    )
}

#[test]
fn the_most_specific_instance_applies_once_a_consumer_is_known() {
    let up = Upstream::start("up");
    let sluice = Sluice::start(&scoping_config(&up), &node("auth-key, tag"));
    let http = client();
    let tag = |path: &str, key: Option<&str>| {
        let mut req = http.get(sluice.url(path));
        if let Some(k) = key {
            req = req.header("apikey", k);
        }
        let resp = req.send().unwrap();
        if resp.status() != 200 {
            return format!("status {}", resp.status().as_u16());
        }
        echo(resp)["headers"]["x-tag"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(
        tag("/plain", None),
        "status 401",
        "auth-key short-circuits with Kong's exit"
    );
    // bob has no consumer-only instance: the service's applies on /plain, the route's on /routed
    // would lose to consumer+route.
    assert_eq!(tag("/plain", Some("kb")), "service");
    assert_eq!(tag("/routed", Some("kb")), "consumer+route");
    // alice's consumer instance beats the route and the service.
    assert_eq!(tag("/plain", Some("ka")), "consumer");
    assert_eq!(tag("/routed", Some("ka")), "consumer");
    let resp = http
        .get(sluice.url("/plain"))
        .header("apikey", "nope")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.text().unwrap(),
        r#"{"message":"Invalid authentication credentials"}"#
    );
    let e = echo(
        http.get(sluice.url("/free"))
            .header("apikey", "ka")
            .send()
            .unwrap(),
    );
    assert_eq!(
        e["headers"]["x-consumer-username"], "alice",
        "load_consumer found the entity"
    );
}

/// Kong's twelve scope levels, most specific first, by the parts an instance names: route,
/// service, consumer, consumer group.
const LEVELS: [(&str, bool, bool, bool, bool); 12] = [
    ("consumer+route+service", true, true, true, false),
    ("group+route+service", true, true, false, true),
    ("consumer+route", true, false, true, false),
    ("consumer+service", false, true, true, false),
    ("group+route", true, false, false, true),
    ("group+service", false, true, false, true),
    ("route+service", true, true, false, false),
    ("consumer", false, false, true, false),
    ("group", false, false, false, true),
    ("route", true, false, false, false),
    ("service", false, true, false, false),
    ("global", false, false, false, false),
];

/// Case k has its own service, route, consumer and group, with `tag` instances at level k and
/// every less specific level: the level k instance must be the one that applies.
fn precedence_config(up: &Upstream) -> String {
    let mut services = String::new();
    let mut consumers = String::new();
    let mut groups = String::new();
    let mut members = String::new();
    let mut keys = Vec::new();
    let mut plugins = String::new();
    for k in 0..LEVELS.len() {
        services += &format!(
            "- name: s{k}\n  url: {}\n  routes:\n  - name: r{k}\n    paths: [/case{k}]\n",
            up.url()
        );
        consumers += &format!("- username: c{k}\n");
        groups += &format!("- name: g{k}\n");
        members += &format!("- consumer_group: g{k}\n  consumer: c{k}\n");
        keys.push(format!("key{k}: c{k}"));
        for (level, route, service, consumer, group) in &LEVELS[k..] {
            if *level == "global" {
                continue;
            }
            plugins += "- name: tag\n";
            for (on, part, name) in [
                (route, "route", "r"),
                (service, "service", "s"),
                (consumer, "consumer", "c"),
                (group, "consumer_group", "g"),
            ] {
                if *on {
                    plugins += &format!("  {part}: {name}{k}\n");
                }
            }
            plugins += &format!("  config: {{ value: \"{level}\" }}\n");
        }
    }
    format!(
        "_format_version: \"3.0\"\nservices:\n{services}consumers:\n{consumers}consumer_groups:\n{groups}consumer_group_consumers:\n{members}plugins:\n- name: tag\n  config: {{ value: global }}\n- name: auth-key\n  config: {{ keys: {{ {} }} }}\n{plugins}",
        keys.join(", ")
    )
}

#[test]
fn each_of_kongs_twelve_scope_levels_beats_the_less_specific_ones() {
    let up = Upstream::start("up");
    let sluice = Sluice::start(&precedence_config(&up), &node("auth-key, tag"));
    let http = client();
    for (k, (level, ..)) in LEVELS.iter().enumerate() {
        let resp = http
            .get(sluice.url(&format!("/case{k}")))
            .header("apikey", format!("key{k}"))
            .send()
            .unwrap();
        assert_eq!(resp.status(), 200, "{level}");
        assert_eq!(echo(resp)["headers"]["x-tag"], *level);
    }
}

#[test]
fn a_plugin_error_gives_kongs_500_and_the_worker_keeps_serving() {
    let up = Upstream::start("up");
    let yml = global_plugin(&up, "boom");
    let sluice = Sluice::start(&yml, &node("boom"));
    let http = client();
    let resp = http
        .get(sluice.url("/"))
        .header("x-boom", "1")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 500);
    assert_eq!(
        resp.text().unwrap(),
        r#"{"message":"An unexpected error occurred"}"#
    );
    let resp = http
        .get(sluice.url("/"))
        .header("x-wrong-phase", "1")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 500);
    assert_eq!(echo(get(&sluice.url("/"))).get("server").unwrap(), "up");
    wait_for("the errors in the log", LONG, || {
        let log = sluice.error_log();
        log.contains("kaboom")
            && log.contains("function cannot be called in access phase (only in: body_filter)")
    });
}

#[test]
fn a_sleeping_plugin_does_not_block_other_requests() {
    let up = Upstream::start("up");
    let yml = global_plugin(&up, "sleeper");
    let sluice = Sluice::start(&yml, &(node("sleeper") + "worker_processes = 1\n"));
    let url = sluice.url("/?sleep=5");
    let slow = std::thread::spawn(move || get(&url).status().as_u16());
    wait_for("the slow request to be asleep in the worker", LONG, || {
        sluice.error_log().contains("[sleeper] sleeping 5")
    });
    // One worker: if the sleep blocked it, these would wait for it.
    let http = fresh_client();
    for _ in 0..20 {
        assert_eq!(http.get(sluice.url("/fast")).send().unwrap().status(), 200);
    }
    assert!(
        !slow.is_finished(),
        "fast requests finished while the sleeping one still waits"
    );
    assert_eq!(slow.join().unwrap(), 200);
}

#[test]
fn body_filter_response_phase_and_log_phase() {
    let up = Upstream::start("up");
    let log = tempfile::NamedTempFile::new().unwrap();
    let yml = format!(
        r#"_format_version: "3.0"
services:
- name: s
  url: {}
  routes:
  - name: upper
    paths: [/upper]
    plugins:
    - name: body-upper
  - name: buffered
    paths: [/buffered]
    plugins:
    - name: buffer
plugins:
- name: logger
  config: {{ path: "{}" }}
"#,
        up.url(),
        log.path().display()
    );
    let sluice = Sluice::start(&yml, &node("body-upper, buffer, logger"));
    let body = get(&sluice.url("/upper/bytes/10")).text().unwrap();
    assert_eq!(body, "XXXXXXXXXX");
    let resp = get(&sluice.url("/buffered/x"));
    assert!(resp.headers().contains_key("x-upstream-body-length"));
    let text = resp.text().unwrap();
    assert!(text.starts_with("replaced:"), "{text}");
    wait_for("two log records", LONG, || {
        std::fs::read_to_string(log.path()).unwrap().lines().count() >= 2
    });
    let records = std::fs::read_to_string(log.path()).unwrap();
    let first: serde_json::Value = serde_json::from_str(records.lines().next().unwrap()).unwrap();
    assert_eq!(first["uri"], "/upper/bytes/10");
    assert_eq!(first["status"], 200);
    assert_eq!(first["route"], "upper");
}

fn ordering_config(up: &Upstream, ordering: &str) -> String {
    format!(
        r#"_format_version: "3.0"
consumers:
- username: alice
services:
- name: s
  url: {}
  routes:
  - name: r
    paths: [/]
plugins:
- name: auth-key
  config: {{ keys: {{ ka: alice }} }}
- name: order-a
- name: order-b
- name: order-c
  consumer: alice
{ordering}
"#,
        up.url()
    )
}

#[test]
fn dynamic_ordering_works_with_consumer_scoping() {
    let up = Upstream::start("up");
    let plugins = node("auth-key, order-a, order-b, order-c");
    let order = |sluice: &Sluice| {
        let resp = client()
            .get(sluice.url("/"))
            .header("apikey", "ka")
            .send()
            .unwrap();
        echo(resp)["headers"]["x-order"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let sluice = Sluice::start(&ordering_config(&up, ""), &plugins);
    assert_eq!(order(&sluice), "a,b,c", "priority order without ordering");
    drop(sluice);
    let sluice = Sluice::start(
        &ordering_config(&up, "  ordering: { before: { access: [order-a] } }"),
        &plugins,
    );
    assert_eq!(
        order(&sluice),
        "c,a,b",
        "a consumer-scoped plugin ordered before others"
    );
}

#[test]
fn invalid_plugin_config_is_refused_by_check_and_by_reload() {
    let up = Upstream::start("up");
    let good = global_plugin(&up, "hello");
    let sluice = Sluice::start(&good, &node("hello"));
    let bad = good.replace(
        "- name: hello\n",
        "- name: hello\n  config: { times: 50 }\n- name: nope\n",
    );
    sluice.write_declarative(&bad);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["check", "-c"])
        .arg(sluice.prefix().join("sluice.conf"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("nope plugin is in use but not enabled"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hello") && stderr.contains("times"),
        "{stderr}"
    );
    sluice.signal(nix::sys::signal::Signal::SIGHUP);
    wait_for("the reload error", LONG, || {
        sluice
            .error_log()
            .contains("keeping the current configuration")
    });
    assert_eq!(echo(get(&sluice.url("/")))["headers"]["x-hello"], "hi");
}

/// `luarocks make` of the example plugin's rockspec into a fresh tree, as a user installs a Kong
/// plugin (a builtin rock without dependencies: no network).
fn luarocks_tree() -> tempfile::TempDir {
    let tree = tempfile::tempdir().unwrap();
    let out = Command::new("luarocks")
        .args(["--lua-version=5.1", "make", "--deps-mode=none", "--tree"])
        .arg(tree.path())
        .arg("kong-plugin-header-echo-0.1.0-1.rockspec")
        .current_dir(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/lua-plugins/header-echo"
        ))
        .output()
        .unwrap_or_else(|e| panic!("running luarocks (scripts/deps installs it): {e}"));
    assert!(
        out.status.success(),
        "luarocks make failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    tree
}

#[test]
fn a_plugin_installed_with_luarocks_loads_and_runs() {
    let tree = luarocks_tree();
    let up = Upstream::start("up");
    let yml = format!(
        r#"_format_version: "3.0"
services:
- name: s
  url: {}
  routes:
  - name: open
    paths: [/open]
    plugins:
    - name: header-echo
      config: {{ request_header: X-Trace, upstream_header: X-Trace-Up, response_header: X-Trace-Back }}
  - name: strict
    paths: [/strict]
    plugins:
    - name: header-echo
      config: {{ reject_missing: true }}
"#,
        up.url()
    );
    let path = format!("{}/share/lua/5.1/?.lua;;", tree.path().display());
    let sluice = Sluice::start(&yml, &node_on_path("header-echo", &path));
    let http = client();

    let resp = http
        .get(sluice.url("/open"))
        .header("x-trace", "t-1")
        .send()
        .unwrap();
    assert_eq!(resp.headers()["x-trace-back"], "t-1", "header_filter ran");
    assert_eq!(echo(resp)["headers"]["x-trace-up"], "t-1", "access ran");

    let resp = get(&sluice.url("/open"));
    assert!(!resp.headers().contains_key("x-trace-back"));
    assert!(echo(resp)["headers"].get("x-trace-up").is_none());

    // The defaults from the plugin's schema apply where the config leaves them out.
    let resp = http
        .get(sluice.url("/strict"))
        .header("x-echo", "d-1")
        .send()
        .unwrap();
    assert_eq!(resp.headers()["x-echo"], "d-1");
    assert_eq!(echo(resp)["headers"]["x-echo-upstream"], "d-1");

    let hits = up.hits();
    let resp = get(&sluice.url("/strict"));
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<serde_json::Value>().unwrap(),
        serde_json::json!({ "message": "missing header X-Echo" })
    );
    assert_eq!(
        up.hits(),
        hits,
        "kong.response.exit in access skips the upstream"
    );
}

#[test]
fn a_graceful_stop_fires_pending_timers_prematurely() {
    let up = Upstream::start("up");
    let mut sluice = Sluice::start(&global_plugin(&up, "timers"), &node("timers"));
    let resp = get(&sluice.url("/"));
    assert_eq!(resp.headers()["x-pending-timers"], "1");
    sluice.signal(nix::sys::signal::Signal::SIGQUIT);
    assert_eq!(sluice.wait_exit(LONG), 0);
    let fired = sluice
        .error_log()
        .matches("timer t1 premature=true exiting=true new timer: nil process exiting")
        .count();
    assert_eq!(fired, 2, "once per worker:\n{}", sluice.error_log());
}

#[test]
fn get_body_decodes_json_forms_and_multipart() {
    let up = Upstream::start("up");
    let sluice = Sluice::start(&global_plugin(&up, "get-body"), &node("get-body"));
    let post = |content_type: &str, body: &'static [u8]| -> serde_json::Value {
        client()
            .post(sluice.url("/"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    let json = post("application/json", br#"{"a":[1,2]}"#);
    assert_eq!(json["body"]["a"][1], 2);
    assert_eq!(json["mime"], "application/json");
    let form = post("application/x-www-form-urlencoded", b"a=1&b=x%20y");
    assert_eq!(form["body"]["b"], "x y");
    let multipart = post(
        "multipart/form-data; boundary=B0und",
        b"--B0und\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello\r\n\
          --B0und\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\
          Content-Type: text/plain\r\n\r\nfile\r\nbody\r\n--B0und--\r\n",
    );
    assert_eq!(multipart["mime"], "multipart/form-data");
    assert_eq!(multipart["body"]["title"], "hello");
    assert_eq!(multipart["body"]["f"], "file\r\nbody");
    let other = post("text/plain", b"x");
    assert_eq!(other["err"], "unsupported content type 'text/plain'");
    assert!(other["body"].is_null());
}

#[test]
fn every_pdk_function_answers_like_kong() {
    let up = Upstream::start("up");
    let target = up.url().trim_start_matches("http://").to_string();
    let yml = format!(
        r#"_format_version: "3.0"
upstreams:
- name: tour-upstream
  targets:
  - target: {target}
services:
- name: s
  url: {}
  routes:
  - name: tour
    paths: [/tour]
    plugins:
    - name: pdk-tour
  - name: resp
    paths: [/resp]
    plugins:
    - name: pdk-tour-response
"#,
        up.url()
    );
    let sluice = Sluice::start(&yml, &node("pdk-tour, pdk-tour-response"));
    let resp = client()
        .post(sluice.url("/tour/x%20y?a=1&c"))
        .header("x-tour", "hi")
        .header("x-remove", "gone")
        .header("content-type", "application/json")
        .body(r#"{"n":1}"#)
        .send()
        .unwrap();
    let header = |name: &str| -> serde_json::Value {
        let text = resp.headers()[name].to_str().unwrap();
        serde_json::from_str(text).unwrap()
    };
    let (a, hf) = (header("x-tour-access"), header("x-tour-hf"));
    eprintln!("access: {a:#}\nheader_filter: {hf:#}");
    let port = sluice.proxy.port();
    let expect = serde_json::json!({
        "scheme": "http", "host": "127.0.0.1", "port": port,
        "fwd_scheme": "http", "fwd_host": "127.0.0.1", "fwd_port": port,
        "fwd_path": "/tour/x%20y",
        "http_version": 1.1, "method": "POST",
        "path": "/tour/x y", "raw_path": "/tour/x%20y",
        "path_with_query": "/tour/x%20y?a=1&c", "raw_query": "a=1&c",
        "query_arg": "1", "query": {"a": "1", "c": true},
        "header": "hi", "headers_tour": "hi",
        "raw_body": "{\"n\":1}", "body": {"n": 1},
        "ip": "127.0.0.1", "fwd_ip": "127.0.0.1", "protocol": "http",
        "route": "tour", "service": "s",
        "trusted": false, "table_new": "table", "table_clear": true,
        "has_prefix": true, "config_readonly": true,
    });
    let expect_ngx = serde_json::json!({
        "var_uri": "/tour/x y", "var_host": "127.0.0.1", "var_method": "POST", "var_args": "a=1&c",
        "ngx_ctx": "ctx", "time_types": "numbernumber", "today": true,
        "http_time": "Thu, 01 Jan 1970 00:00:00 GMT",
        "b64": "aGk=", "unb64": "hi", "md5": "0cc175b9c0f1b6a831c399e269772661",
        "sha1": "hvfkN/qlp/zhXR3cuerq6jd2Z7g=", "hmac": "lPxqL36JuBls904QeajBHrZ5pVI=",
        "esc": "a%20b%2Fc", "unesc": "a b", "enc_args": "a=1%202", "dec_args": "2",
        "null": true, "http_ok": 200, "log_err": 4,
        "re_match": "123", "re_find": [4, 6], "re_gsub": "a+b+c", "re_sub": "baa", "re_gmatch": 3,
        "worker": [true, true], "phase": "access", "cjson": 2, "cjson_safe": true,
    });
    let wanted = expect.as_object().unwrap().iter();
    for (key, want) in wanted.chain(expect_ngx.as_object().unwrap()) {
        assert_eq!(&a[key], want, "access: {key}");
    }
    assert!(a["client_port"].as_u64().unwrap() > 0);
    assert_eq!(a["client_fwd_port"], a["client_port"]);
    assert!(a["node_id"].as_str().unwrap().len() == 36 && a["hostname"].is_string());
    assert!(a["consumer"].is_null() && a["credential"].is_null());

    assert_eq!(hf["status"], 200, "the upstream's status before set_status");
    assert_eq!(hf["source"], "service");
    assert_eq!(hf["header"], "up");
    assert_eq!(hf["multi"], serde_json::json!(["a", "b"]));
    assert_eq!(
        (&hf["up_status"], &hf["up_header"]),
        (&200.into(), &"up".into())
    );
    assert_eq!(hf["up_headers_ct"], "application/json");
    assert_eq!(
        (&hf["shared"], &hf["plugin"]),
        (&"shared".into(), &"plugin".into())
    );
    assert_eq!(hf["phase"], "header_filter");

    assert_eq!(resp.status(), 201, "set_status in header_filter");
    assert!(resp.headers().get("x-access").is_none(), "cleared");
    assert_eq!(resp.headers()["x-hf"], "1");
    let body = resp.text().unwrap();
    let (json, marker) = body.split_once('\n').unwrap();
    assert_eq!(marker, "<tour>", "body_filter appended at eof");
    let e: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(e["method"], "PUT");
    assert_eq!(
        e["uri"], "/changed?b=2",
        "set_path, then set_query over set_raw_query"
    );
    assert_eq!(e["headers"]["x-set"], "1");
    assert_eq!(e["headers"]["x-added"], "a, b");
    assert_eq!(e["headers"]["x-many"], "m");
    assert!(e["headers"].get("x-remove").is_none());
    assert_eq!(e["headers"]["content-type"], "application/json");
    assert_eq!(e["body_len"], 9, r#"set_body: {{"k":"v"}}"#);
    wait_for("the log phase", LONG, || {
        sluice
            .error_log()
            .contains("tour serialize: 201 POST tour /changed?b=2")
    });
    let log = sluice.error_log();
    // The tests' log_level is info: debug is filtered out.
    for level in ["info", "notice", "warn", "err", "crit", "alert", "emerg"] {
        assert!(
            log.contains(&format!("tour log {level}")),
            "kong.log.{level}"
        );
    }
    assert!(!log.contains("tour log debug"));
    assert!(log.contains("inspected") && log.contains("tour ngx.log"));

    let resp = get(&sluice.url("/resp"));
    assert_eq!(resp.status(), 202);
    let r: serde_json::Value = resp.json().unwrap();
    assert_eq!(r["method"], "GET", "the upstream's JSON, through get_body");
    assert_eq!(r["status"], 200);
    assert!(r["raw_len"].as_u64().unwrap() > 10);
}
