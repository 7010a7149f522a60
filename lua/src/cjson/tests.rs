use crate::testing::{eval, run, vm};

#[test]
fn encodes_like_lua_cjson() {
    let lua = vm();
    run(
        &lua,
        r##"
        local cjson = require "cjson"
        assert(cjson.encode({}) == "{}")
        assert(cjson.encode({1, 2, 3}) == "[1,2,3]")
        assert(cjson.encode({a = "x"}) == '{"a":"x"}')
        assert(cjson.encode("a/b\"c\\d\n\t\1\127é") == '"a\\/b\\"c\\\\d\\n\\t\\u0001\\u007fé"')
        assert(cjson.encode(0.1) == "0.1" and cjson.encode(1/3) == "0.33333333333333")
        assert(cjson.encode(1e14) == "1e+14" and cjson.encode(-0.0) == "-0")
        assert(cjson.encode(123456789) == "123456789")
        assert(cjson.encode(true) == "true" and cjson.encode(nil) == "null")
        assert(cjson.encode(cjson.null) == "null" and cjson.encode(ngx.null) == "null")
        assert(cjson.encode({cjson.empty_array}) == "[[]]")
        assert(cjson.encode({[1] = "a", [2] = "b", [4] = "d"}) == '["a","b",null,"d"]')
        assert(cjson.encode({[1] = 1, [2] = 2, x = 1}):sub(1, 1) == "{")
        assert(cjson.encode({[1.5] = true}) == '{"1.5":true}')
        assert(cjson.encode(setmetatable({}, cjson.array_mt)) == "[]")
        assert(cjson.encode(setmetatable({1, 2, x = 3}, cjson.array_mt)) == "[1,2]")
        assert(cjson.encode(setmetatable({}, cjson.empty_array_mt)) == "[]")
        assert(cjson.encode(setmetatable({a = 1}, cjson.empty_array_mt)) == '{"a":1}')
        assert(cjson.encode({nested = {deeper = {1}}}) == '{"nested":{"deeper":[1]}}')
        assert(cjson.null == ngx.null)
        "##,
    );
}

#[test]
fn encode_errors_are_strings() {
    let lua = vm();
    run(
        &lua,
        r##"
        local cjson = require "cjson"
        local ok, err = pcall(cjson.encode, { [11] = 1 })
        assert(not ok and err == "Cannot serialise table: excessively sparse array", err)
        ok, err = pcall(cjson.encode, { f = print })
        assert(not ok and err == "Cannot serialise function: type not supported", err)
        ok, err = pcall(cjson.encode, 0/0)
        assert(not ok and err == "Cannot serialise number: must not be NaN or Infinity", err)
        ok, err = pcall(cjson.encode, { [true] = 1 })
        assert(not ok and err == "Cannot serialise boolean: table key must be a number or string", err)
        local t = {}
        t.self = t
        ok, err = pcall(cjson.encode, t)
        assert(not ok and err == "Cannot serialise, excessive nesting (1001)", err)
        ok, err = pcall(cjson.encode)
        assert(not ok and err:find("expected 1 argument"), err)
        assert(type(err) == "string")
        "##,
    );
}

#[test]
fn encode_settings() {
    let lua = vm();
    run(
        &lua,
        r##"
        local cjson = require("cjson").new()
        assert(cjson.encode_empty_table_as_object(false) == false)
        assert(cjson.encode({}) == "[]" and cjson.encode({dogs = {}}) == '{"dogs":[]}')
        assert(cjson.encode_empty_table_as_object("on") == true)
        assert(cjson.encode({}) == "{}")
        local convert, ratio, safe = cjson.encode_sparse_array(true)
        assert(convert == true and ratio == 2 and safe == 10)
        assert(cjson.encode({[11] = 1}) == '{"11":1}')
        assert(cjson.encode_number_precision(3) == 3)
        assert(cjson.encode(3.14159) == "3.14")
        assert(cjson.encode_invalid_numbers("null") == "null")
        assert(cjson.encode(1/0) == "null")
        assert(cjson.encode_invalid_numbers(true) == true)
        assert(cjson.encode(-1/0) == "-Infinity" and cjson.encode(0/0) == "NaN")
        assert(cjson.encode_escape_forward_slash(false) == false)
        assert(cjson.encode("a/b") == '"a/b"')
        assert(cjson.encode_skip_unsupported_value_types(true) == true)
        assert(cjson.encode({1, print, 2}) == "[1,2]" and cjson.encode({f = print}) == "{}")
        assert(cjson.encode_max_depth(2) == 2)
        assert(not pcall(cjson.encode, {{{1}}}))
        local ok, err = pcall(cjson.encode_number_precision, 17)
        assert(not ok and err == "bad argument #1 to '?' (expected integer between 1 and 16)", err)
        ok, err = pcall(cjson.encode_empty_table_as_object, "maybe")
        assert(not ok and err == "bad argument #1 to '?' (invalid option 'maybe')", err)
        -- settings are per instance
        assert(require("cjson").encode({}) == "{}")
        assert(require("cjson").encode_number_precision() == 14)
        "##,
    );
}

#[test]
fn decodes_like_lua_cjson() {
    let lua = vm();
    run(
        &lua,
        r##"
        local cjson = require "cjson"
        local v = cjson.decode('{"a":[1,2.5,"x",true,false,null],"b":{"c":"\\u00e9\\ud83d\\ude00"}}')
        assert(v.a[1] == 1 and v.a[2] == 2.5 and v.a[3] == "x" and v.a[4] == true)
        assert(v.a[5] == false and v.a[6] == cjson.null and v.a[6] == ngx.null)
        assert(v.b.c == "é😀")
        assert(getmetatable(v.a) == nil)
        assert(cjson.decode("  12 ") == 12 and cjson.decode('"s"') == "s")
        assert(cjson.decode("[]")[1] == nil and next(cjson.decode("{}")) == nil)
        assert(cjson.decode('"a\\/b\\n"') == "a/b\n")
        assert(cjson.decode('{"k":1,"k":2}').k == 2)
        assert(cjson.decode(123) == 123)
        local m = require("cjson").new()
        m.decode_array_with_array_mt(true)
        local arr = m.decode('{"list":[1],"empty":[]}')
        assert(getmetatable(arr.list) == cjson.array_mt and getmetatable(arr.empty) == cjson.array_mt)
        assert(m.encode(arr.empty) == "[]")
        "##,
    );
}

#[test]
fn decode_error_messages() {
    let lua = vm();
    let cases: [(&str, &str); 12] = [
        ("", "Expected value but found T_END at character 1"),
        (
            "{",
            "Expected object key string but found T_END at character 2",
        ),
        ("[1,", "Expected value but found T_END at character 4"),
        (
            "[1 2]",
            "Expected comma or array end but found T_NUMBER at character 4",
        ),
        (
            "{\"a\" 1}",
            "Expected colon but found T_NUMBER at character 6",
        ),
        (
            "{\"a\":1 \"b\"}",
            "Expected comma or object end but found T_STRING at character 8",
        ),
        (
            "{1:2}",
            "Expected object key string but found T_NUMBER at character 2",
        ),
        (
            "tru",
            "Expected value but found invalid token at character 1",
        ),
        (
            "\"abc",
            "Expected value but found unexpected end of string at character 5",
        ),
        (
            "\"\\q\"",
            "Expected value but found invalid escape code at character 2",
        ),
        (
            "\"\\ud800\"",
            "Expected value but found invalid unicode escape code at character 2",
        ),
        (
            "[] x",
            "Expected the end but found invalid token at character 4",
        ),
    ];
    for (input, expected) in cases {
        let err: String = eval(
            &lua,
            &format!(
                "local ok, err = pcall(require('cjson').decode, {input:?}) assert(not ok) return err"
            ),
        );
        assert_eq!(err, expected, "input {input:?}");
    }
    let deep: String = eval(
        &lua,
        r##"local ok, err = pcall(require('cjson').decode, string.rep("[", 1001)) return err"##,
    );
    assert_eq!(
        deep,
        "Found too many nested data structures (1001) at character 1001"
    );
}

#[test]
fn invalid_numbers_setting() {
    run(
        &vm(),
        r##"
        local cjson = require("cjson").new()
        assert(cjson.decode("0x10") == 16 and cjson.decode("+1") == 1)
        assert(cjson.decode("-Infinity") == -math.huge)
        assert(cjson.decode_invalid_numbers(false) == false)
        local ok, err = pcall(cjson.decode, "0x10")
        assert(not ok and err == "Expected value but found invalid number at character 1", err)
        ok, err = pcall(cjson.decode, "01")
        assert(not ok and err:find("invalid number"))
        "##,
    );
}

#[test]
fn safe_returns_errors() {
    run(
        &vm(),
        r##"
        local safe = require "cjson.safe"
        local v, err = safe.decode("{")
        assert(v == nil and err == "Expected object key string but found T_END at character 2")
        v, err = safe.encode({ f = print })
        assert(v == nil and err == "Cannot serialise function: type not supported")
        assert(safe.decode('{"a":1}').a == 1 and safe.encode({1}) == "[1]")
        v, err = safe.decode(nil)
        assert(v == nil and err:find("string expected, got nil"))
        assert(not pcall(safe.encode))
        assert(safe.new().encode({}) == "{}")
        local inst = safe.new()
        assert(inst.decode("[") == nil)
        assert(require("cjson.safe") == safe and require("cjson") ~= safe)
        assert(safe.null == ngx.null and safe._NAME == "cjson")
        "##,
    );
}
