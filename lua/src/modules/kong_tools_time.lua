-- kong.tools.time: clocks in the units Kong code uses, and nginx time strings in seconds.
local native = require "sluice.native"
local now, update_time = ngx.now, ngx.update_time

local _M = {}

_M.time_ns = native.time_ns

function _M.get_now_ms()
  return now() * 1000
end

function _M.get_updated_now_ms()
  update_time()
  return now() * 1000
end

-- the current request's start (ngx.req is installed per request by the worker)
function _M.get_start_time_ms()
  return ngx.req.start_time() * 1000
end

function _M.get_updated_monotonic_ms()
  update_time()
  return native.monotonic_ms()
end

local UNIT_SECONDS = { y = 31536000, M = 2592000, w = 604800, d = 86400, h = 3600, m = 60, s = 1 }

-- nginx's time syntax in seconds: "30", "1h 30m", "2d"
function _M.nginx_conf_time_to_seconds(str)
  local total, seen = 0, false
  if type(str) ~= "string" then
    error("bad argument #1 'str'", 2)
  end
  local rest = str:gsub("%s+", "")
  for number, unit in rest:gmatch("(%d+)(%a?)") do
    local scale = unit == "" and 1 or UNIT_SECONDS[unit]
    if not scale then
      error("bad argument #1 'str'", 2)
    end
    total, seen = total + tonumber(number) * scale, true
  end
  if not seen or rest:find("[^%dyMwdhms]") or rest:find("%a%a") then
    error("bad argument #1 'str'", 2)
  end
  return total
end

return _M
