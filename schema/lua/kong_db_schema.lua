-- kong.db.schema, as much of it as plugin schemas use: `Schema.define` (what makes typedefs
-- callable with overrides) and `Schema.validators.is_regex` (cors). Validation itself is done
-- by the host, in Rust.

local Schema = { validators = {} }

-- A typedef called with a table returns that table completed with the typedef's attributes;
-- as in Kong, an attribute given as `false` is completed too.
local function complete(typedef, overrides)
  overrides = overrides or {}
  for k, v in pairs(typedef) do
    if not overrides[k] then
      overrides[k] = v
    end
  end
  return overrides
end

function Schema.define(tbl)
  return setmetatable(tbl, { __call = complete })
end

-- Whether `value` compiles as a PCRE pattern. Without `ngx.re` (a VM without the PDK) every
-- value passes.
function Schema.validators.is_regex(value)
  local re = ngx and ngx.re
  if not (re and re.match) then
    return true
  end
  local _, err = re.match("any string", value)
  return err == nil
end

return Schema
