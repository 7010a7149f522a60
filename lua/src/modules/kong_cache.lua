-- kong.cache: Kong's node cache (`kong.cache`, `kong.core_cache`) with its API and return
-- values: a per-worker LRU (level 1) over a shared dict every worker sees (level 2), filled by
-- the caller's callback on a miss (level 3), with negative caching of nil results.
--
-- Differences from Kong's mlcache-based one: values cross workers as JSON (tables lose
-- metatables and functions, as with any serialization); an invalidation anywhere bumps a shared
-- version that makes every worker drop its whole level 1 (Kong sends per-key worker events);
-- concurrent misses of one key may each run the callback (no resty.lock).
local cjson = require "cjson.safe"
local lrucache = require "resty.lrucache"

local type, pcall, select = type, pcall, select
local ngx_now = ngx.now
local shared = ngx.shared

local LRU_SIZE = 5e5
-- Shared dict flags of level-2 entries.
local SCALAR, JSON = 0, 1
-- The nil a callback found, in the level-1 cache.
local NIL = setmetatable({}, { __tostring = function() return "nil (negative cache)" end })

local _M = {}
local mt = { __index = _M }

--- opts: shm_name (a `lua_shared_dict`; `<shm_name>_miss` holds negative entries), ttl and
--- neg_ttl in seconds (0: no expiry), lru_size.
function _M.new(opts)
  opts = opts or {}
  if type(opts.shm_name) ~= "string" then
    error("opts.shm_name must be a string", 2)
  end
  local dict = shared[opts.shm_name]
  if not dict then
    return nil, "shared dictionary " .. opts.shm_name .. " not found"
  end
  local ttl = math.max(opts.ttl or 0, 0)
  return setmetatable({
    dict = dict,
    miss = shared[opts.shm_name .. "_miss"] or dict,
    shm_name = opts.shm_name,
    lru = lrucache.new(opts.lru_size or LRU_SIZE),
    ttl = ttl,
    neg_ttl = math.max(opts.neg_ttl or ttl, 0),
    version_key = "sluice:cache-version:" .. opts.shm_name,
    version = 0,
  }, mt)
end

local function check_key(key)
  if type(key) ~= "string" then
    error("key must be a string", 3)
  end
end

-- Drops this worker's level 1 when any worker invalidated something since it last looked.
local function sync(self)
  local version = self.dict:get(self.version_key) or 0
  if version ~= self.version then
    self.version = version
    self.lru:flush_all()
  end
end

local function bump(self)
  self.version = self.dict:incr(self.version_key, 1, 0) or 0
end

local function expiry(ttl)
  return ttl > 0 and ttl or nil
end

-- Level 2: value, found.
local function l2_get(self, key)
  local v, flags = self.dict:get(key)
  if v ~= nil then
    if flags == JSON then
      return cjson.decode(v), true
    end
    return v, true
  end
  if self.miss:get(key) ~= nil then
    return nil, true
  end
  return nil, false
end

local function store(self, key, value, ttl, neg_ttl)
  if value == nil then
    self.lru:set(key, NIL, expiry(neg_ttl))
    return self.miss:set(key, true, neg_ttl)
  end
  self.lru:set(key, value, expiry(ttl))
  if type(value) == "table" then
    local json, err = cjson.encode(value)
    if not json then
      return nil, "cannot cache value: " .. err
    end
    return self.dict:set(key, json, ttl, JSON)
  end
  local t = type(value)
  if t ~= "string" and t ~= "number" and t ~= "boolean" then
    return nil, "cannot cache a value of type " .. t
  end
  return self.dict:set(key, value, ttl, SCALAR)
end

local function unwrap(v)
  if v == NIL then
    return nil
  end
  return v
end

--- value, nil, hit level (1: this worker, 2: shared dict, 3: the callback ran); or nil, err.
--- The callback returns value, err, ttl; a nil value is cached as a miss for neg_ttl.
function _M:get(key, opts, cb, ...)
  check_key(key)
  sync(self)
  local v = self.lru:get(key)
  if v ~= nil then
    return unwrap(v), nil, 1
  end
  local found
  v, found = l2_get(self, key)
  if found then
    self.lru:set(key, v == nil and NIL or v, expiry(self.ttl))
    return v, nil, 2
  end
  if cb == nil then
    return nil
  end
  if type(cb) ~= "function" then
    error("callback must be a function", 2)
  end
  local ok, value, err, ttl = pcall(cb, ...)
  if not ok then
    return nil, "failed to get from node cache: callback threw an error: " .. tostring(value)
  end
  if err then
    return nil, "failed to get from node cache: " .. tostring(err)
  end
  opts = opts or {}
  local pos_ttl = ttl or opts.ttl or self.ttl
  local neg_ttl = ttl or opts.neg_ttl or self.neg_ttl
  local stored, serr = store(self, key, value, pos_ttl, neg_ttl)
  if not stored and serr then
    ngx.log(ngx.WARN, "[DB cache] could not cache '", key, "': ", serr)
  end
  return value, nil, 3
end

--- Runs the callback again and caches its result whatever is cached now.
function _M:renew(key, opts, cb, ...)
  check_key(key)
  self:invalidate_local(key)
  local v, err = self:get(key, opts, cb, ...)
  if err then
    return nil, (err:gsub("^failed to get from node cache", "failed to renew key in node cache"))
  end
  return v, nil, (opts and opts.ttl) or self.ttl
end

--- { key, opts, cb, arg, key, opts, cb, arg, ..., n = count } → { value, err, hit level, ... }
function _M:get_bulk(bulk, opts)
  if type(bulk) ~= "table" then
    error("bulk must be a table", 2)
  end
  if opts ~= nil and type(opts) ~= "table" then
    error("opts must be a table", 2)
  end
  local n = bulk.n or #bulk / 4
  local res = { n = n }
  for i = 1, n do
    local at, out = (i - 1) * 4, (i - 1) * 3
    local v, err, hit = self:get(bulk[at + 1], bulk[at + 2], bulk[at + 3], bulk[at + 4])
    res[out + 1], res[out + 2], res[out + 3] = v, err, hit
  end
  return res
end

function _M:safe_set(key, value)
  check_key(key)
  if type(value) == "table" then
    local json, err = cjson.encode(value)
    if not json then
      return nil, err
    end
    return self.dict:safe_set(key, json, self.ttl, JSON)
  end
  return self.dict:safe_set(key, value, self.ttl, SCALAR)
end

--- remaining ttl (0: no expiry; negative entries too), nil, value; nil when not cached.
function _M:probe(key)
  check_key(key)
  local v, found = l2_get(self, key)
  if not found then
    return nil
  end
  local ttl = (v == nil and self.miss or self.dict):ttl(key)
  return ttl or 0, nil, v
end

function _M:invalidate_local(key)
  check_key(key)
  self.dict:delete(key)
  self.miss:delete(key)
  self.lru:delete(key)
  bump(self)
end

--- Kong also tells the other nodes; a Sluice node is alone, so this equals invalidate_local.
function _M:invalidate(key)
  self:invalidate_local(key)
end

function _M:purge()
  -- The version lives in the dict: keep it counting up through the flush.
  local version = (self.dict:get(self.version_key) or 0) + 1
  self.dict:flush_all()
  self.dict:set(self.version_key, version)
  self.version = version
  if self.miss ~= self.dict then
    self.miss:flush_all()
  end
  self.lru:flush_all()
end

return _M
