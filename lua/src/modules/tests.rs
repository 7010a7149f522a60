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

#[test]
fn socket_url_parse_and_build() {
    run(
        &vm(),
        r##"
        local url = require "socket.url"
        local p = url.parse("https://u:pw@Example.com:8443/a%20b/c;p=1?q=1&r=2#frag")
        assert(p.scheme == "https" and p.authority == "u:pw@Example.com:8443")
        assert(p.userinfo == "u:pw" and p.user == "u" and p.password == "pw")
        assert(p.host == "Example.com" and p.port == "8443" and p.path == "/a%20b/c")
        assert(p.params == "p=1" and p.query == "q=1&r=2" and p.fragment == "frag")
        -- no scheme and no authority: all path (how cors tells a bare origin)
        p = url.parse("example.com")
        assert(p.path == "example.com" and p.host == nil and p.scheme == nil)
        p = url.parse("http://[::1]:80")
        assert(p.host == "::1" and p.port == "80" and p.path == nil)
        p = url.parse("/p?x=1")
        assert(p.path == "/p" and p.query == "x=1" and p.authority == nil)
        p = url.parse("//h/x", { scheme = "http", port = 80, path = "/d" })
        assert(p.scheme == "http" and p.host == "h" and p.port == 80 and p.path == "/x")
        local none, err = url.parse("")
        assert(none == nil and err == "invalid url")

        assert(url.build({ scheme = "http", host = "h", port = 8000, path = "/a b/",
                           query = "x=1", fragment = "f" }) == "http://h:8000/a%20b/?x=1#f")
        assert(url.build({ host = "::1", path = "" }) == "//[::1]")
        assert(url.build({ scheme = "https", authority = "u@h", user = "v", password = "p",
                           host = "h2" }) == "https://v:p@h2")
        assert(url.build(url.parse("http://h/x%2fy?q")) == "http://h/x%2Fy?q")

        assert(url.escape("a b/é_") == "a%20b%2f%c3%a9_")
        assert(url.unescape("a%20b%2F%c3%a9") == "a b/é")
        local segs = url.parse_path("/a/b%20c/")
        assert(segs[1] == "a" and segs[2] == "b c" and segs.is_absolute and segs.is_directory)
        assert(url.build_path(segs) == "/a/b%20c/")
        assert(url.build_path(segs, true) == "/a/b c/")
        assert(url.build_path({ "x:y@z", "(ok)" }) == "x:y@z/(ok)")
        "##,
    );
}

#[test]
fn ipmatcher_lists_cidrs_and_values() {
    run(
        &vm(),
        r##"
        local ipmatcher = require "resty.ipmatcher"
        local m = assert(ipmatcher.new({ "127.0.0.1", "10.0.0.0/8", "192.168.1.128/25",
                                         "2001:db8::/32", "::1" }))
        assert(m:match("127.0.0.1") == true and m:match("127.0.0.2") == false)
        assert(m:match("10.255.1.2") and not m:match("11.0.0.1"))
        assert(m:match("192.168.1.200") and not m:match("192.168.1.100"))
        assert(m:match("2001:db8:1::5") and not m:match("2001:db9::1"))
        assert(m:match("::1") and not m:match("::2"))
        assert(m:match_bin("\10\1\2\3") == true and m:match_bin("\11\1\2\3") == false)
        assert(m:match_bin(("\0"):rep(15) .. "\1") == true)
        local ok, err = m:match_bin("abc")
        assert(ok == nil and err == "invalid binary ip address")
        ok, err = m:match("nope")
        assert(ok == false and err == "invalid ip address, not ipv4 and ipv6")
        local bad, berr = ipmatcher.new({ "10.0.0.0/33" })
        assert(bad == nil and berr == "invalid ip address: 10.0.0.0/33")
        assert(ipmatcher.new({ "1.2.3.4/x" }) == nil and ipmatcher.new({ "x" }) == nil)
        assert(ipmatcher.new({ "0.0.0.0/0" }):match("8.8.8.8"))
        assert(ipmatcher.new({}):match("8.8.8.8") == false)

        local v = assert(ipmatcher.new_with_value({ ["10.0.0.0/8"] = "wide",
                                                    ["10.1.0.0/16"] = "narrow" }))
        assert(v:match("10.1.2.3") == "narrow" and v:match("10.2.0.1") == "wide")
        assert(ipmatcher.parse_ipv4("1.2.3.4") == 0x01020304)
        assert(ipmatcher.parse_ipv4("::1") == false)
        assert(ipmatcher.parse_ipv6("::1")[4] == 1 and ipmatcher.parse_ipv6("1.2.3.4") == false)
        "##,
    );
}

#[test]
fn mime_type_parse_and_includes() {
    run(
        &vm(),
        r##"
        local mime = require "kong.tools.mime_type"
        local t, s, p = mime.parse_mime_type("application/json; Charset=utf-8 ;q=1")
        assert(t == "application" and s == "json" and p.charset == "utf-8" and p.q == "1")
        t, s, p = mime.parse_mime_type('text/plain; name="a \\"b\\" c"')
        assert(t == "text" and s == "plain" and p.name == 'a \\"b\\" c', p.name)
        t, s, p = mime.parse_mime_type("*")
        assert(t == "*" and s == "*" and next(p) == nil)
        t, s = mime.parse_mime_type("text/*")
        assert(t == "text" and s == "*")
        assert(mime.parse_mime_type("json") == nil)
        assert(mime.parse_mime_type("application/json;") == nil)
        assert(mime.parse_mime_type("application/json; a") == nil)
        assert(mime.parse_mime_type("a/b c") == nil)
        assert(mime.parse_mime_type("a b/c") == nil)

        local json = { type = "application", subtype = "json" }
        assert(mime.includes(json, { type = "application", subtype = "json" }))
        assert(not mime.includes(json, { type = "application", subtype = "vnd.api+json" }))
        assert(mime.includes({ type = "application", subtype = "*+json" },
                             { type = "application", subtype = "vnd.api+json" }))
        assert(not mime.includes({ type = "application", subtype = "*+json" },
                                 { type = "application", subtype = "xml" }))
        assert(mime.includes({ type = "*", subtype = "*" }, json))
        assert(mime.includes({ type = "application", subtype = "*" }, json))
        assert(not mime.includes({ type = "text", subtype = "*" }, json))
        assert(not pcall(mime.includes, "x", json))
        "##,
    );
}

#[test]
fn sandbox_follows_untrusted_lua() {
    run(
        &vm(),
        r##"
        local sandbox = require "kong.tools.sandbox"
        local settings = {}
        kong.configuration = setmetatable({}, { __index = settings })
        local function with(values)
          for k in pairs(settings) do settings[k] = nil end
          for k, v in pairs(values) do settings[k] = v end
          sandbox.configuration:reload()
        end

        -- the default (untrusted_lua unset) is the sandbox: safe globals, kong and ngx only
        with({})
        assert(sandbox.configuration.enabled and sandbox.configuration.sandbox_enabled)
        local fn = sandbox.parse([[return function() return string.upper("x"), math.max(1, 2),
                                    type(kong), type(ngx), os.time() > 0 end]])
        local up, max, k, n, t = fn()
        assert(up == "X" and max == 2 and k == "table" and n == "table" and t)
        local safe = sandbox.configuration.environment
        for _, unsafe in ipairs({ "io", "loadstring", "load", "dofile", "getfenv",
                                  "setmetatable", "debug", "package", "jit", "ffi",
                                  "rawset", "collectgarbage", "module" }) do
          assert(safe[unsafe] == nil, unsafe .. " is reachable")
        end
        assert(safe.os.execute == nil and safe.os.getenv == nil and safe.string.dump == nil)
        kong.request = {}
        sandbox.sandbox("kong.request = nil")()
        assert(type(kong.request) == "table" and safe.kong.request == kong.request)
        -- code writes its globals into its own environment, and cannot change the libraries
        local env = {}
        sandbox.sandbox("x = 1; string.upper = nil", { env = env })()
        assert(env.x == 1 and rawget(_G, "x") == nil and string.upper("a") == "A")
        local ok, err = pcall(sandbox.parse("return function() return require 'cjson' end"))
        assert(not ok and err:find("require 'cjson' not allowed within sandbox", 1, true), err)

        with({ untrusted_lua = "sandbox", untrusted_lua_sandbox_requires = { "cjson" },
               untrusted_lua_sandbox_environment = { "os.getenv", "table" } })
        fn = sandbox.parse([[return function() return require("cjson").encode({1}),
                                    type(os.getenv), os.execute, table.concat end]])
        local json, getenv, exec, concat = fn()
        assert(json == "[1]" and getenv == "function" and exec == nil and concat == table.concat)

        -- syntax errors and bytecode are refused; bad return values reported
        ok, err = sandbox.validate_safe("return function(")
        assert(ok == false and err:find("^Error parsing function: "), err)
        assert(sandbox.validate_safe(string.dump(function() end)) == false)
        ok, err = sandbox.validate("return 42")
        assert(ok == false and err ==
               "Bad return value from function, expected function type, got number", err)
        assert(sandbox.validate("return function() end") == true)
        assert(select(2, sandbox.validate("error('boom', 0)")) == "boom")

        -- on: every global readable
        with({ untrusted_lua = "on" })
        assert(sandbox.configuration.enabled and not sandbox.configuration.sandbox_enabled)
        assert(sandbox.parse("return function() return io.open end")() == io.open)

        with({ untrusted_lua = "off" })
        ok, err = sandbox.validate_safe("return function() end")
        assert(ok == false and err == "Error parsing function: " .. sandbox.configuration.err_msg)
        assert(not pcall(sandbox.sandbox, "return 1"))
        "##,
    );
}

#[test]
fn multipart_parse_change_and_encode() {
    run(
        &vm(),
        r##"
        local multipart = require "multipart"
        local body = table.concat({
          "--XyZ",
          'Content-Disposition: form-data; name="a"',
          "",
          "1",
          "--XyZ",
          'Content-Disposition: form-data; name="file"; filename="f.txt"',
          "Content-Type: text/plain",
          "",
          "line one\r\nline two",
          "--XyZ",
          'Content-Disposition: form-data; name="a"',
          "",
          "2",
          "--XyZ--",
          "",
        }, "\r\n")
        local m = multipart(body, 'multipart/form-data; boundary="XyZ"')
        assert(m:get("a").value == "1" and m:get("nope") == nil)
        local file = m:get("file")
        assert(file.value == "line one\r\nline two" and file.headers[2] == "Content-Type: text/plain")
        assert(m:get_all().a == "2" and m:get_all().file == "line one\r\nline two")
        local arrays = m:get_all_with_arrays()
        assert(arrays.a[1] == "1" and arrays.a[2] == "2" and arrays.file == file.value)
        assert(#m:get_as_array("a") == 2)

        m:delete("a")
        m:set_simple("b", "x")
        m:set_simple("file", "new", "g.txt", "text/csv")
        assert(m:tostring() == table.concat({
          "--XyZ",
          'Content-Disposition: form-data; name="file"; filename="g.txt"',
          "Content-Type: text/csv",
          "",
          "new",
          "--XyZ",
          'Content-Disposition: form-data; name="b"',
          "",
          "x",
          "--XyZ--",
          "",
        }, "\r\n"), m:tostring())
        local again = multipart.new(m:tostring(), "multipart/form-data; boundary=XyZ")
        assert(again:get("b").value == "x" and again:get("file").value == "new")

        local empty = multipart("", "multipart/form-data; boundary=q")
        assert(next(empty:get_all()) == nil and empty:tostring() == "")
        "##,
    );
}

#[test]
fn kong_db_reads_the_declarative_entities() {
    run(
        &vm(),
        r##"
        assert(_KONG._NAME == "kong")
        local db = require("kong.db").new({
          consumers = {
            rows = { { id = "c1", username = "alice" }, { id = "c2", username = "bob" } },
            unique = { "username", "custom_id" },
            foreign = {},
          },
          keyauth_credentials = {
            rows = {
              { id = "k1", key = "alice-key", consumer = { id = "c1" } },
              { id = "k2", key = "bob-key", consumer = { id = "c2" } },
              { id = "k3", key = "alice-2", consumer = { id = "c1" } },
            },
            unique = { "key" },
            foreign = { "consumer" },
          },
          acls = { rows = {}, unique = {}, foreign = { "consumer" } },
          basicauth_credentials = {
            rows = { { id = "b1", username = "al", password = "secret", consumer = { id = "c1" } } },
            unique = { "username" },
            foreign = { "consumer" },
          },
        }, true)
        local creds = db.keyauth_credentials
        local cred = creds:select_by_key("alice-key")
        assert(cred.id == "k1" and cred.consumer.id == "c1")
        cred.key = "changed"
        assert(creds:select_by_key("alice-key").key == "alice-key", "rows are copies")
        assert(creds:select_by_key("nope") == nil)
        assert(db.consumers:select({ id = "c2" }).username == "bob")
        assert(db.consumers:select_by_username("alice").id == "c1")
        assert(db.consumers:select_by_custom_id("x") == nil)

        local ids = {}
        for row in creds:each_for_consumer({ id = "c1" }) do ids[#ids + 1] = row.id end
        assert(table.concat(ids, ",") == "k1,k3")
        ids = {}
        for row in creds:each() do ids[#ids + 1] = row.id end
        assert(table.concat(ids, ",") == "k1,k2,k3")
        local page, err, err_t, offset = creds:page(2)
        assert(#page == 2 and err == nil and err_t == nil and offset == "3")
        page, _, _, offset = creds:page(2, offset)
        assert(#page == 1 and page[1].id == "k3" and offset == nil)

        -- Kong's cache keys: entity, up to five parts, workspace.
        assert(creds:cache_key("alice-key") == "keyauth_credentials:alice-key:::::")
        assert(db.consumers:cache_key("c1") == "consumers:c1:::::")
        assert(db.acls:cache_key({ consumer = { id = "c1" }, group = "admins" })
               == "acls:c1:admins::::")
        assert(db.consumers:cache_key({ id = "c1" }) == "consumers:c1:::::")

        -- basic-auth's passwords, as Kong's crypto.lua stores them: sha1(password .. consumer id).
        local digest = require("resty.sha1"):new()
        assert(digest:update("secretc1") == true)
        local hashed = require("resty.string").to_hex(digest:final())
        assert(hashed == "8a6b7cf9f8dca3370be893c1cc42ce5281a843f8", hashed)
        assert(db.basicauth_credentials:select_by_username("al").password == hashed)
        local kept = require("kong.db").new({ basicauth_credentials = {
          rows = { { id = "b1", username = "al", password = "as-is", consumer = { id = "c1" } } },
          unique = { "username" },
          foreign = { "consumer" },
        } }, false)
        assert(kept.basicauth_credentials:select_by_username("al").password == "as-is",
               "_transform: false keeps passwords as written")

        local ok, werr = creds:insert({ key = "new" })
        assert(ok == nil and werr == "cannot insert 'keyauth_credentials' entities when not using a database")
        assert(creds:delete_by_key("alice-key") == nil)
        assert(db.vaults == nil, "an unknown entity is nil, as in Kong")
        "##,
    );
}
