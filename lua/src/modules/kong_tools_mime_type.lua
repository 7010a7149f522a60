-- kong.tools.mime_type: RFC 2045 media types (`type/subtype; attribute=value ...`), parsed
-- without lpeg, and the wildcard inclusion rule response-transformer uses to spot JSON.
local find, sub, lower, byte = string.find, string.sub, string.lower, string.byte

local _M = {}

-- the end of the token starting at `i` (token: ASCII without controls and separators), or nil
local SEPARATORS = {}
for c in ('()<>@,;:\\"/[]?={} \t'):gmatch(".") do
  SEPARATORS[byte(c)] = true
end

local function token_end(s, i)
  local j = i
  while true do
    local b = byte(s, j)
    if not b or b < 32 or b >= 127 or SEPARATORS[b] then
      break
    end
    j = j + 1
  end
  if j == i then
    return nil
  end
  return j - 1
end

-- the contents (escapes kept as written) and end of the quoted string opening at `i`
local function quoted_end(s, i)
  local j = i + 1
  while true do
    local b = byte(s, j)
    if not b or b < 32 or b == 127 then
      return nil
    elseif b == 34 then
      return sub(s, i + 1, j - 1), j
    elseif b == 92 then
      local escaped = byte(s, j + 1)
      if not escaped or escaped > 127 then
        return nil
      end
      j = j + 1
    end
    j = j + 1
  end
end

-- type, subtype and a table of parameters (keys in lower case) of a media type; a lone "*" is
-- "*/*"; nil for anything malformed
function _M.parse_mime_type(mime_type)
  if type(mime_type) ~= "string" then
    return nil
  end
  local t, subtype, i
  if mime_type:match("^%*") and not find(mime_type, "/", 1, true) then
    t, subtype, i = "*", "*", 2
  else
    local e = token_end(mime_type, 1)
    if not e or byte(mime_type, e + 1) ~= 47 then -- "/"
      return nil
    end
    local e2 = token_end(mime_type, e + 2)
    if not e2 then
      return nil
    end
    t, subtype, i = sub(mime_type, 1, e), sub(mime_type, e + 2, e2), e2 + 1
  end
  local params = {}
  while i <= #mime_type do
    local _, semi = find(mime_type, "^[ \t]*;[ \t]*", i)
    if not semi then
      return nil
    end
    local key_end = token_end(mime_type, semi + 1)
    if not key_end or byte(mime_type, key_end + 1) ~= 61 then -- "="
      return nil
    end
    local key = lower(sub(mime_type, semi + 1, key_end))
    local value, value_end
    if byte(mime_type, key_end + 2) == 34 then -- '"'
      value, value_end = quoted_end(mime_type, key_end + 2)
    else
      value_end = token_end(mime_type, key_end + 2)
      value = value_end and sub(mime_type, key_end + 2, value_end)
    end
    if not value then
      return nil
    end
    params[key] = value
    i = value_end + 1
  end
  return t, subtype, params
end

-- whether media type `this` ({ type, subtype }) includes `other`: "*/*" anything, "t/*" every
-- subtype of t, "t/*+suffix" every subtype of t with that suffix
function _M.includes(this, other)
  if type(this) ~= "table" then
    error("this must be a table", 2)
  end
  if type(other) ~= "table" then
    error("other must be a table", 2)
  end
  if this.type == "*" then
    return true
  end
  if this.type ~= other.type then
    return false
  end
  if this.subtype == other.subtype or this.subtype == "*" then
    return true
  end
  if sub(this.subtype, 1, 2) == "*+" then
    local suffix = sub(this.subtype, 2)
    return #other.subtype >= #suffix and sub(other.subtype, -#suffix) == suffix
  end
  return false
end

return _M
