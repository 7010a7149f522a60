//! `ngx.re.match`, `find`, `gmatch`, `sub`, `gsub` on PCRE2, with lua-nginx-module's option
//! letters, capture tables, `ctx.pos`, empty-match stepping and return conventions.
//!
//! Flags: `i` `m` `s` `x` `u`/`U` (UTF-8) map to PCRE2 options; `j` enables the JIT; `o`
//! caches the compiled regex for the worker's lifetime (at most 1024, as
//! `lua_regex_cache_max_entries`); `a` anchors each match at its start offset; `D` allows
//! duplicate names (`(?J)`), collecting their matches in arrays. `d` (DFA) and `J`
//! (JavaScript compatibility) are not available in PCRE2's safe binding and give an error.

mod template;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use mlua::{Function, IntoLuaMulti, Lua, LuaString, MultiValue, Result, Table, Value};
use pcre2::bytes::{CaptureLocations, Regex, RegexBuilder};

use crate::args::{check_string, tostring};
use template::Piece;

/// `lua_regex_cache_max_entries`' default.
const CACHE_MAX: usize = 1024;

pub(super) fn install(lua: &Lua, ngx: &Table) -> Result<()> {
    lua.set_app_data(RegexCache::default());
    let re = lua.create_table()?;
    re.raw_set(
        "match",
        lua.create_function(
            |lua, (subj, regex, opts, ctx, res): (Value, Value, Value, Value, Option<Table>)| {
                re_match(lua, subj, regex, opts, ctx, res)
            },
        )?,
    )?;
    re.raw_set(
        "find",
        lua.create_function(
            |lua, (subj, regex, opts, ctx, nth): (Value, Value, Value, Value, Option<i64>)| {
                re_find(lua, subj, regex, opts, ctx, nth)
            },
        )?,
    )?;
    re.raw_set(
        "gmatch",
        lua.create_function(|lua, (subj, regex, opts): (Value, Value, Value)| {
            re_gmatch(lua, subj, regex, opts)
        })?,
    )?;
    re.raw_set(
        "sub",
        lua.create_function(|lua, (subj, regex, replace, opts)| {
            re_sub(lua, subj, regex, replace, opts, false)
        })?,
    )?;
    re.raw_set(
        "gsub",
        lua.create_function(|lua, (subj, regex, replace, opts)| {
            re_sub(lua, subj, regex, replace, opts, true)
        })?,
    )?;
    ngx.raw_set("re", re)?;
    let preload: Table = lua
        .globals()
        .raw_get::<Table>("package")?
        .raw_get("preload")?;
    preload.raw_set("ngx.re", lua.create_function(|lua, ()| ngx_re_module(lua))?)
}

/// lua-resty-core's `ngx.re` module: `split` and `opt`.
fn ngx_re_module(lua: &Lua) -> Result<Table> {
    let m = lua.create_table()?;
    m.raw_set(
        "split",
        lua.create_function(
            |lua,
             (subj, regex, opts, ctx, max, res): (
                Value,
                Value,
                Value,
                Option<Table>,
                Option<i64>,
                Option<Table>,
            )| { re_split(lua, subj, regex, opts, ctx, max.unwrap_or(0), res) },
        )?,
    )?;
    m.raw_set(
        "opt",
        lua.create_function(|_, (option, _value): (LuaString, Value)| {
            // PCRE2's JIT stack grows on demand here, so the size needs no setting
            if option.as_bytes().as_ref() == b"jit_stack_size" {
                return Ok(());
            }
            Err(mlua::Error::runtime("unrecognized option name"))
        })?,
    )?;
    Ok(m)
}

/// The option letters that change compilation (the rest only matter to the cache).
#[derive(Default, Clone, Copy)]
struct Flags {
    caseless: bool,
    multi_line: bool,
    dotall: bool,
    extended: bool,
    utf: bool,
    jit: bool,
    once: bool,
    anchored: bool,
    dupnames: bool,
}

impl Flags {
    /// Parses an options string; an unknown letter raises, as lua-resty-core does.
    fn parse(opts: &[u8]) -> Result<std::result::Result<Flags, String>> {
        let mut f = Flags::default();
        for &c in opts {
            match c {
                b'i' => f.caseless = true,
                b'm' => f.multi_line = true,
                b's' => f.dotall = true,
                b'x' => f.extended = true,
                b'u' | b'U' => f.utf = true,
                b'j' => f.jit = true,
                b'o' => f.once = true,
                b'a' => f.anchored = true,
                b'D' => f.dupnames = true,
                b'd' => return Ok(Err("DFA mode (option \"d\") is not supported".into())),
                b'J' => {
                    return Ok(Err(
                        "JavaScript compatible mode (option \"J\") is not supported".into(),
                    ))
                }
                other => {
                    return Err(mlua::Error::runtime(format!(
                        "unknown flag \"{}\" (flags \"{}\")",
                        other as char,
                        String::from_utf8_lossy(opts)
                    )))
                }
            }
        }
        Ok(Ok(f))
    }
}

/// A compiled regex with what the capture tables need.
struct Compiled {
    regex: Regex,
    anchored: bool,
    dupnames: bool,
    /// Capturing groups, not counting group 0.
    ncaptures: usize,
    /// `(name, group)` sorted by name then group, as PCRE's name table.
    names: Vec<(String, usize)>,
    locs: RefCell<CaptureLocations>,
}

/// The spans of groups `0..=ncaptures` of one match.
type Spans = Vec<Option<(usize, usize)>>;

impl Compiled {
    fn new(pattern: &[u8], flags: Flags) -> std::result::Result<Compiled, String> {
        let shown = String::from_utf8_lossy(pattern);
        let pattern = std::str::from_utf8(pattern).map_err(|_| {
            format!("pcre2_compile() failed: pattern is not valid UTF-8 in \"{shown}\"")
        })?;
        let (source, inserted) = if flags.dupnames {
            let at = leading_verbs_len(pattern);
            (
                format!("{}(?J){}", &pattern[..at], &pattern[at..]),
                Some(at),
            )
        } else {
            (pattern.to_owned(), None)
        };
        let regex = RegexBuilder::new()
            .caseless(flags.caseless)
            .multi_line(flags.multi_line)
            .dotall(flags.dotall)
            .extended(flags.extended)
            .utf(flags.utf)
            .jit_if_available(flags.jit)
            .build(&source)
            .map_err(|e| compile_error(&e, pattern, inserted))?;
        let mut names: Vec<(String, usize)> = regex
            .capture_names()
            .iter()
            .enumerate()
            .filter_map(|(i, name)| name.clone().map(|n| (n, i)))
            .collect();
        names.sort();
        let locs = RefCell::new(regex.capture_locations());
        Ok(Compiled {
            ncaptures: regex.captures_len() - 1,
            regex,
            anchored: flags.anchored,
            dupnames: flags.dupnames,
            names,
            locs,
        })
    }

    /// Runs the regex from byte offset `pos`. With `a`, a match must start at `pos` (the
    /// leftmost match from `pos` starts there if any anchored match exists).
    fn exec(&self, subject: &[u8], pos: usize) -> std::result::Result<Option<Spans>, String> {
        if pos > subject.len() {
            return Ok(None);
        }
        let mut locs = self.locs.borrow_mut();
        match self.regex.captures_read_at(&mut locs, subject, pos) {
            Ok(Some(m)) if !self.anchored || m.start() == pos => {
                Ok(Some((0..=self.ncaptures).map(|i| locs.get(i)).collect()))
            }
            Ok(_) => Ok(None),
            Err(e) => Err(format!("pcre_exec() failed: {}", e.code())),
        }
    }

    fn group_of(&self, name: &[u8]) -> Option<usize> {
        self.names
            .iter()
            .find(|(n, _)| n.as_bytes() == name)
            .map(|(_, i)| *i)
    }

    /// The match table: `[0]` the whole match, `[n]` each group (`false` when unset), and
    /// named groups by name (with `D`, arrays of the set ones).
    fn captures(
        &self,
        lua: &Lua,
        subject: &[u8],
        spans: &Spans,
        res: Option<Table>,
    ) -> Result<Table> {
        let t = match res {
            Some(t) => t,
            None => lua.create_table_with_capacity(self.ncaptures, self.names.len() + 1)?,
        };
        let cap = |i: usize| -> Result<Value> {
            Ok(match spans.get(i).copied().flatten() {
                Some((s, e)) => Value::String(lua.create_string(&subject[s..e])?),
                None => Value::Boolean(false),
            })
        };
        for i in 0..=self.ncaptures {
            t.raw_set(i, cap(i)?)?;
        }
        for (name, i) in &self.names {
            let value = cap(*i)?;
            if !self.dupnames {
                t.raw_set(name.as_str(), value)?;
            } else if value != Value::Boolean(false) {
                match t.raw_get::<Option<Table>>(name.as_str())? {
                    Some(list) => list.raw_push(value)?,
                    None => t.raw_set(name.as_str(), lua.create_sequence_from([value])?)?,
                }
            }
        }
        Ok(t)
    }
}

/// Length of the `(*UTF)`-style verbs that must stay at the very start of a pattern.
fn leading_verbs_len(pattern: &str) -> usize {
    let mut at = 0;
    while pattern[at..].starts_with("(*") {
        match pattern[at..].find(')') {
            Some(end) => at += end + 1,
            None => break,
        }
    }
    at
}

/// nginx's compile error text, with offsets relative to the caller's pattern.
fn compile_error(e: &pcre2::Error, pattern: &str, inserted: Option<usize>) -> String {
    let text = e.to_string();
    let msg = text.splitn(3, ": ").nth(2).unwrap_or(&text);
    let offset = e.offset().map(|off| match inserted {
        Some(at) if off >= at + 4 => off - 4,
        Some(at) if off > at => at,
        _ => off,
    });
    match offset {
        Some(off) if off < pattern.len() => format!(
            "pcre2_compile() failed: {msg} in \"{pattern}\" at \"{}\"",
            &pattern[off..]
        ),
        _ => format!("pcre2_compile() failed: {msg} in \"{pattern}\""),
    }
}

/// Compiled regexes of one options string, by pattern.
type ByPattern = HashMap<Vec<u8>, Rc<Compiled>>;

/// The worker's compile-once (`o`) cache: options, then pattern.
#[derive(Default)]
struct RegexCache {
    by_opts: RefCell<HashMap<Vec<u8>, ByPattern>>,
    len: Cell<usize>,
}

/// Compiles (or finds in the cache) `regex` with `opts`; `Ok(Err(msg))` is a compile error
/// the API returns as `nil, err`.
fn compile(
    lua: &Lua,
    regex: &[u8],
    opts: &[u8],
) -> Result<std::result::Result<Rc<Compiled>, String>> {
    let flags = match Flags::parse(opts)? {
        Ok(f) => f,
        Err(msg) => return Ok(Err(msg)),
    };
    let cache = lua.app_data_ref::<RegexCache>();
    if flags.once {
        if let Some(hit) = cache.as_ref().and_then(|c| {
            c.by_opts
                .borrow()
                .get(opts)
                .and_then(|m| m.get(regex))
                .cloned()
        }) {
            return Ok(Ok(hit));
        }
    }
    let compiled = match Compiled::new(regex, flags) {
        Ok(c) => Rc::new(c),
        Err(msg) => return Ok(Err(msg)),
    };
    if let Some(cache) = cache.filter(|c| flags.once && c.len.get() < CACHE_MAX) {
        cache
            .by_opts
            .borrow_mut()
            .entry(opts.to_vec())
            .or_default()
            .insert(regex.to_vec(), compiled.clone());
        cache.len.set(cache.len.get() + 1);
    }
    Ok(Ok(compiled))
}

/// Subject, compiled regex and start offset shared by `match` and `find`.
struct Call {
    subject: LuaString,
    compiled: Rc<Compiled>,
    ctx: Option<Table>,
    pos: usize,
}

fn prepare(
    lua: &Lua,
    subj: Value,
    regex: Value,
    opts: Value,
    ctx: Value,
    func: &str,
) -> Result<std::result::Result<Call, String>> {
    let subject = tostring(lua, subj)?;
    let regex = check_string(lua, regex, 2, func)?;
    let opts = opt_string(lua, opts, 3, func)?;
    let compiled = match compile(lua, &regex.as_bytes(), &opts)? {
        Ok(c) => c,
        Err(msg) => return Ok(Err(msg)),
    };
    let ctx = match ctx {
        Value::Table(t) => Some(t),
        _ => None,
    };
    let pos = match &ctx {
        Some(t) => match t.raw_get::<Option<f64>>("pos")? {
            Some(p) if p > 0.0 => p as usize - 1,
            _ => 0,
        },
        None => 0,
    };
    Ok(Ok(Call {
        subject,
        compiled,
        ctx,
        pos,
    }))
}

fn opt_string(lua: &Lua, v: Value, n: usize, func: &str) -> Result<Vec<u8>> {
    match v {
        Value::Nil => Ok(Vec::new()),
        other => Ok(check_string(lua, other, n, func)?.as_bytes().to_vec()),
    }
}

/// `ngx.re.match(subject, regex, options?, ctx?, res_table?)` → captures | nil | nil, err.
fn re_match(
    lua: &Lua,
    subj: Value,
    regex: Value,
    opts: Value,
    ctx: Value,
    res: Option<Table>,
) -> Result<MultiValue> {
    let call = match prepare(lua, subj, regex, opts, ctx, "match")? {
        Ok(c) => c,
        Err(msg) => return (Value::Nil, msg).into_lua_multi(lua),
    };
    let subject = call.subject.as_bytes();
    match call.compiled.exec(&subject, call.pos) {
        Ok(Some(spans)) => {
            if let (Some(ctx), Some((_, end))) = (&call.ctx, spans[0]) {
                ctx.raw_set("pos", end + 1)?;
            }
            call.compiled
                .captures(lua, &subject, &spans, res)?
                .into_lua_multi(lua)
        }
        Ok(None) => Value::Nil.into_lua_multi(lua),
        Err(msg) => (Value::Nil, msg).into_lua_multi(lua),
    }
}

/// `ngx.re.find(subject, regex, options?, ctx?, nth?)` → from, to | nil | nil, nil, err.
fn re_find(
    lua: &Lua,
    subj: Value,
    regex: Value,
    opts: Value,
    ctx: Value,
    nth: Option<i64>,
) -> Result<MultiValue> {
    let call = match prepare(lua, subj, regex, opts, ctx, "find")? {
        Ok(c) => c,
        Err(msg) => return (Value::Nil, Value::Nil, msg).into_lua_multi(lua),
    };
    let subject = call.subject.as_bytes();
    match call.compiled.exec(&subject, call.pos) {
        Ok(Some(spans)) => {
            if let (Some(ctx), Some((_, end))) = (&call.ctx, spans[0]) {
                ctx.raw_set("pos", end + 1)?;
            }
            let nth = nth.unwrap_or(0).max(0) as usize;
            if nth > call.compiled.ncaptures {
                return (Value::Nil, Value::Nil, "nth out of bound").into_lua_multi(lua);
            }
            match spans[nth] {
                Some((s, e)) => (s + 1, e).into_lua_multi(lua),
                None => (Value::Nil, Value::Nil).into_lua_multi(lua),
            }
        }
        Ok(None) => Value::Nil.into_lua_multi(lua),
        Err(msg) => (Value::Nil, Value::Nil, msg).into_lua_multi(lua),
    }
}

/// `ngx.re.gmatch(subject, regex, options?)` → iterator | nil, err. After an empty match the
/// next search starts one byte further on.
fn re_gmatch(lua: &Lua, subj: Value, regex: Value, opts: Value) -> Result<MultiValue> {
    let subject = tostring(lua, subj)?;
    let regex = check_string(lua, regex, 2, "gmatch")?;
    let opts = opt_string(lua, opts, 3, "gmatch")?;
    let compiled = match compile(lua, &regex.as_bytes(), &opts)? {
        Ok(c) => c,
        Err(msg) => return (Value::Nil, msg).into_lua_multi(lua),
    };
    let pos = Cell::new(Some(0usize));
    let iter = lua.create_function(move |lua, ()| {
        let Some(at) = pos.get() else {
            return Value::Nil.into_lua_multi(lua);
        };
        let bytes = subject.as_bytes();
        match compiled.exec(&bytes, at) {
            Ok(Some(spans)) => {
                let (start, end) = spans[0].unwrap_or((at, at));
                let next = if end == start { end + 1 } else { end };
                pos.set((next <= bytes.len()).then_some(next));
                compiled
                    .captures(lua, &bytes, &spans, None)?
                    .into_lua_multi(lua)
            }
            Ok(None) => {
                pos.set(None);
                Value::Nil.into_lua_multi(lua)
            }
            Err(msg) => {
                pos.set(None);
                (Value::Nil, msg).into_lua_multi(lua)
            }
        }
    })?;
    iter.into_lua_multi(lua)
}

/// The replacement of `sub`/`gsub`: a template or a function of the match table.
enum Replace {
    Template(Vec<Piece>),
    Function(Function),
}

/// `ngx.re.sub`/`gsub(subject, regex, replace, options?)` → new, n | nil, nil, err.
fn re_sub(
    lua: &Lua,
    subj: Value,
    regex: Value,
    replace: Value,
    opts: Value,
    global: bool,
) -> Result<MultiValue> {
    let func = if global { "gsub" } else { "sub" };
    let regex = check_string(lua, regex, 2, func)?;
    let opts = opt_string(lua, opts, 4, func)?;
    let compiled = match compile(lua, &regex.as_bytes(), &opts)? {
        Ok(c) => c,
        Err(msg) => return (Value::Nil, Value::Nil, msg).into_lua_multi(lua),
    };
    let replace = match replace {
        Value::Function(f) => Replace::Function(f),
        Value::String(_) | Value::Integer(_) | Value::Number(_) => {
            let text = tostring(lua, replace)?;
            match template::compile(&text.as_bytes(), |name| compiled.group_of(name)) {
                Some(pieces) => Replace::Template(pieces),
                None => {
                    let msg = "failed to compile the replacement template";
                    return (Value::Nil, Value::Nil, msg).into_lua_multi(lua);
                }
            }
        }
        other => {
            return Err(crate::args::bad_argument(
                3,
                func,
                &format!(
                    "string, number, or function expected, got {}",
                    other.type_name()
                ),
            ))
        }
    };
    let subject = tostring(lua, subj)?;
    let bytes = subject.as_bytes();
    let mut out = Vec::new();
    let (mut pos, mut copied, mut count) = (0, 0, 0);
    loop {
        let spans = match compiled.exec(&bytes, pos) {
            Ok(Some(spans)) => spans,
            Ok(None) => break,
            Err(msg) => return (Value::Nil, Value::Nil, msg).into_lua_multi(lua),
        };
        let Some((start, end)) = spans[0] else { break };
        count += 1;
        out.extend_from_slice(&bytes[copied..start]);
        match &replace {
            Replace::Template(pieces) => template::expand(&mut out, pieces, &bytes, &spans),
            Replace::Function(f) => {
                let captures = compiled.captures(lua, &bytes, &spans, None)?;
                let piece: Value = f.call(captures)?;
                out.extend_from_slice(&tostring(lua, piece)?.as_bytes());
            }
        }
        copied = end;
        pos = end;
        if end == start {
            pos += 1;
            if pos > bytes.len() {
                break;
            }
        }
        if !global {
            break;
        }
    }
    if count == 0 {
        return (subject.clone(), 0).into_lua_multi(lua);
    }
    out.extend_from_slice(&bytes[copied..]);
    (lua.create_string(out)?, count).into_lua_multi(lua)
}

/// `ngx.re.split(subject, regex, opts?, ctx?, max?, res?)` → pieces | nil, err: the pieces
/// between matches, each followed by the separator's first capture when it has one; without
/// `max`, trailing empty pieces are dropped; with `max` > 0, at most `max` pieces (captures
/// not counted), the last holding the rest. An empty match splits between characters.
fn re_split(
    lua: &Lua,
    subj: Value,
    regex: Value,
    opts: Value,
    ctx: Option<Table>,
    max: i64,
    res: Option<Table>,
) -> Result<MultiValue> {
    let subject = tostring(lua, subj)?;
    let bytes = subject.as_bytes();
    let len = bytes.len();
    let start = match &ctx {
        Some(t) => t
            .raw_get::<Option<f64>>("pos")?
            .map_or(1, |p| p.max(0.0) as usize),
        None => 1,
    };
    let res = match res {
        Some(t) => t,
        None => lua.create_table()?,
    };
    if start > len {
        res.raw_set(1, Value::Nil)?;
        return res.into_lua_multi(lua);
    }
    let regex = check_string(lua, regex, 2, "split")?;
    let opts = opt_string(lua, opts, 3, "split")?;
    let compiled = match compile(lua, &regex.as_bytes(), &opts)? {
        Ok(c) => c,
        Err(msg) => return (Value::Nil, msg).into_lua_multi(lua),
    };
    // 1-based positions, as Lua's string.sub takes them
    let piece = |from: usize, to: usize| -> Result<LuaString> {
        let (from, to) = (from.max(1) - 1, to.min(len));
        lua.create_string(if from < to { &bytes[from..to] } else { &[][..] })
    };
    let (mut sub_idx, mut res_idx, mut count) = (start, 0, 1);
    let mut pcre_pos = start - 1;
    let mut last_empty: Option<usize> = None;
    while max <= 0 || count < max {
        let spans = match compiled.exec(&bytes, pcre_pos) {
            Ok(Some(spans)) => spans,
            Ok(None) => break,
            Err(msg) => return (Value::Nil, msg).into_lua_multi(lua),
        };
        let Some((s0, e0)) = spans[0] else { break };
        pcre_pos = if s0 == e0 { e0 + 1 } else { e0 };
        let (from, to) = (s0 + 1, e0 + 1);
        if let Some(empty) = last_empty {
            sub_idx = empty;
        }
        if from == to {
            last_empty = Some(from);
        }
        if from > sub_idx || last_empty.is_none() {
            count += 1;
            res_idx += 1;
            res.raw_set(res_idx, piece(sub_idx, from - 1)?)?;
            if let Some(Some((cs, ce))) = spans.get(1) {
                res_idx += 1;
                res.raw_set(res_idx, lua.create_string(&bytes[*cs..*ce])?)?;
            }
            sub_idx = to;
            if sub_idx > len {
                break;
            }
        }
    }
    if max <= 0 && sub_idx > len {
        while res_idx > 0 && res.raw_get::<LuaString>(res_idx)?.as_bytes().is_empty() {
            res.raw_set(res_idx, Value::Nil)?;
            res_idx -= 1;
        }
    } else {
        res_idx += 1;
        res.raw_set(res_idx, piece(sub_idx, len)?)?;
    }
    res.raw_set(res_idx + 1, Value::Nil)?;
    if let Some(ctx) = ctx {
        ctx.raw_set("pos", pcre_pos)?;
    }
    res.into_lua_multi(lua)
}

#[cfg(test)]
mod tests {
    use crate::testing::{run, vm};

    #[test]
    fn match_captures_and_flags() {
        run(
            &vm(),
            r##"
            local m = ngx.re.match("hello, 1234", "([0-9])([0-9]+)")
            assert(m[0] == "1234" and m[1] == "1" and m[2] == "234")
            assert(ngx.re.match("hello", "\\d") == nil)
            m = ngx.re.match("hello, world", "(?<first>\\w+), (?<second>\\w+)(x)?", "jo")
            assert(m.first == "hello" and m.second == "world" and m[3] == false)
            assert(m[1] == "hello" and m[0] == "hello, world")
            assert(ngx.re.match("HELLO", "hello", "i")[0] == "HELLO")
            assert(ngx.re.match("HELLO", "hello") == nil)
            assert(ngx.re.match("a\nb", "^b", "m")[0] == "b")
            assert(ngx.re.match("a\nb", "a.b", "s")[0] == "a\nb")
            assert(ngx.re.match("abc", "a b c", "x")[0] == "abc")
            assert(ngx.re.match("héllo", "^h.llo$", "u")[0] == "héllo")
            assert(ngx.re.match("héllo", "^h.llo$") == nil)
            assert(ngx.re.match("xab", "ab", "a") == nil)
            assert(ngx.re.match("abx", "ab", "a")[0] == "ab")
            local d = ngx.re.match("hello, world", "(?<w>\\w+), (?<w>\\w+)", "D")
            assert(d.w[1] == "hello" and d.w[2] == "world")
            local res = {}
            assert(ngx.re.match("k=v", "(\\w)=(\\w)", "jo", nil, res) == res and res[2] == "v")
            local ok, err = pcall(ngx.re.match, "x", "x", "z")
            assert(not ok and tostring(err):find('unknown flag "z" (flags "z")', 1, true))
        "##,
        );
    }

    #[test]
    fn ctx_pos_and_errors() {
        run(
            &vm(),
            r##"
            local ctx = {}
            local m = ngx.re.match("1234, hello", "[0-9]+", "", ctx)
            assert(m[0] == "1234" and ctx.pos == 5)
            ctx = { pos = 2 }
            m = ngx.re.match("1234, hello", "[0-9]+", "", ctx)
            assert(m[0] == "234" and ctx.pos == 5)
            local r, err = ngx.re.match("x", "(abc")
            assert(r == nil and err == 'pcre2_compile() failed: missing closing parenthesis in "(abc"', err)
            r, err = ngx.re.match("x", "a)b")
            assert(r == nil and err:find('^pcre2_compile%(%) failed: .* in "a%)b" at "%)b"$'), err)
            assert(ngx.re.match(nil, "ni") ~= nil)
            assert(select("#", ngx.re.match("a", "b")) == 1)
            r, err = ngx.re.match("x", "x", "d")
            assert(r == nil and err:find("not supported"))
        "##,
        );
    }

    #[test]
    fn find_returns_positions() {
        run(
            &vm(),
            r##"
            local from, to = ngx.re.find("hello, 1234", "([0-9])([0-9]+)", "jo")
            assert(from == 8 and to == 11)
            from, to = ngx.re.find("hello, 1234", "([0-9])([0-9]+)", "jo", nil, 2)
            assert(from == 9 and to == 11)
            from, to = ngx.re.find("hello", "(x)?h", "jo", nil, 1)
            assert(from == nil and to == nil)
            local a, b, err = ngx.re.find("hello", "h", "jo", nil, 3)
            assert(a == nil and b == nil and err == "nth out of bound")
            assert(ngx.re.find("hello", "z") == nil)
            local ctx = { pos = 3 }
            from, to = ngx.re.find("a1b2c3", "\\d", "jo", ctx)
            assert(from == 4 and to == 4 and ctx.pos == 5)
            from, to = ngx.re.find("abc", "", "jo")
            assert(from == 1 and to == 0)
            a, b, err = ngx.re.find("x", "[")
            assert(a == nil and b == nil and err:find("pcre2_compile"))
        "##,
        );
    }

    #[test]
    fn gmatch_iterates_including_empty_matches() {
        run(
            &vm(),
            r##"
            local out = {}
            for m in ngx.re.gmatch("hello, world", "([a-z]+)", "jo") do
              out[#out + 1] = m[1]
            end
            assert(#out == 2 and out[1] == "hello" and out[2] == "world")
            local it = ngx.re.gmatch("ab", "x*")
            local seen = {}
            while true do
              local m = it()
              if not m then break end
              seen[#seen + 1] = m[0]
            end
            assert(#seen == 3 and seen[1] == "" and seen[3] == "")
            assert(it() == nil)
            local bad, err = ngx.re.gmatch("x", "(")
            assert(bad == nil and err:find("pcre2_compile"))
        "##,
        );
    }

    #[test]
    fn sub_and_gsub() {
        run(
            &vm(),
            r##"
            local s, n = ngx.re.sub("hello, 1234", "([0-9])[0-9]", "[$0][$1]")
            assert(s == "hello, [12][1]34" and n == 1)
            s, n = ngx.re.sub("hello, 1234", "[0-9]", "${0}00")
            assert(s == "hello, 100234" and n == 1)
            s, n = ngx.re.sub("hello, 1234", "[0-9]", "$$")
            assert(s == "hello, $234" and n == 1)
            s, n = ngx.re.gsub("hello, world", "([a-z])[a-z]+", "[$0,$1]", "i")
            assert(s == "[hello,h], [world,w]" and n == 2)
            s, n = ngx.re.gsub("hello, world", "(?<first>[a-z])[a-z]+", "${first}.")
            assert(s == "h., w." and n == 2)
            s, n = ngx.re.gsub("abc", "x*", "-")
            assert(s == "-a-b-c-" and n == 4)
            s, n = ngx.re.gsub("abc", "b*", "-")
            assert(s == "-a--c-" and n == 4, s)
            s, n = ngx.re.gsub("nothing", "\\d", "x")
            assert(s == "nothing" and n == 0)
            s, n = ngx.re.gsub("hello, world", "[a-z]+", function(m) return "<" .. m[0] .. ">" end)
            assert(s == "<hello>, <world>" and n == 2)
            s, n = ngx.re.gsub("a b", "\\w", function() return nil end)
            assert(s == "nil nil")
            local a, b, err = ngx.re.sub("x", "x", "$")
            assert(a == nil and b == nil and err == "failed to compile the replacement template")
            a, b, err = ngx.re.gsub("x", "(", "y")
            assert(a == nil and b == nil and err:find("pcre2_compile"))
            local ok = pcall(ngx.re.gsub, "x", "x", function() error("boom") end)
            assert(not ok)
        "##,
        );
    }

    #[test]
    fn split() {
        run(
            &vm(),
            r##"
            local split = require("ngx.re").split
            local function joined(t) return table.concat(t, "|") .. "#" .. #t end
            assert(joined(split("a,b,c,d", ",")) == "a|b|c|d#4")
            assert(joined(split("a,b,c,d", ",", nil, nil, 2)) == "a|b,c,d#2")
            assert(joined(split("a,b,,", ",")) == "a|b#2")
            assert(joined(split("a,b,,", ",", nil, nil, 4)) == "a|b||#4")
            assert(joined(split("a1b22c", "(\\d+)")) == "a|1|b|22|c#5")
            assert(joined(split("abc", "")) == "a|b|c#3")
            assert(joined(split("", ",")) == "#0")
            assert(joined(split("a,b", ",", nil, { pos = 3 })) == "b#1")
            local t, err = split("x", "(")
            assert(t == nil and err:find("pcre2_compile"))
            require("ngx.re").opt("jit_stack_size", 65536)
            assert(not pcall(require("ngx.re").opt, "nope", 1))
        "##,
        );
    }

    #[test]
    fn compile_once_cache_is_reused() {
        let lua = vm();
        run(
            &lua,
            r##"
            for i = 1, 3 do
              assert(ngx.re.find("abc" .. i, "c(\\d)", "jo") == 3)
            end
        "##,
        );
        let cache = lua.app_data_ref::<super::RegexCache>().unwrap();
        assert_eq!(cache.len.get(), 1);
    }
}
