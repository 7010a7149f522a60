-- socket.url: the URL module of LuaSocket 3 that Kong's cors and redirect plugins require
-- (parse, build, escape, unescape, parse_path, build_path), with its splitting rules: scheme,
-- then //authority, #fragment, ?query, ;params, and the rest is the path.
local byte, char, fmt, find, sub, gsub, match =
  string.byte, string.char, string.format, string.find, string.sub, string.gsub, string.match
local tonumber, tostring, concat = tonumber, tostring, table.concat

local _M = { _VERSION = "URL 1.0.3" }

-- characters a path segment keeps unescaped besides letters, digits and "_"
local SEGMENT_SAFE = {}
for c in ("-_.!~*'():@&=+$,"):gmatch(".") do
  SEGMENT_SAFE[c] = true
end

-- every byte but letters, digits and "_" as %xx (lower-case hex)
function _M.escape(s)
  return (gsub(s, "[^%w_]", function(c)
    return fmt("%%%02x", byte(c))
  end))
end

function _M.unescape(s)
  return (gsub(s, "%%(%x%x)", function(hex)
    return char(tonumber(hex, 16))
  end))
end

local function protect_segment(s)
  return (gsub(s, "[^%w_]", function(c)
    if SEGMENT_SAFE[c] then
      return c
    end
    return fmt("%%%02X", byte(c))
  end))
end

-- cuts what `pattern` captures off `s` (the whole match is removed); nil when it does not match
local function cut(s, pattern)
  local from, to, captured = find(s, pattern)
  if not from then
    return s, nil
  end
  return sub(s, 1, from - 1) .. sub(s, to + 1), captured
end

local function split_authority(parsed)
  local authority = parsed.authority
  if not authority then
    return
  end
  authority, parsed.userinfo = cut(authority, "^([^@]*)@")
  authority, parsed.port = cut(authority, ":([^:%]]*)$")
  if authority ~= "" then
    parsed.host = match(authority, "^%[(.+)%]$") or authority
  end
  if parsed.userinfo then
    parsed.user, parsed.password = cut(parsed.userinfo, ":([^:]*)$")
  end
end

-- a table of the URL's parts, with fields of `default` for the parts it lacks; nil, "invalid url"
-- for nil or ""
function _M.parse(url, default)
  if url == nil or url == "" then
    return nil, "invalid url"
  end
  local parsed = {}
  local rest = url
  rest, parsed.scheme = cut(rest, "^([%w][%w%+%-%.]*):")
  rest, parsed.authority = cut(rest, "^//([^/]*)")
  rest, parsed.fragment = cut(rest, "#(.*)$")
  rest, parsed.query = cut(rest, "%?(.*)")
  rest, parsed.params = cut(rest, ";(.*)")
  if rest ~= "" then
    parsed.path = rest
  end
  split_authority(parsed)
  for k, v in pairs(default or parsed) do
    if parsed[k] == nil then
      parsed[k] = v
    end
  end
  return parsed
end

-- the URL string for parsed parts; host, port, user and password win over authority and userinfo
function _M.build(parsed)
  local url = _M.build_path(_M.parse_path(parsed.path or ""))
  if parsed.params then
    url = url .. ";" .. parsed.params
  end
  if parsed.query then
    url = url .. "?" .. parsed.query
  end
  local authority = parsed.authority
  if parsed.host then
    authority = parsed.host
    if find(authority, ":", 1, true) then
      authority = "[" .. authority .. "]"
    end
    if parsed.port then
      authority = authority .. ":" .. tostring(parsed.port)
    end
    local userinfo = parsed.userinfo
    if parsed.user then
      userinfo = parsed.user
      if parsed.password then
        userinfo = userinfo .. ":" .. parsed.password
      end
    end
    if userinfo then
      authority = userinfo .. "@" .. authority
    end
  end
  if authority then
    url = "//" .. authority .. url
  end
  if parsed.scheme then
    url = parsed.scheme .. ":" .. url
  end
  if parsed.fragment then
    url = url .. "#" .. parsed.fragment
  end
  return url
end

-- the unescaped segments of a path, with is_absolute / is_directory for a leading / trailing "/"
function _M.parse_path(path)
  local parsed = {}
  for segment in (path or ""):gmatch("[^/]+") do
    parsed[#parsed + 1] = _M.unescape(segment)
  end
  if sub(path, 1, 1) == "/" then
    parsed.is_absolute = 1
  end
  if sub(path, -1) == "/" then
    parsed.is_directory = 1
  end
  return parsed
end

-- the path for parsed segments, each escaped unless `unsafe`
function _M.build_path(parsed, unsafe)
  local segments = {}
  for i = 1, #parsed do
    segments[i] = unsafe and parsed[i] or protect_segment(parsed[i])
  end
  local path = concat(segments, "/")
  if #parsed > 0 then
    if parsed.is_directory then
      path = path .. "/"
    end
  end
  if parsed.is_absolute then
    path = "/" .. path
  end
  return path
end

return _M
