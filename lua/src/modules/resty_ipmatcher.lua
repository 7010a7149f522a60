-- resty.ipmatcher: matching an address against a list of IPs and CIDRs (the API of
-- lua-resty-ipmatcher that Kong's ip-restriction plugin uses). Each prefix length in the list
-- gets a hash of masked addresses, so a match costs one lookup per distinct prefix length.
local native = require "sluice.native"
local band, lshift = bit.band, bit.lshift
local byte, char, sub, find, tonumber, type = string.byte, string.char, string.sub, string.find,
  tonumber, type
local sort = table.sort

local _M = { _VERSION = "0.6.1" }
local mt = { __index = _M }

-- the first `bits` bits of a binary address (the rest dropped)
local function masked(bin, bits)
  local whole = bits / 8
  whole = whole - whole % 1
  local rest = bits - whole * 8
  if rest == 0 then
    return sub(bin, 1, whole)
  end
  local mask = band(lshift(0xff, 8 - rest), 0xff)
  return sub(bin, 1, whole) .. char(band(byte(bin, whole + 1), mask))
end

-- binary address and prefix length of "ip" or "ip/bits"; nil when invalid
local function parse_entry(entry)
  if type(entry) ~= "string" then
    return nil
  end
  local slash = find(entry, "/", 1, true)
  local ip, bits = entry, nil
  if slash then
    ip, bits = sub(entry, 1, slash - 1), sub(entry, slash + 1)
    if not bits:match("^%d+$") then
      return nil
    end
    bits = tonumber(bits)
  end
  local bin = native.inet_pton(ip)
  if not bin then
    return nil
  end
  local max = #bin * 8
  bits = bits or max
  if bits > max then
    return nil
  end
  return bin, bits
end

-- adds one list entry to the per-family tables
local function add(families, entry, value)
  local bin, bits = parse_entry(entry)
  if not bin then
    return nil, "invalid ip address: " .. tostring(entry)
  end
  local family = families[#bin]
  local hash = family.by_bits[bits]
  if not hash then
    hash = {}
    family.by_bits[bits] = hash
    family.lengths[#family.lengths + 1] = bits
  end
  local key = masked(bin, bits)
  if hash[key] == nil then
    hash[key] = value
  end
  return true
end

local function build(entries, with_values)
  local families = {
    [4] = { by_bits = {}, lengths = {} },
    [16] = { by_bits = {}, lengths = {} },
  }
  if with_values then
    for entry, value in pairs(entries) do
      local ok, err = add(families, entry, value)
      if not ok then
        return nil, err
      end
    end
  else
    for _, entry in ipairs(entries) do
      local ok, err = add(families, entry, true)
      if not ok then
        return nil, err
      end
    end
  end
  for _, family in pairs(families) do
    -- longest prefix first, so the most specific entry's value wins
    sort(family.lengths, function(a, b) return a > b end)
  end
  return setmetatable({ families = families }, mt)
end

-- a matcher for an array of IPs and CIDRs; nil, "invalid ip address: <entry>" for a bad entry
function _M.new(ips)
  return build(ips, false)
end

-- a matcher for a map of IP or CIDR to value; `match` returns the value
function _M.new_with_value(ips)
  return build(ips, true)
end

local function lookup(self, bin)
  local family = self.families[#bin]
  for _, bits in ipairs(family.lengths) do
    local value = family.by_bits[bits][masked(bin, bits)]
    if value ~= nil then
      return value
    end
  end
  return false
end

-- whether the textual address is in the list (its value for `new_with_value`)
function _M:match(ip)
  local bin = type(ip) == "string" and native.inet_pton(ip)
  if not bin then
    return false, "invalid ip address, not ipv4 and ipv6"
  end
  return lookup(self, bin)
end

-- the same for a 4- or 16-byte network-order address (`ngx.var.binary_remote_addr`)
function _M:match_bin(bin)
  if type(bin) ~= "string" or (#bin ~= 4 and #bin ~= 16) then
    return nil, "invalid binary ip address"
  end
  return lookup(self, bin)
end

-- the address's 32-bit words in host order, when it has `len` bytes
local function words(ip, len)
  local bin = type(ip) == "string" and native.inet_pton(ip)
  if not bin or #bin ~= len then
    return nil
  end
  local out = {}
  for i = 0, len / 4 - 1 do
    local a, b, c, d = byte(bin, i * 4 + 1, i * 4 + 4)
    out[i + 1] = ((a * 256 + b) * 256 + c) * 256 + d
  end
  return out
end

-- the 32-bit value of an IPv4 address, or false
function _M.parse_ipv4(ip)
  local w = words(ip, 4)
  return w and w[1] or false
end

-- the four 32-bit words of an IPv6 address, or false
function _M.parse_ipv6(ip)
  return words(ip, 16) or false
end

return _M
