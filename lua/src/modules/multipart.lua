-- multipart: multipart/form-data bodies as the lua-multipart rock Kong ships handles them
-- (request-transformer requires it): `multipart(body, content_type)` parses, `get`, `get_all`,
-- `get_all_with_arrays`, `get_as_array`, `set_simple`, `delete` change, `tostring` encodes.
local find, sub, match = string.find, string.sub, string.match
local concat, insert, remove = table.concat, table.insert, table.remove
local setmetatable, type, ipairs = setmetatable, type, ipairs

local CRLF = "\r\n"

local MultipartData = {}
MultipartData.__index = MultipartData

local function boundary_of(content_type)
  if type(content_type) ~= "string" then
    return nil
  end
  local b = match(content_type, ';%s*[Bb][Oo][Uu][Nn][Dd][Aa][Rr][Yy]="([^"]+)"')
         or match(content_type, ";%s*[Bb][Oo][Uu][Nn][Dd][Aa][Rr][Yy]=([^;%s]+)")
  return b
end

-- one part: its header lines, name and value; nil when it has no form-data name
local function parse_part(part)
  local head_end = find(part, CRLF .. CRLF, 1, true)
  local head, value
  if head_end then
    head, value = sub(part, 1, head_end - 1), sub(part, head_end + 4)
  else
    head, value = part, ""
  end
  local headers, name = {}, nil
  for line in (head .. CRLF):gmatch("(.-)\r\n") do
    if line ~= "" then
      headers[#headers + 1] = line
      if match(line:lower(), "^content%-disposition:") then
        name = match(line, ';%s*name="([^"]*)"') or match(line, ";%s*name=([^;%s]+)")
      end
    end
  end
  if not name then
    return nil
  end
  return { name = name, value = value, headers = headers }
end

local function parse(body, boundary)
  local parts = {}
  if not boundary or body == "" then
    return parts
  end
  local delimiter = "--" .. boundary
  local pos = find(body, delimiter, 1, true)
  while pos do
    local start = pos + #delimiter
    if sub(body, start, start + 1) == "--" then
      break -- the closing delimiter
    end
    start = start + (sub(body, start, start + 1) == CRLF and 2 or 0)
    local next_pos = find(body, CRLF .. delimiter, start, true)
    local part = sub(body, start, (next_pos or #body + 1) - 1)
    parts[#parts + 1] = parse_part(part)
    pos = next_pos and next_pos + 2
  end
  return parts
end

local _M = {}

function _M.new(body, content_type)
  local boundary = boundary_of(content_type)
  return setmetatable({ _boundary = boundary, _parts = parse(body or "", boundary) },
                      MultipartData)
end

local function index_of(self, name)
  for i, part in ipairs(self._parts) do
    if part.name == name then
      return i
    end
  end
end

-- the first part named `name` ({ name, value, headers }), or nil
function MultipartData:get(name)
  local i = index_of(self, name)
  return i and self._parts[i]
end

-- every value named `name`, in order
function MultipartData:get_as_array(name)
  local values = {}
  for _, part in ipairs(self._parts) do
    if part.name == name then
      values[#values + 1] = part.value
    end
  end
  return values
end

-- name -> value (the last one for repeated names)
function MultipartData:get_all()
  local all = {}
  for _, part in ipairs(self._parts) do
    all[part.name] = part.value
  end
  return all
end

-- name -> value, or an array of the values for repeated names
function MultipartData:get_all_with_arrays()
  local all = {}
  for _, part in ipairs(self._parts) do
    local seen = all[part.name]
    if seen == nil then
      all[part.name] = part.value
    elseif type(seen) == "table" then
      insert(seen, part.value)
    else
      all[part.name] = { seen, part.value }
    end
  end
  return all
end

-- sets the part named `name` (replacing the first one of that name, else adding one)
function MultipartData:set_simple(name, value, filename, content_type)
  local disposition = 'Content-Disposition: form-data; name="' .. name .. '"'
  if filename then
    disposition = disposition .. '; filename="' .. filename .. '"'
  end
  local headers = { disposition }
  if content_type then
    headers[2] = "Content-Type: " .. content_type
  end
  local part = { name = name, value = value, headers = headers }
  local i = index_of(self, name)
  self._parts[i or #self._parts + 1] = part
end

-- removes every part named `name`
function MultipartData:delete(name)
  for i = #self._parts, 1, -1 do
    if self._parts[i].name == name then
      remove(self._parts, i)
    end
  end
end

-- the encoded body, with the boundary it was parsed with
function MultipartData:tostring()
  local out = {}
  for _, part in ipairs(self._parts) do
    out[#out + 1] = "--" .. self._boundary .. CRLF .. concat(part.headers, CRLF) .. CRLF .. CRLF
                    .. part.value .. CRLF
  end
  if #out > 0 then
    out[#out + 1] = "--" .. self._boundary .. "--" .. CRLF
  end
  return concat(out)
end

return setmetatable(_M, {
  __call = function(_, body, content_type)
    return _M.new(body, content_type)
  end,
})
