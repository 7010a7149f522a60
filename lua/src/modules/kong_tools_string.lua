-- kong.tools.string: Kong's string helpers (splitting, stripping, UTF-8 checks, sizes).
local type, tostring, tonumber = type, tostring, tonumber
local find, sub, byte, lower, fmt, gsub = string.find, string.sub, string.byte, string.lower,
  string.format, string.gsub
local concat = table.concat
local huge = math.huge
local new_tab = require "table.new"

local _M = {}

-- penlight's stringx.join(sep, list)
function _M.join(sep, list)
  return concat(list, sep)
end

-- penlight's stringx.split: a plain delimiter (a trailing delimiter gives a final ""), or
-- runs of whitespace when delim is nil; at most n pieces, the last holding the rest
function _M.split(s, delim, n)
  local plain = delim ~= nil
  if not plain then
    s = (gsub(s, "^%s+", ""))
    delim = "%s+"
  elseif delim == "" then
    return { s }
  end
  local limit = n or huge
  local parts, from = {}, 1
  while true do
    local s1, e1 = find(s, delim, from, plain)
    if not s1 or #parts + 1 >= limit then
      local rest = sub(s, from)
      if rest ~= "" then
        parts[#parts + 1] = rest
      elseif #parts == 1 and parts[1] == "" then
        parts[1] = nil
      end
      break
    end
    parts[#parts + 1] = sub(s, from, s1 - 1)
    from = e1 + 1
  end
  if plain and s ~= "" and #parts < limit and sub(s, -#delim) == delim then
    parts[#parts + 1] = ""
  end
  return parts
end

local function split_once(value, pattern, plain)
  if value == nil then
    return nil, nil
  elseif pattern == nil then
    return value, nil
  elseif pattern == "" then
    return "", value
  elseif value == "" then
    return "", nil
  end
  local s, e = find(value, pattern, 1, plain)
  if not s then
    return value, nil
  end
  return sub(value, 1, s - 1), sub(value, e + 1)
end

function _M.split_once(value, delim)
  return split_once(value, delim, true)
end

function _M.psplit_once(value, pattern)
  return split_once(value, pattern, false)
end

-- the pieces of value and their count, at most n (the last holding the rest); an empty
-- delimiter splits into characters between an empty first and last piece
local function splitn(value, pattern, n, plain)
  local limit = n or huge
  if value == nil or limit < 1 then
    return {}, 0
  end
  if pattern == nil or limit == 1 then
    return { value }, 1
  end
  if pattern == "" then
    local len = #value
    local count = len + 2 < limit and len + 2 or limit
    local t = new_tab(count, 0)
    t[1] = ""
    for i = 2, count - 1 do
      t[i] = sub(value, i - 1, i - 1)
    end
    t[count] = sub(value, count - 1)
    return t, count
  end
  if value == "" then
    return { "" }, 1
  end
  local t = new_tab(n or 10, 0)
  local count, from = 0, 1
  while count + 1 < limit do
    local s, e = find(value, pattern, from, plain)
    if not s then
      break
    end
    count = count + 1
    t[count] = sub(value, from, s - 1)
    from = e + 1
  end
  count = count + 1
  t[count] = sub(value, from)
  return t, count
end

function _M.splitn(value, delim, n)
  return splitn(value, delim, n, true)
end

function _M.psplitn(value, pattern, n)
  return splitn(value, pattern, n, false)
end

local function iterate(pieces, count)
  local i = 0
  return function()
    if i < count then
      i = i + 1
      return pieces[i]
    end
  end
end

function _M.isplitn(value, delim, n)
  return iterate(splitn(value, delim, n, true))
end

function _M.ipsplitn(value, pattern, n)
  return iterate(splitn(value, pattern, n, false))
end

local function is_space(b)
  return b == 32 or (b and b >= 9 and b <= 13)
end

-- value without leading and trailing whitespace; "" for nil
function _M.strip(value)
  if value == nil then
    return ""
  end
  if type(value) ~= "string" then
    value = tostring(value) or ""
  end
  local first, last = 1, #value
  while first <= last and is_space(byte(value, first)) do
    first = first + 1
  end
  while last >= first and is_space(byte(value, last)) do
    last = last - 1
  end
  if first == 1 and last == #value then
    return value
  end
  return sub(value, first, last)
end

-- true, or false and the position of the first byte that breaks UTF-8
function _M.validate_utf8(val)
  local s = tostring(val)
  local i, len = 1, #s
  while i <= len do
    local c = byte(s, i)
    local n, lo, hi = 0, 0x80, 0xBF
    if c < 0x80 then
      n = 0
    elseif c >= 0xC2 and c <= 0xDF then
      n = 1
    elseif c >= 0xE0 and c <= 0xEF then
      n = 2
      if c == 0xE0 then lo = 0xA0 elseif c == 0xED then hi = 0x9F end
    elseif c >= 0xF0 and c <= 0xF4 then
      n = 3
      if c == 0xF0 then lo = 0x90 elseif c == 0xF4 then hi = 0x8F end
    else
      return false, i
    end
    for k = 1, n do
      local b = byte(s, i + k)
      if not b or b < (k == 1 and lo or 0x80) or b > (k == 1 and hi or 0xBF) then
        return false, i
      end
    end
    i = i + n + 1
  end
  return true
end

local UNITS = { k = { 2^10, "KiB" }, m = { 2^20, "MiB" }, g = { 2^30, "GiB" } }

-- bytes in b (default), k, m or g units with `scale` decimals (default 2)
function _M.bytes_to_str(bytes, unit, scale)
  local u = lower(unit or "")
  if u == "" or u == "b" then
    return fmt("%d", bytes)
  end
  scale = scale or 2
  if type(scale) ~= "number" or scale < 0 then
    error("scale must be equal or greater than 0", 2)
  end
  local spec = UNITS[u]
  if not spec then
    error("invalid unit '" .. unit .. "' (expected 'k/K', 'm/M', or 'g/G')", 2)
  end
  return fmt("%." .. scale .. "f " .. spec[2], bytes / spec[1])
end

local SIZE_SCALES = { k = 2^10, K = 2^10, m = 2^20, M = 2^20, g = 2^30, G = 2^30 }

-- nginx sizes such as "512k" in bytes
function _M.parse_ngx_size(str)
  assert(type(str) == "string", "Parameter #1 must be a string")
  local scale = SIZE_SCALES[sub(str, -1)]
  if scale then
    str = sub(str, 1, -2)
  end
  return (tonumber(str) or 0) * (scale or 1)
end

local decode_base64 = ngx.decode_base64
local decode_base64url = require("ngx.base64").decode_base64url

local function try_decode(s)
  if type(s) ~= "string" then
    return nil, "base64 decoding failed: not a string"
  end
  local decoded = decode_base64(s) or decode_base64url(s)
  if decoded then
    return decoded
  end
  return nil, "base64 decoding failed: invalid input"
end

-- a base64 (or base64url) string, or each one in an array, decoded where possible
function _M.try_decode_base64(value)
  if type(value) == "table" then
    for i, v in ipairs(value) do
      value[i] = try_decode(v) or v
    end
    return value
  end
  if type(value) == "string" then
    return try_decode(value) or value
  end
  return value
end

function _M.replace_dashes(str)
  if not find(str, "-", 1, true) then
    return str
  end
  return (gsub(str, "%-", "_"))
end

function _M.replace_dashes_lower(str)
  return _M.replace_dashes(lower(str))
end

return _M
