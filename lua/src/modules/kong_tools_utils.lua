-- kong.tools.utils: the legacy aggregate of Kong's tool modules.
local _M = {}

for _, name in ipairs {
  "kong.tools.table", "kong.tools.uuid", "kong.tools.rand", "kong.tools.time",
  "kong.tools.string", "kong.tools.ip", "kong.tools.http",
} do
  for key, value in pairs(require(name)) do
    _M[key] = value
  end
end

return _M
