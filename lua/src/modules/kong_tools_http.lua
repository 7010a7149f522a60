-- kong.tools.http: Kong's HTTP helpers (query strings for bodies, tokens and header names,
-- default exit bodies, content negotiation for error pages, directive headers).
local type, pairs, ipairs, tostring, tonumber = type, pairs, ipairs, tostring, tonumber
local sort, concat = table.sort, table.concat
local fmt, lower, byte = string.format, string.lower, string.byte
local max = math.max
local re_match, re_gmatch = ngx.re.match, ngx.re.gmatch
local str = require "kong.tools.string"
local EMPTY = require("kong.tools.table").EMPTY

local _M = {}

-- socket.url's escape: everything but letters, digits and "_" as %xx
local function url_escape(s)
  return (tostring(s):gsub("[^%w_]", function(c)
    return fmt("%%%02x", byte(c))
  end))
end

local function pair(key, value, raw)
  if not raw then
    key = url_escape(key)
  end
  if value == nil then
    return key
  end
  return key .. "=" .. (raw and value or url_escape(value))
end

-- numbers first, then the rest, each in natural order
local function key_order(a, b)
  local ta, tb = type(a), type(b)
  if ta == tb then
    return a < b
  end
  return ta == "number"
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    keys[#keys + 1] = k
  end
  sort(keys, key_order)
  return keys
end

local function encode_nested(prefix, value, raw, no_array_indexes, query)
  for _, k in ipairs(sorted_keys(value)) do
    local v = value[k]
    local key
    if type(k) == "number" then
      key = no_array_indexes and prefix .. "[]" or fmt("%s[%s]", prefix, tostring(k))
    else
      key = fmt("%s.%s", prefix, tostring(k))
    end
    if type(v) == "table" then
      encode_nested(key, v, raw, no_array_indexes, query)
    else
      query[#query + 1] = pair(key, v, raw)
    end
  end
end

-- a query string with percent-encoded (unless raw) sorted keys, nested tables as `a[1]`
-- and `a.b`, ngx.null as an empty value and "" as a bare key
function _M.encode_args(args, raw, no_array_indexes)
  local query = {}
  for _, key in ipairs(sorted_keys(args)) do
    local value = args[key]
    if type(value) == "table" then
      encode_nested(key, value, raw, no_array_indexes, query)
    elseif value == ngx.null then
      query[#query + 1] = pair(key, "")
    elseif value ~= nil or raw then
      value = tostring(value)
      if value ~= "" then
        query[#query + 1] = pair(key, value, raw)
      else
        query[#query + 1] = key
      end
    end
  end
  return concat(query, "&")
end

-- {"1" = a, "2" = b} (or {a, b}) as an array when its keys are exactly 1..n
local function as_array(t)
  local keys = {}
  for k in pairs(t) do
    local n = tonumber(k)
    if not n then
      return nil
    end
    keys[#keys + 1] = n
  end
  sort(keys)
  local array = {}
  for i, n in ipairs(keys) do
    if n ~= i then
      return nil
    end
    array[i] = t[tostring(i)] or t[i]
  end
  return array
end

-- form arguments with "" as ngx.null, "true"/"false" as booleans, numeric-keyed tables
-- as arrays
function _M.decode_args(args)
  local decoded = {}
  for k, v in pairs(args) do
    if type(v) == "table" then
      v = as_array(v) or v
    elseif v == "" then
      v = ngx.null
    elseif v == "true" then
      v = true
    elseif v == "false" then
      v = false
    end
    decoded[k] = v
  end
  return decoded
end

-- whether the request is https, or (from a trusted ip, when allowed) was before TLS
-- termination according to X-Forwarded-Proto
function _M.check_https(trusted_ip, allow_terminated)
  if lower(ngx.var.scheme) == "https" then
    return true
  end
  if not (allow_terminated and trusted_ip) then
    return false
  end
  local proto = ngx.var.http_x_forwarded_proto
  if not proto then
    return false
  end
  if proto:find(",", 1, true) then
    return nil, "Only one X-Forwarded-Proto header allowed"
  end
  return lower(proto) == "https"
end

function _M.validate_http_token(token)
  if token == nil or token == "" then
    return nil, "no token provided"
  end
  if not re_match(token, [=[[\x00-\x1F\x7F\x80-\xFF \t()<>@,;:\\"\/?={}\[\]]]=], "jo") then
    return token
  end
  return nil, "contains one or more invalid characters. ASCII " ..
              "control characters (0-31;127), space, tab and the " ..
              "characters ()<>@,;:\\\"/?={}[] are not allowed."
end

function _M.validate_header_name(name)
  if name == nil or name == "" then
    return nil, "no header name provided"
  end
  if re_match(name, "^[a-zA-Z0-9-_]+$", "jo") then
    return name
  end
  return nil, "bad header name '" .. name ..
              "', allowed characters are A-Z, a-z, 0-9, '_', and '-'"
end

_M.validate_cookie_name = _M.validate_http_token

local FIXED_MESSAGES = {
  [405] = "Method not allowed",
  [500] = "An unexpected error occurred",
  [502] = "Bad gateway",
}

local DEFAULT_MESSAGES = {
  [401] = "Unauthorized",
  [404] = "Not found",
  [503] = "Service unavailable",
}

-- the body kong.response.exit would send: nil for 204, fixed texts for 405/500/502, the
-- message (a table as is, anything else as { message = ... }), defaults for 401/404/503
function _M.get_default_exit_body(status, message)
  if type(status) ~= "number" then
    error("code must be a number", 2)
  elseif status < 100 or status > 599 then
    error(fmt("code must be a number between %u and %u", 100, 599), 2)
  end
  if status == 204 then
    return nil
  end
  local body = FIXED_MESSAGES[status] or message or DEFAULT_MESSAGES[status]
  if body ~= nil and type(body) ~= "table" then
    body = { message = body }
  end
  return body
end

local MIME_TYPES = {
  ["application/grpc"] = "",
  ["text/html"] = "text/html; charset=utf-8",
  ["application/json"] = "application/json; charset=utf-8",
  ["text/plain"] = "text/plain; charset=utf-8",
  ["application/xml"] = "application/xml; charset=utf-8",
  ["application"] = "application/json; charset=utf-8",
  ["text"] = "text/plain; charset=utf-8",
  ["default"] = "application/json; charset=utf-8",
}

local ERROR_TEMPLATES = {
  ["application/grpc"] = "",
  ["text/html"] = [[
<!doctype html>
<html>
  <head>
    <meta charset="utf-8">
    <title>Error</title>
  </head>
  <body>
    <h1>Error</h1>
    <p>%s.</p>
    <p>request_id: %s</p>
  </body>
</html>
]],
  ["application/json"] = [[
{
  "message":"%s",
  "request_id":"%s"
}]],
  ["text/plain"] = "%s\nrequest_id: %s\n",
  ["application/xml"] = [[
<?xml version="1.0" encoding="UTF-8"?>
<error>
  <message>%s</message>
  <requestid>%s</requestid>
</error>
]],
}

-- the charset-qualified MIME type for a content type (or `type/*`, `*/*`)
function _M.get_mime_type(content_header, use_default)
  use_default = use_default == nil or use_default
  local media = str.split(str.strip(content_header), ";")[1] or ""
  local parts = str.split(media, "/")
  local mime
  if #parts > 1 then
    if parts[2] == "*" then
      mime = parts[1] == "*" and MIME_TYPES.default or MIME_TYPES[parts[1]]
    else
      mime = MIME_TYPES[media]
    end
  end
  if mime or use_default then
    return mime or MIME_TYPES.default
  end
  return nil, "could not find MIME type"
end

local ACCEPT_PATTERN = [[
  ((?:[a-z0-9][a-z0-9-!#$&^_+.]+|\*) \/ (?:[a-z0-9][a-z0-9-!#$&^_+.]+|\*))
  (?:
    \s*;\s*
    q = ( 1(?:\.0{0,3}|) | 0(?:\.\d{0,3}|) )
    | \s*;\s* [a-z0-9][a-z0-9-!#$&^_+.]+ (?:=[^;]*|)
  )*
]]

-- the response type for an Accept header: the known type with the highest q
function _M.get_response_type(accept_header)
  local content_type = MIME_TYPES.default
  if type(accept_header) == "table" then
    accept_header = concat(accept_header, ",")
  end
  if accept_header ~= nil then
    local best = 0
    for _, value in ipairs(str.split(accept_header, ",")) do
      local m = re_match(str.strip(value), ACCEPT_PATTERN, "ajoxi")
      if m then
        local q = tonumber(m[2]) or 1
        if q > best then
          best = q
          content_type = _M.get_mime_type(m[1]) or content_type
        end
      end
    end
  end
  return content_type
end

local custom_templates = setmetatable({}, {
  __index = function(self, format)
    local path = kong and kong.configuration and kong.configuration["error_template_" .. format]
    local template = false
    if path then
      local f, err = io.open(path, "rb")
      if f then
        template = f:read("*a")
        f:close()
      else
        ngx.log(ngx.ERR, fmt("failed reading the custom %s error template: %s", format, err))
      end
    end
    rawset(self, format, template)
    return template
  end,
})

local TEMPLATE_FORMATS = {
  ["application/json"] = "json",
  ["text/html"] = "html",
  ["application/xml"] = "xml",
  ["text/plain"] = "plain",
}

-- the error page template for a MIME type (a custom one from kong.configuration first)
function _M.get_error_template(mime_type)
  for base, format in pairs(TEMPLATE_FORMATS) do
    if mime_type == base or mime_type == MIME_TYPES[base] then
      return custom_templates[format] or ERROR_TEMPLATES[base]
    end
  end
  if mime_type == "application/grpc" then
    return ERROR_TEMPLATES["application/grpc"]
  end
  return nil, "no template found for MIME type " .. (mime_type or "empty")
end

-- the first value of a request header (through ngx.var, or ctx's cached header table)
function _M.get_header(name, ctx)
  local headers
  if ctx then
    headers = ctx.cached_request_headers
    if not headers then
      headers = ngx.req.get_headers()
      ctx.cached_request_headers = headers
    end
  else
    local value = ngx.var["http_" .. str.replace_dashes(name)]
    if not value or not value:find(", ", 1, true) then
      return value
    end
    headers = ngx.req.get_headers()
  end
  local value = headers[name]
  return type(value) == "table" and value[1] or value
end

-- "public, max-age=3600" as { public = true, ["max-age"] = 3600 }
function _M.parse_directive_header(h)
  if not h then
    return EMPTY
  end
  if type(h) == "table" then
    h = concat(h, ", ")
  end
  local directives = {}
  for part in re_gmatch(h, "([^,]+)", "oj") do
    local m = re_match(part[0], [[^\s*([^=]+)(?:=(.+))?]], "oj")
    if m then
      local value = m[2] or true
      directives[lower(m[1])] = tonumber(m[2]) or value
    end
  end
  return directives
end

-- seconds a response may be cached: s-maxage or max-age, else from Expires
function _M.calculate_resource_ttl(res_cc)
  local max_age = res_cc and (res_cc["s-maxage"] or res_cc["max-age"])
  if not max_age then
    local expires = ngx.var.sent_http_expires
    if type(expires) == "table" then
      expires = expires[#expires]
    end
    local at = ngx.parse_http_time(tostring(expires))
    if at then
      max_age = at - ngx.time()
    end
  end
  return max_age and max(max_age, 0) or 0
end

return _M
