-- OpenResty's LuaJIT table extensions (table.isempty, nkeys, isarray, clone) for upstream
-- LuaJIT, which has only table.new and table.clear. Loaded once by tablex.rs.
local next, type, floor = next, type, math.floor
local new_tab = require "table.new"

local ext = {}

-- true when the table has no non-nil element at all
function ext.isempty(t)
  return next(t) == nil
end

-- the number of non-nil elements, array and hash parts together
function ext.nkeys(t)
  local n = 0
  for _ in next, t do
    n = n + 1
  end
  return n
end

-- true when every key is an integral number (empty tables are arrays)
function ext.isarray(t)
  for k in next, t do
    if type(k) ~= "number" or floor(k) ~= k then
      return false
    end
  end
  return true
end

-- a shallow copy; the metatable is not copied
function ext.clone(t)
  local copy = new_tab(#t, 0)
  for k, v in next, t do
    copy[k] = v
  end
  return copy
end

return ext
