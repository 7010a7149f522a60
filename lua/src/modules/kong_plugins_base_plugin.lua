-- kong.plugins.base_plugin: the pre-3.0 handler base class (removed from Kong in 3.0), so old
-- plugins doing `BasePlugin:extend()` and `MyHandler.super.access(self)` still load. Every
-- phase method only logs at debug level.
local Object = require "kong.vendor.classic"

local BasePlugin = Object:extend()

function BasePlugin:new(name)
  self._name = name
end

function BasePlugin:get_name()
  return self._name
end

for _, phase in ipairs {
  "init_worker", "certificate", "rewrite", "access", "response", "header_filter",
  "body_filter", "log", "preread",
} do
  BasePlugin[phase] = function(self)
    ngx.log(ngx.DEBUG, "executing plugin \"", self._name, "\": ", phase)
  end
end

return BasePlugin
