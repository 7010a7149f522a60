-- kong.tools.ip: IP and hostname validation and normalisation.
local native = require "sluice.native"
local type, tonumber, fmt, find, sub = type, tonumber, string.format, string.find, string.sub
local split = require("kong.tools.string").split

local _M = {}

local function split_cidr(cidr, max_prefix)
  local slash = find(cidr, "/", 1, true)
  if not slash then
    return nil
  end
  local prefix = sub(cidr, slash + 1)
  if not prefix:match("^%d+$") or tonumber(prefix) > max_prefix then
    return nil
  end
  return sub(cidr, 1, slash - 1)
end

function _M.is_valid_ipv4(ip)
  return type(ip) == "string" and native.is_ipv4(ip)
end

function _M.is_valid_ipv6(ip)
  return type(ip) == "string" and native.ipv6_expand(ip) ~= nil
end

function _M.is_valid_ip(ip)
  return _M.is_valid_ipv4(ip) or _M.is_valid_ipv6(ip)
end

function _M.is_valid_cidr_v4(cidr)
  return type(cidr) == "string" and _M.is_valid_ipv4(split_cidr(cidr, 32))
end

function _M.is_valid_cidr_v6(cidr)
  return type(cidr) == "string" and _M.is_valid_ipv6(split_cidr(cidr, 128))
end

function _M.is_valid_cidr(cidr)
  return _M.is_valid_cidr_v4(cidr) or _M.is_valid_cidr_v6(cidr)
end

function _M.is_valid_ip_or_cidr_v4(s)
  return _M.is_valid_ipv4(s) or _M.is_valid_cidr_v4(s)
end

function _M.is_valid_ip_or_cidr_v6(s)
  return _M.is_valid_ipv6(s) or _M.is_valid_cidr_v6(s)
end

function _M.is_valid_ip_or_cidr(s)
  return _M.is_valid_ip(s) or _M.is_valid_cidr(s)
end

-- "ipv6" for more than one colon, "ipv4" for digits and dots, otherwise "name" (a port
-- suffix is allowed; the address is not validated)
function _M.hostname_type(name)
  local without_colons, colons = name:gsub(":", "")
  if colons > 1 then
    return "ipv6"
  end
  if without_colons:match("^[%d%.]+$") then
    return "ipv4"
  end
  return "name"
end

local function port_number(port)
  port = tonumber(port)
  if port > 65535 then
    return nil, "invalid port number"
  end
  return port
end

-- "a.b.c.d" or "a.b.c.d:port" without leading zeros, and the port
function _M.normalize_ipv4(address)
  local ip, port = address:match("^([%d%.]+):(%d+)$")
  ip = ip or address
  local octets = { ip:match("^(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)$") }
  if #octets ~= 4 then
    return nil, "invalid ipv4 address: " .. address
  end
  for i = 1, 4 do
    octets[i] = tonumber(octets[i])
    if octets[i] > 255 then
      return nil, "invalid ipv4 address: " .. address
    end
  end
  if port then
    local err
    port, err = port_number(port)
    if not port then
      return nil, err
    end
  end
  return fmt("%d.%d.%d.%d", octets[1], octets[2], octets[3], octets[4]), port
end

-- "ipv6", "[ipv6]" or "[ipv6]:port" fully expanded in lower case, and the port
function _M.normalize_ipv6(address)
  local inner, rest = address:match("^%[(.-)%](.*)$")
  local port
  if inner then
    if rest ~= "" then
      port = rest:match("^:(%d+)$")
      if not port then
        return nil, "invalid ipv6 address"
      end
      local err
      port, err = port_number(port)
      if not port then
        return nil, err
      end
    end
  else
    inner = address
  end
  local expanded = native.ipv6_expand(inner)
  if not expanded then
    return nil, "invalid ipv6 address: " .. address
  end
  return expanded, port
end

-- a hostname ("name" or "name:port") with sane labels, and the port
function _M.check_hostname(address)
  local name, port = address, address:match(":(%d+)$")
  if port then
    name = sub(name, 1, -(#port + 2))
    local err
    port, err = port_number(port)
    if not port then
      return nil, err
    end
  end
  if not name:match("^[%w%-%._]+$") then
    return nil, "invalid hostname: " .. address
  end
  local labels = split(name, ".")
  for i, label in ipairs(labels) do
    if label:match("%-$") or (label == "" and i ~= #labels) then
      return nil, "invalid hostname: " .. address
    end
  end
  return name, port
end

local normalizers = {
  ipv4 = _M.normalize_ipv4,
  ipv6 = _M.normalize_ipv6,
  name = _M.check_hostname,
}

-- { type = "ipv4"|"ipv6"|"name", host = normalized, port = number|nil } or nil, err
function _M.normalize_ip(address)
  local kind = _M.hostname_type(address)
  local host, port = normalizers[kind](address)
  if not host then
    return nil, port
  end
  return { type = kind, host = host, port = port }
end

-- "host[:port]" for URLs, with IPv6 in brackets; passes nil, err through
function _M.format_host(p1, p2)
  local t = type(p1)
  if t == "nil" then
    return p1, p2
  end
  local host, port, kind
  if t == "table" then
    host, port = p1.host, p1.port or p2
    kind = p1.type or _M.hostname_type(host)
  elseif t == "string" then
    host, port, kind = p1, p2, _M.hostname_type(p1)
  else
    return nil, "cannot format type '" .. t .. "'"
  end
  if kind == "ipv6" and not find(host, "[", 1, true) then
    host = "[" .. (_M.normalize_ipv6(host) or host) .. "]"
  end
  return host .. (port and ":" .. port or "")
end

return _M
