-- kong.tools.rand: random bytes from the OS CSPRNG, and Kong's random_string.
local native = require "sluice.native"
local char, random, gsub = string.char, math.random, string.gsub
local encode_base64 = ngx.encode_base64

local _M = {}

-- n random bytes (the `urandom` flag is accepted; the OS generator is always used)
function _M.get_rand_bytes(n_bytes, _urandom)
  return native.random_bytes(n_bytes)
end

-- 32 characters: 24 random bytes in base64, with "/", "+" and "=" replaced by a random
-- digit, upper-case and lower-case letter
function _M.random_string()
  local s = encode_base64(native.random_bytes(24))
  s = gsub(s, "/", char(random(48, 57)))
  s = gsub(s, "+", char(random(65, 90)))
  s = gsub(s, "=", char(random(97, 122)))
  return s
end

return _M
