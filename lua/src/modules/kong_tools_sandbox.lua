-- kong.tools.sandbox: loading Lua code that comes from configuration (the pre-function and
-- post-function plugins' functions) as `kong.configuration.untrusted_lua` allows: `off` refuses
-- it, `on` lets it read every global, `sandbox` (the default) only the safe globals, `kong`,
-- `ngx`, the globals named in `untrusted_lua_sandbox_environment`, and a `require` limited to
-- `untrusted_lua_sandbox_requires`. Text chunks only: bytecode could escape any sandbox.
local setmetatable, type, pcall, load, error, ipairs, pairs, rawget, rawset, assert, require =
  setmetatable, type, pcall, load, error, ipairs, pairs, rawget, rawset, assert, require
local fmt = string.format

local ERR_OFF = "loading of untrusted Lua code disabled because " ..
                "'untrusted_lua' config option is set to 'off'"

-- the globals and library members sandboxed code may use (copies: it cannot change ours)
local SAFE_GLOBALS = {
  "_VERSION", "assert", "error", "ipairs", "next", "pairs", "pcall", "print", "select",
  "tonumber", "tostring", "type", "unpack", "xpcall",
}
local SAFE_LIBRARIES = {
  bit = { "arshift", "band", "bnot", "bor", "bswap", "bxor", "lshift", "rol", "ror", "rshift",
          "tobit", "tohex" },
  coroutine = { "create", "isyieldable", "resume", "running", "status", "wrap", "yield" },
  math = { "abs", "acos", "asin", "atan", "atan2", "ceil", "cos", "cosh", "deg", "exp", "floor",
           "fmod", "frexp", "huge", "ldexp", "log", "log10", "max", "min", "modf", "pi", "pow",
           "rad", "random", "sin", "sinh", "sqrt", "tan", "tanh" },
  os = { "clock", "date", "difftime", "time" },
  string = { "byte", "char", "find", "format", "gmatch", "gsub", "len", "lower", "match", "rep",
             "reverse", "sub", "upper" },
  table = { "concat", "insert", "maxn", "remove", "sort" },
}

local function safe_environment()
  local env = {}
  for _, name in ipairs(SAFE_GLOBALS) do
    env[name] = _G[name]
  end
  for library, members in pairs(SAFE_LIBRARIES) do
    local copy = {}
    for _, name in ipairs(members) do
      copy[name] = _G[library][name]
    end
    env[library] = copy
  end
  return env
end

-- makes the global at dotted `path` ("os.getenv") visible in `env`; a table is exposed read
-- through, so writes stay in the sandbox
local function link(path, from, env)
  local head, rest = path:match("^([^%.]+)%.?(.*)$")
  local value = head and from[head]
  if value == nil then
    return
  end
  if rest == "" then
    env[head] = type(value) == "table" and setmetatable({}, { __index = value }) or value
    return
  end
  if type(value) ~= "table" then
    return
  end
  if type(rawget(env, head)) ~= "table" then
    env[head] = {}
  end
  link(rest, value, env[head])
end

local function setting(name)
  return kong and kong.configuration and kong.configuration[name]
end

-- values computed from kong.configuration on first use; `configuration:reload()` forgets them
local lazy = {
  enabled = function()
    return setting("untrusted_lua") ~= "off"
  end,
  sandbox_enabled = function()
    local mode = setting("untrusted_lua")
    return mode == nil or mode == "sandbox"
  end,
  requires = function()
    local allowed = {}
    for _, name in ipairs(setting("untrusted_lua_sandbox_requires") or {}) do
      allowed[name] = true
    end
    return allowed
  end,
  env_vars = function()
    return setting("untrusted_lua_sandbox_environment") or {}
  end,
  environment = function(self)
    local env = safe_environment()
    local allowed = self.requires
    env.require = function(name)
      if not allowed[name] then
        error(fmt("require '%s' not allowed within sandbox", name), 2)
      end
      return require(name)
    end
    -- kong read through, so sandboxed code cannot replace PDK functions for everyone
    env.kong = setmetatable({}, { __index = kong })
    env.ngx = ngx
    for _, path in ipairs(self.env_vars) do
      link(path, _G, env)
    end
    return env
  end,
}

-- what `configuration` answers besides the lazy values
local fixed = { err_msg = ERR_OFF, clear = require "table.clear" }
fixed.reload = fixed.clear

local configuration = setmetatable({}, {
  __index = function(self, key)
    local compute = lazy[key]
    if not compute then
      return fixed[key]
    end
    local value = compute(self)
    rawset(self, key, value)
    return value
  end,
})

local _M = { configuration = configuration }

-- compiles `chunk` under the untrusted_lua policy: the function, or an error. The second
-- argument is a chunk name or an options table ({ chunk_name, mode, env }); `env` receives the
-- chunk's own globals and sees the allowed ones through it.
function _M.sandbox(chunk, chunkname_or_options, mode, env)
  if not configuration.enabled then
    error(ERR_OFF, 0)
  end
  local chunkname = chunkname_or_options
  if type(chunkname_or_options) == "table" then
    chunkname = chunkname_or_options.chunkname or chunkname_or_options.chunk_name
    mode = mode or chunkname_or_options.mode
    env = env or chunkname_or_options.env
  end
  env = env or {}
  local globals = configuration.sandbox_enabled and configuration.environment or _G
  local fn, err = load(chunk, chunkname, mode or "t", setmetatable(env, { __index = globals }))
  if not fn then
    error(err, 0)
  end
  return fn
end

-- the compiled chunk, or false and the parse error
local function compile(chunk, chunkname_or_options, mode, env)
  local ok, compiled = pcall(_M.sandbox, chunk, chunkname_or_options, mode, env)
  if not ok then
    return false, "Error parsing function: " .. compiled
  end
  return compiled
end

-- runs the compiled chunk and returns the function it returns; false and a message otherwise
function _M.validate_function(chunk, chunkname_or_options, mode, env)
  local compiled, err = compile(chunk, chunkname_or_options, mode, env)
  if not compiled then
    return false, err
  end
  local success, fn = pcall(compiled)
  if not success then
    return false, fn
  end
  if type(fn) == "function" then
    return fn
  end
  return false, "Bad return value from function, expected function type, got " .. type(fn)
end

function _M.parse(chunk, chunkname_or_options, mode, env)
  return assert(_M.validate_function(chunk, chunkname_or_options, mode, env))
end

function _M.validate(chunk, chunkname_or_options, mode, env)
  local _, err = _M.validate_function(chunk, chunkname_or_options, mode, env)
  if err then
    return false, err
  end
  return true
end

-- for schemas: compiles without running anything
function _M.validate_safe(chunk, chunkname_or_options, mode, env)
  local compiled, err = compile(chunk, chunkname_or_options, mode, env)
  return compiled and true, err
end

return _M
