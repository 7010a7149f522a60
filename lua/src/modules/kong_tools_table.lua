-- kong.tools.table: Kong's table helpers (merging, copying, array checks, error lists).
local type, pairs, ipairs, next = type, pairs, ipairs, next
local getmetatable, setmetatable = getmetatable, setmetatable
local floor = math.floor

local _M = {}

_M.new_tab = require "table.new"
_M.clear_tab = require "table.clear"
_M.nkeys = require "table.nkeys"

-- a shared empty table that refuses writes
_M.EMPTY = setmetatable({}, {
  __newindex = function()
    error("Attempt to modify read-only table", 2)
  end,
  __metatable = false,
})

function _M.pack(...)
  return { n = select("#", ...), ... }
end

function _M.unpack(t, i, j)
  return unpack(t, i or 1, j or t.n or #t)
end

-- a new table with the pairs of t1, then of t2 (either may be nil)
function _M.table_merge(t1, t2)
  local merged = {}
  for _, t in ipairs { t1 or _M.EMPTY, t2 or _M.EMPTY } do
    for k, v in pairs(t) do
      merged[k] = v
    end
  end
  return merged
end

function _M.table_contains(arr, val)
  if arr then
    for _, v in pairs(arr) do
      if v == val then
        return true
      end
    end
  end
  return false
end

local is_array_fast = require "table.isarray"

local function is_array_strict(t)
  local count, max = 0, 0
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or floor(k) ~= k then
      return false
    end
    count = count + 1
    if k > max then
      max = k
    end
  end
  return count == max
end

local function is_array_lapis(t)
  local i = 0
  for _ in pairs(t) do
    i = i + 1
    if t[i] == nil and t[tostring(i)] == nil then
      return false
    end
  end
  return true
end

-- mode "strict" (default: keys 1..n without holes), "fast" (integer keys), "lapis"
-- (like strict, but "1", "2"... string keys count)
function _M.is_array(t, mode)
  if type(t) ~= "table" then
    return false
  end
  if mode == "lapis" then
    return is_array_lapis(t)
  elseif mode == "fast" then
    return is_array_fast(t)
  end
  return is_array_strict(t)
end

function _M.is_lapis_array(t)
  return type(t) == "table" and is_array_lapis(t)
end

-- copies keys, values and (unless copy_mt is false) metatables recursively
function _M.deep_copy(orig, copy_mt)
  if type(orig) ~= "table" then
    return orig
  end
  local copy = {}
  for k, v in next, orig do
    copy[_M.deep_copy(k)] = _M.deep_copy(v, copy_mt)
  end
  if copy_mt ~= false then
    setmetatable(copy, _M.deep_copy(getmetatable(orig)))
  end
  return copy
end

local clone = require "table.clone"

function _M.shallow_copy(orig)
  if type(orig) ~= "table" then
    return orig
  end
  return clone(orig)
end

-- t2 merged into a deep copy of t1; sub-tables present in both are merged too
function _M.deep_merge(t1, t2)
  local merged = _M.deep_copy(t1)
  for k, v in pairs(t2) do
    if type(v) == "table" and type(merged[k]) == "table" then
      merged[k] = _M.deep_merge(merged[k], v)
    else
      merged[k] = _M.deep_copy(v)
    end
  end
  return merged
end

-- a deep copy that copies each table once, however often it is referenced
function _M.cycle_aware_deep_copy(orig, remove_metatables, deep_copy_keys, cache)
  if type(orig) ~= "table" then
    return orig
  end
  cache = cache or {}
  if cache[orig] then
    return cache[orig]
  end
  local copy = clone(orig)
  cache[orig] = copy
  for k, v in pairs(orig) do
    if type(v) == "table" then
      copy[k] = _M.cycle_aware_deep_copy(v, remove_metatables, deep_copy_keys, cache)
    end
    if deep_copy_keys and type(k) == "table" then
      local key_copy = _M.cycle_aware_deep_copy(k, remove_metatables, deep_copy_keys, cache)
      copy[key_copy], copy[k] = copy[k], nil
    end
  end
  if not remove_metatables then
    local mt = getmetatable(orig)
    if mt then
      setmetatable(copy, mt)
    end
  end
  return copy
end

function _M.cycle_aware_deep_merge(t1, t2, remove_metatables, deep_copy_keys, cache)
  cache = cache or {}
  local merged = _M.cycle_aware_deep_copy(t1, remove_metatables, deep_copy_keys, cache)
  for k, v in pairs(t2) do
    if type(v) ~= "table" then
      merged[k] = v
    elseif type(merged[k]) == "table" then
      merged[k] = _M.cycle_aware_deep_merge(merged[k], v, remove_metatables, deep_copy_keys, cache)
    else
      merged[k] = _M.cycle_aware_deep_copy(v, remove_metatables, deep_copy_keys, cache)
    end
  end
  return merged
end

-- the array parts of the arguments, one after another
function _M.concat(...)
  local result = {}
  for i = 1, select("#", ...) do
    for _, v in ipairs((select(i, ...))) do
      result[#result + 1] = v
    end
  end
  return result
end

local error_list_mt = {}

-- adds an error under k; a second error for the same key turns it into a list
function _M.add_error(errors, k, v)
  errors = errors or {}
  local existing = errors[k]
  if existing == nil then
    errors[k] = v
    return errors
  end
  if getmetatable(existing) ~= error_list_mt then
    existing = setmetatable({ existing }, error_list_mt)
    errors[k] = existing
  end
  existing[#existing + 1] = v
  return errors
end

return _M
