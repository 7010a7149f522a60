-- resty.lrucache: a per-worker LRU cache with optional TTLs and user flags (the API of
-- lua-resty-lrucache; `resty.lrucache.pureffi` is the same module). Entries live in a map
-- and in a circular doubly linked list, most recently used first.
local ngx_now = ngx.now
local setmetatable = setmetatable

local _M = { _VERSION = "0.13" }
local mt = { __index = _M }

local function unlink(node)
  node.prev.next = node.next
  node.next.prev = node.prev
end

local function push_front(head, node)
  node.next = head.next
  node.prev = head
  head.next.prev = node
  head.next = node
end

function _M.new(size)
  if type(size) ~= "number" or size < 1 then
    return nil, "size too small"
  end
  local head = {}
  head.prev, head.next = head, head
  return setmetatable({ size = size, n = 0, map = {}, head = head }, mt)
end

-- value, nil, flags; or nil, stale value, flags once the TTL has passed
function _M:get(key)
  local node = self.map[key]
  if not node then
    return nil
  end
  if node.expire >= 0 and node.expire < ngx_now() then
    return nil, node.value, node.flags
  end
  unlink(node)
  push_front(self.head, node)
  return node.value, nil, node.flags
end

function _M:set(key, value, ttl, flags)
  local node = self.map[key]
  if node then
    unlink(node)
  else
    if self.n >= self.size then
      node = self.head.prev -- evict the least recently used
      unlink(node)
      self.map[node.key] = nil
    else
      node = {}
      self.n = self.n + 1
    end
    node.key = key
    self.map[key] = node
  end
  node.value = value
  node.expire = ttl and ngx_now() + ttl or -1
  node.flags = type(flags) == "number" and flags or 0
  push_front(self.head, node)
end

function _M:delete(key)
  local node = self.map[key]
  if not node then
    return false
  end
  unlink(node)
  self.map[key] = nil
  self.n = self.n - 1
  return true
end

function _M:count()
  return self.n
end

function _M:capacity()
  return self.size
end

-- keys from the most to the least recently used, at most max_count (0 or nil: all)
function _M:get_keys(max_count, res)
  if not max_count or max_count == 0 then
    max_count = self.n
  end
  res = res or {}
  local i, node = 0, self.head.next
  while node ~= self.head and i < max_count do
    i = i + 1
    res[i] = node.key
    node = node.next
  end
  res[i + 1] = nil
  return res
end

function _M:flush_all()
  self.map = {}
  self.n = 0
  self.head.prev, self.head.next = self.head, self.head
end

return _M
