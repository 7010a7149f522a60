-- kong.tools.uuid: random (v4) UUIDs and Kong's lenient UUID check.
local native = require "sluice.native"
local re_find = ngx.re.find

local _M = {}

_M.uuid = native.uuid_v4

function _M.is_valid_uuid(str)
  if type(str) ~= "string" or #str ~= 36 then
    return false
  end
  return re_find(str, "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", "ioj") ~= nil
end

return _M
