-- The external-plugin benchmark's Lua side (scripts/bench, SUITE=external): the same two PDK
-- calls as the Go plugin go-bench, so Go/Lua compares the plugin-server bridge alone.
local BenchAccess = { PRIORITY = 1000, VERSION = "1.0.0" }

function BenchAccess:access(conf)
  local key = kong.request.get_header("x-api-key") or "anonymous"
  kong.service.request.set_header("X-Consumer-Username", key)
end

return BenchAccess
