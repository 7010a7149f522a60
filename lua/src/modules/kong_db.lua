-- kong.db as Kong runs it without a database: read-only DAOs over the entities of the
-- declarative config, with the DAO methods plugins call (`select`, `select_by_<unique field>`,
-- `each`, `page`, `each_for_<foreign key>`, `page_for_<foreign key>`, `cache_key`). Writes fail
-- as Kong's DB-less DAOs do: the configuration changes only by reloading the file.
--
-- `new(entities, transform)` takes, per entity name, `{ rows = {...}, unique = {field...},
-- foreign = {field...} }`, rows already in Kong's shape (foreign keys as `{ id = ... }`, nulls
-- removed), and the declarative config's `_transform`.

local copy = require("kong.tools.table").cycle_aware_deep_copy

local type = type
local tostring = tostring
local fmt = string.format

-- The `cache_key` fields of Kong's entity schemas (the bundled plugins' daos.lua); entities
-- without are keyed by their id.
local CACHE_KEYS = {
  keyauth_credentials = { "key" },
  basicauth_credentials = { "username" },
  acls = { "consumer", "group" },
  jwt_secrets = { "key" },
  hmacauth_credentials = { "username" },
  oauth2_credentials = { "client_id" },
}

-- What Kong's entity `transformations` do to a row when the declarative config is loaded
-- (unless it says `_transform: false`): basic-auth keeps its passwords salted with the consumer
-- id and hashed (its crypto.lua).
local TRANSFORMS = {
  basicauth_credentials = function(row)
    if type(row.password) == "string" and type(row.consumer) == "table" then
      local digest = require("resty.sha1"):new()
      digest:update(row.password .. row.consumer.id)
      row.password = require("resty.string").to_hex(digest:final())
    end
  end,
}

local DAO = {}
DAO.__index = DAO

local function absent(value)
  return value == nil or value == ngx.null
end

-- A copy (without metatables), so a plugin that changes a row it got changes nothing for the
-- next request.
local function row_copy(row)
  return row and copy(row, true) or nil
end

function DAO:select(pk)
  if type(pk) ~= "table" then
    error("primary_key must be a table", 2)
  end
  return row_copy(self.by_id[pk.id])
end

-- An iterator over copies of `rows`.
local function each_of(rows)
  local i = 0
  return function()
    i = i + 1
    local row = rows[i]
    if row then
      return row_copy(row)
    end
  end
end

function DAO:each()
  return each_of(self.rows)
end

-- Pages as Kong's: `rows, err, err_t, offset`, `offset` nil on the last page.
local function page_of(rows, size, offset)
  size = tonumber(size) or 100
  local first = tonumber(offset) or 1
  local page = {}
  for i = first, math.min(first + size - 1, #rows) do
    page[#page + 1] = row_copy(rows[i])
  end
  local next_offset = first + size <= #rows and tostring(first + size) or nil
  return page, nil, nil, next_offset
end

function DAO:page(size, offset)
  return page_of(self.rows, size, offset)
end

-- Kong's cache key: "<entity>:<key>:<arg2>:<arg3>:<arg4>:<arg5>:<workspace>". A table key is
-- a row (or a part of one): its `cache_key` fields, else its id.
function DAO:cache_key(key, arg2, arg3, arg4, arg5, ws_id)
  if type(key) == "table" then
    local fields = self.cache_key_fields
    if fields then
      local parts = {}
      for i = 1, #fields do
        local v = key[fields[i]]
        parts[i] = type(v) == "table" and v.id or v
      end
      key, arg2, arg3, arg4, arg5 = parts[1], parts[2], parts[3], parts[4], parts[5]
    else
      key = key.id
    end
  end
  local function part(v)
    return absent(v) and "" or tostring(v)
  end
  return fmt("%s:%s:%s:%s:%s:%s:%s", self.name, part(key), part(arg2), part(arg3), part(arg4),
             part(arg5), part(ws_id))
end

local function read_only(name, operation)
  return function()
    return nil, fmt("cannot %s '%s' entities when not using a database", operation, name)
  end
end

local function dao(name, entity, transform)
  local self = setmetatable({
    name = name,
    rows = entity.rows,
    by_id = {},
    cache_key_fields = CACHE_KEYS[name],
  }, DAO)
  for _, row in ipairs(entity.rows) do
    if transform and TRANSFORMS[name] then
      TRANSFORMS[name](row)
    end
    if row.id ~= nil then -- consumer_group_consumers have a composite key
      self.by_id[row.id] = row
    end
  end
  for _, field in ipairs(entity.unique or {}) do
    local index = {}
    for _, row in ipairs(entity.rows) do
      if not absent(row[field]) then
        index[row[field]] = row
      end
    end
    self["select_by_" .. field] = function(_, value)
      return row_copy(index[value])
    end
    for _, op in ipairs({ "update", "upsert", "delete" }) do
      self[op .. "_by_" .. field] = read_only(name, op)
    end
  end
  for _, field in ipairs(entity.foreign or {}) do
    -- The rows of each referenced id, in order, indexed once.
    local by_fk = {}
    for _, row in ipairs(entity.rows) do
      local id = type(row[field]) == "table" and row[field].id
      if id then
        by_fk[id] = by_fk[id] or {}
        table.insert(by_fk[id], row)
      end
    end
    local function rows_of(fk)
      return by_fk[type(fk) == "table" and fk.id or fk] or {}
    end
    self["each_for_" .. field] = function(_, fk)
      return each_of(rows_of(fk))
    end
    self["page_for_" .. field] = function(_, fk, size, offset)
      return page_of(rows_of(fk), size, offset)
    end
  end
  for _, op in ipairs({ "insert", "update", "upsert", "delete", "truncate" }) do
    self[op] = read_only(name, op)
  end
  return self
end

return {
  new = function(entities, transform)
    local db = {}
    for name, entity in pairs(entities) do
      db[name] = dao(name, entity, transform)
    end
    -- As in Kong, an entity it does not know is nil.
    return db
  end,
}
