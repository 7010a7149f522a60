use crate::testing::{run, vm, vm_capturing};

#[test]
fn meta_and_constants() {
    run(
        &vm(),
        r##"
        local meta = require "kong.meta"
        assert(meta._NAME == "kong" and meta._VERSION == "3.9.0" and meta.version == "3.9.0")
        assert(meta._VERSION_TABLE.major == 3 and tostring(meta._VERSION_TABLE) == "3.9.0")
        assert(meta._SERVER_TOKENS:match("^sluice/%d+%.%d+%.%d+$"))
        local c = require "kong.constants"
        assert(c.HEADERS.CONSUMER_ID == "X-Consumer-ID")
        assert(c.HEADERS.CREDENTIAL_IDENTIFIER == "X-Credential-Identifier")
        assert(c.HEADERS.ANONYMOUS == "X-Anonymous-Consumer")
        assert(c.BUNDLED_PLUGINS["key-auth"] and c.PROTOCOLS_WITH_SUBSYSTEM.https == "http")
        assert(c.PROTOCOLS[1] == "grpc" and c.CORE_ENTITIES.routes and c.CORE_ENTITIES[2] == "consumers")
        assert(c.ENTITY_CACHE_STORE.anything == "cache" and c.LOG_LEVELS[ngx.ERR] == "error")
        assert(c.RATELIMIT.PERIODS[1] == "second")
        "##,
    );
}

#[test]
fn lrucache_ttl_eviction_and_flags() {
    run(
        &vm(),
        r##"
        local lrucache = require "resty.lrucache"
        assert(require("resty.lrucache.pureffi").new(1))
        assert(lrucache.new(0) == nil)
        local c = assert(lrucache.new(2))
        c:set("a", 1)
        c:set("b", 2, nil, 7)
        assert(c:get("a") == 1)
        local v, stale, flags = c:get("b")
        assert(v == 2 and stale == nil and flags == 7)
        c:set("c", 3) -- evicts a: b was used after it
        assert(c:get("a") == nil and c:get("b") == 2 and c:get("c") == 3)
        assert(c:count() == 2 and c:capacity() == 2)
        local keys = c:get_keys()
        assert(#keys == 2 and keys[1] == "c" and keys[2] == "b")
        assert(#c:get_keys(1) == 1)
        c:set("b", "x", -1) -- already expired
        v, stale, flags = c:get("b")
        assert(v == nil and stale == "x" and flags == 0)
        assert(c:delete("b") == true and c:delete("b") == false and c:count() == 1)
        c:set("t", 1, 0.05)
        assert(c:get("t") == 1)
        local deadline = ngx.now() + 2
        while c:get("t") ~= nil and ngx.now() < deadline do end
        assert(c:get("t") == nil and select(2, c:get("t")) == 1)
        c:flush_all()
        assert(c:count() == 0 and c:get("c") == nil and #c:get_keys() == 0)
        c:set("z", false)
        assert(c:get("z") == false)
        "##,
    );
}

#[test]
fn classic_and_base_plugin() {
    let (lua, sink) = vm_capturing();
    run(
        &lua,
        r##"
        local BasePlugin = require "kong.plugins.base_plugin"
        local Handler = BasePlugin:extend()
        Handler.PRIORITY = 1000
        function Handler:new()
          Handler.super.new(self, "legacy")
        end
        function Handler:access(conf)
          Handler.super.access(self)
          self.seen = conf
        end
        local h = Handler()
        h:access("conf")
        assert(h.seen == "conf" and h:get_name() == "legacy")
        assert(h:is(Handler) and h:is(BasePlugin) and Handler.PRIORITY == 1000)
        local Object = require "kong.vendor.classic"
        local Mixin = { hello = function() return "hi" end }
        local Point = Object:extend()
        Point:implement(Mixin)
        assert(Point():hello() == "hi" and not Point():is(BasePlugin))
        assert(tostring(Point()) == "Object" and Point.super == Object)
        "##,
    );
    let lines = sink.0.borrow();
    assert!(lines
        .iter()
        .any(|(_, l)| l.ends_with("executing plugin \"legacy\": access")));
}

#[test]
fn tools_table() {
    run(
        &vm(),
        r##"
        local t = require "kong.tools.table"
        assert(not pcall(function() t.EMPTY.x = 1 end) and next(t.EMPTY) == nil)
        local p = t.pack(1, nil, 3)
        assert(p.n == 3 and select("#", t.unpack(p)) == 3)
        local m = t.table_merge({a = 1, b = 1}, {b = 2})
        assert(m.a == 1 and m.b == 2 and t.table_merge(nil, nil) ~= nil)
        assert(t.table_contains({"x", "y"}, "y") and not t.table_contains(nil, 1))
        assert(t.is_array({1, 2}) and not t.is_array({1, nil, 3}) and not t.is_array({a = 1}))
        assert(t.is_array({[1] = 1, [3] = 3}, "fast") and t.is_array({["1"] = 1}, "lapis"))
        local src = setmetatable({a = {b = {1}}}, {x = 1})
        local copy = t.deep_copy(src)
        assert(copy.a.b[1] == 1 and copy.a ~= src.a and getmetatable(copy).x == 1)
        assert(getmetatable(t.deep_copy(src, false)) == nil)
        local shallow = t.shallow_copy(src)
        assert(shallow.a == src.a)
        local merged = t.deep_merge({a = {x = 1, y = 1}}, {a = {y = 2}})
        assert(merged.a.x == 1 and merged.a.y == 2)
        local cyc = {}
        cyc.self = cyc
        local cc = t.cycle_aware_deep_copy(cyc)
        assert(cc.self == cc and cc ~= cyc)
        local cm = t.cycle_aware_deep_merge({a = {1}}, {a = {2, 3}, b = 1})
        assert(cm.a[1] == 2 and cm.a[2] == 3 and cm.b == 1)
        local cat = t.concat({1, 2}, {3})
        assert(#cat == 3 and cat[3] == 3)
        local errs = t.add_error(nil, "f", "e1")
        t.add_error(errs, "f", "e2")
        assert(errs.f[1] == "e1" and errs.f[2] == "e2")
        assert(t.nkeys({1, a = 2}) == 2)
        "##,
    );
}

#[test]
fn tools_string() {
    run(
        &vm(),
        r##"
        local s = require "kong.tools.string"
        local function same(a, b)
          if #a ~= #b then return false end
          for i = 1, #a do if a[i] ~= b[i] then return false end end
          return true
        end
        assert(same(s.split("a,b,c", ","), {"a", "b", "c"}))
        assert(same(s.split("a,b,", ","), {"a", "b", ""}))
        assert(same(s.split("  a  b ", nil), {"a", "b"}))
        assert(same(s.split("a,b,c", ",", 2), {"a", "b,c"}))
        assert(same(s.split("", ","), {}))
        assert(s.join(",", {"a", "b"}) == "a,b")
        local a, b = s.split_once("k=v=w", "=")
        assert(a == "k" and b == "v=w")
        a, b = s.split_once("kv", "=")
        assert(a == "kv" and b == nil)
        local parts, n = s.splitn("a,b,,c", ",")
        assert(n == 4 and same(parts, {"a", "b", "", "c"}))
        parts, n = s.splitn("a,b,c", ",", 2)
        assert(n == 2 and same(parts, {"a", "b,c"}))
        parts, n = s.splitn("ab", "")
        assert(n == 4 and same(parts, {"", "a", "b", ""}))
        parts, n = s.psplitn("a1b22c", "%d+")
        assert(n == 3 and same(parts, {"a", "b", "c"}))
        local seen = {}
        for piece in s.isplitn("x y z", " ") do seen[#seen + 1] = piece end
        assert(same(seen, {"x", "y", "z"}))
        seen = {}
        for piece in s.isplitn("", " ") do seen[#seen + 1] = piece end
        assert(same(seen, {""}))
        assert(s.strip("  \t hi \r\n") == "hi" and s.strip(nil) == "" and s.strip(5) == "5")
        assert(s.validate_utf8("héllo") == true)
        local ok, pos = s.validate_utf8("ab\255")
        assert(ok == false and pos == 3)
        assert(s.bytes_to_str(5497558) == "5497558" and s.bytes_to_str(5497558, "m") == "5.24 MiB")
        assert(s.bytes_to_str(5497558, "G", 3) == "0.005 GiB")
        assert(s.parse_ngx_size("512k") == 524288 and s.parse_ngx_size("10") == 10)
        assert(s.try_decode_base64("aGVsbG8=") == "hello" and s.try_decode_base64("%%") == "%%")
        assert(s.replace_dashes("a-b-c") == "a_b_c" and s.replace_dashes_lower("X-Y") == "x_y")
        "##,
    );
}

#[test]
fn tools_uuid_rand_time_ip() {
    run(
        &vm(),
        r##"
        local uuid = require "kong.tools.uuid"
        local id = uuid.uuid()
        assert(uuid.is_valid_uuid(id) and id ~= uuid.uuid())
        assert(not uuid.is_valid_uuid("nope") and uuid.is_valid_uuid(id:upper()))
        local rand = require "kong.tools.rand"
        assert(#rand.get_rand_bytes(16) == 16 and #rand.get_rand_bytes(16, true) == 16)
        local rs = rand.random_string()
        assert(#rs == 32 and rs:match("^[%w]+$"), rs)
        local time = require "kong.tools.time"
        assert(time.time_ns() > 1.6e18 and math.abs(time.get_now_ms() - ngx.now() * 1000) < 5000)
        assert(time.get_updated_monotonic_ms() >= 0)
        assert(time.nginx_conf_time_to_seconds("1h 30m") == 5400)
        assert(time.nginx_conf_time_to_seconds("45") == 45)
        assert(not pcall(time.nginx_conf_time_to_seconds, "5x"))
        local ip = require "kong.tools.ip"
        assert(ip.is_valid_ipv4("10.0.0.1") and not ip.is_valid_ipv4("10.0.0.256"))
        assert(ip.is_valid_ipv6("::1") and not ip.is_valid_ipv6("1.2.3.4"))
        assert(ip.is_valid_cidr("10.0.0.0/8") and ip.is_valid_cidr("fe80::/10"))
        assert(not ip.is_valid_cidr("10.0.0.0/33") and ip.is_valid_ip_or_cidr("1.2.3.4"))
        assert(ip.hostname_type("1.2.3.4") == "ipv4" and ip.hostname_type("::1") == "ipv6")
        assert(ip.hostname_type("example.com:80") == "name")
        local n = ip.normalize_ip("001.002.003.004:123")
        assert(n.type == "ipv4" and n.host == "1.2.3.4" and n.port == 123)
        n = ip.normalize_ip("[::1]:8000")
        assert(n.host == "0000:0000:0000:0000:0000:0000:0000:0001" and n.port == 8000)
        assert(ip.format_host("::1", 80) == "[0000:0000:0000:0000:0000:0000:0000:0001]:80")
        assert(ip.format_host("example.com", 80) == "example.com:80")
        local bad, err = ip.normalize_ip("bad..name-")
        assert(bad == nil and err:find("invalid hostname"))
        "##,
    );
}

#[test]
fn tools_http() {
    run(
        &vm(),
        r##"
        local http = require "kong.tools.http"
        assert(http.encode_args({b = "x y", a = 1}) == "a=1&b=x%20y")
        assert(http.encode_args({list = {"a", "b"}, map = {k = "v"}}) ==
               "list%5b1%5d=a&list%5b2%5d=b&map%2ek=v")
        assert(http.encode_args({list = {"a"}}, false, true) == "list%5b%5d=a")
        assert(http.encode_args({n = ngx.null, e = "", t = true}) == "e&n=&t=true")
        assert(http.encode_args({k = "a b"}, true) == "k=a b")
        local d = http.decode_args({a = "", b = "true", c = "false", d = {["1"] = "x", ["2"] = "y"}})
        assert(d.a == ngx.null and d.b == true and d.c == false and d.d[2] == "y")
        assert(http.validate_http_token("good-token") == "good-token")
        assert(http.validate_http_token("bad token") == nil)
        assert(http.validate_header_name("X-Ok_1") == "X-Ok_1" and http.validate_header_name("a b") == nil)
        assert(http.get_default_exit_body(204, "x") == nil)
        assert(http.get_default_exit_body(502, "ignored").message == "Bad gateway")
        assert(http.get_default_exit_body(404).message == "Not found")
        assert(http.get_default_exit_body(200, "ok").message == "ok")
        assert(http.get_default_exit_body(200, {ok = true}).ok == true)
        assert(not pcall(http.get_default_exit_body, 99))
        assert(http.get_response_type("text/html") == "text/html; charset=utf-8")
        assert(http.get_response_type("text/plain;q=0.5, application/xml;q=0.9") ==
               "application/xml; charset=utf-8")
        assert(http.get_response_type(nil) == "application/json; charset=utf-8")
        assert(http.get_mime_type("text/*") == "text/plain; charset=utf-8")
        assert(http.get_mime_type("foo/bar", false) == nil)
        assert(http.get_error_template("application/json"):find('"message":"%%s"'))
        assert(http.get_error_template("image/png") == nil)
        local cc = http.parse_directive_header("public, max-age=3600, no-cache=\"x\"")
        assert(cc.public == true and cc["max-age"] == 3600 and cc["no-cache"] == '"x"')
        assert(next(http.parse_directive_header(nil)) == nil)
        assert(http.calculate_resource_ttl({["s-maxage"] = 10, ["max-age"] = 5}) == 10)
        assert(http.calculate_resource_ttl({["max-age"] = -5}) == 0)
        "##,
    );
}

#[test]
fn utils_aggregates_the_tools() {
    run(
        &vm(),
        r##"
        local utils = require "kong.tools.utils"
        for _, name in ipairs { "deep_copy", "uuid", "random_string", "split", "strip",
                                "is_valid_ip", "encode_args", "get_now_ms", "splitn" } do
          assert(type(utils[name]) == "function", name)
        end
        "##,
    );
}

#[test]
fn kong_cache_levels_negative_entries_errors_and_invalidation_across_workers() {
    use std::sync::Arc;

    use sluice_shdict::Zone;

    use crate::testing::{eval, vm_with};
    use crate::VmOptions;

    let zones = vec![
        Arc::new(Zone::create("kong_db_cache", 64 * 1024).unwrap()),
        Arc::new(Zone::create("kong_db_cache_miss", 16 * 1024).unwrap()),
    ];
    let worker = || {
        vm_with(VmOptions {
            shared_dicts: zones.clone(),
            ..VmOptions::default()
        })
    };
    let (a, b) = (worker(), worker());
    run(
        &a,
        r#"
        calls = 0
        function load(x) calls = calls + 1 return { id = x } end
        local v, err, hit = kong.cache:get("k", nil, load, "a")
        assert(v.id == "a" and err == nil and hit == 3 and calls == 1)
        v, err, hit = kong.cache:get("k", nil, load, "a")
        assert(v.id == "a" and hit == 1 and calls == 1)

        local none, _, lvl = kong.cache:get("none", nil, function() return nil end)
        assert(none == nil and lvl == 3)
        none, _, lvl = kong.cache:get("none", nil, function() error("not called") end)
        assert(none == nil and lvl == 1)

        local v, err = kong.cache:get("down", nil, function() return nil, "db down" end)
        assert(v == nil and err == "failed to get from node cache: db down")
        v, err = kong.cache:get("boom", nil, function() error("kaput") end)
        assert(v == nil and err:find("callback threw an error: .*kaput"), err)
        assert(not pcall(kong.cache.get, kong.cache, 42))
        assert(kong.cache:get("absent") == nil)

        local ttl, perr, pv = kong.cache:probe("k")
        assert(ttl == 0 and perr == nil and pv.id == "a")
        assert(kong.cache:probe("absent") == nil)

        local ttl_v = kong.cache:get("short", { ttl = 30 }, function() return "s" end)
        local left = kong.cache:probe("short")
        assert(ttl_v == "s" and left > 0 and left <= 30, left)

        local res = kong.cache:get_bulk({ "k", nil, load, "x", "n1", nil, load, "n1", n = 2 })
        assert(res.n == 2 and res[1].id == "a" and res[3] == 1 and res[4].id == "n1" and res[6] == 3)
        "#,
    );
    run(
        &b,
        r#"
        local v, err, hit = kong.cache:get("k", nil, function() error("not called") end)
        assert(v.id == "a" and hit == 2, hit)
        kong.cache:invalidate("k")
        "#,
    );
    let hit: i64 = eval(
        &a,
        r#"return select(3, kong.cache:get("k", nil, load, "b"))"#,
    );
    assert_eq!(
        hit, 3,
        "worker a dropped its level 1 after b's invalidation"
    );
    run(
        &b,
        r#"
        assert(kong.cache:get("k").id == "b")
        kong.cache:purge()
        assert(kong.cache:probe("k") == nil)
        assert(kong.core_cache == nil, "no kong_core_db_cache dict in this VM")
        "#,
    );
    let after_purge: i64 = eval(
        &a,
        r#"return select(3, kong.cache:get("k", nil, load, "c"))"#,
    );
    assert_eq!(
        after_purge, 3,
        "a purge anywhere empties every worker's level 1"
    );
}
