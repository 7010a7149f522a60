-- The anchors' "typical plugin work" (nginx-lua in ../shared/bench/anchors.sh), Kong-style:
-- read a request header, set an upstream header, count in a shared dict, add a response header.
local BenchLua = { PRIORITY = 1000, VERSION = "1.0.0" }

function BenchLua:access(conf)
  local key = kong.request.get_header("x-api-key") or "anonymous"
  kong.service.request.set_header("X-Consumer-Username", key)
  local hits, err = ngx.shared.counters:incr("hits", 1, 0)
  if not hits then
    kong.log.err("incr failed: ", err)
  end
end

function BenchLua:header_filter(conf)
  kong.response.set_header("X-Gateway", "sluice-lua")
end

return BenchLua
