-- kong.vendor.classic: a tiny class model (Object:extend, :implement, :is, calling a class
-- creates an instance and runs its `new`), as the classic library Kong 2.x vendored.
local Object = {}
Object.__index = Object

function Object:new()
end

function Object:extend()
  local class = {}
  for key, value in pairs(self) do
    if type(key) == "string" and key:sub(1, 2) == "__" then
      class[key] = value
    end
  end
  class.__index = class
  class.super = self
  return setmetatable(class, self)
end

function Object:implement(...)
  for i = 1, select("#", ...) do
    for key, value in pairs((select(i, ...))) do
      if self[key] == nil and type(value) == "function" then
        self[key] = value
      end
    end
  end
end

function Object:is(class)
  local mt = getmetatable(self)
  while mt do
    if mt == class then
      return true
    end
    mt = getmetatable(mt)
  end
  return false
end

function Object:__tostring()
  return "Object"
end

function Object:__call(...)
  local instance = setmetatable({}, self)
  instance:new(...)
  return instance
end

return Object
