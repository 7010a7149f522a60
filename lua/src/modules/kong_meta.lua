-- kong.meta: the Kong release whose plugin API Sluice implements, in the shape Kong's own
-- module has, so plugins comparing versions keep working. Sluice's own version is in
-- _SLUICE_VERSION and in the server tokens.
local version = setmetatable({ major = 3, minor = 9, patch = 0 }, {
  __tostring = function(v)
    return string.format("%d.%d.%d%s", v.major, v.minor, v.patch, v.suffix or "")
  end,
})

local sluice_version = "@SLUICE_VERSION@"

return {
  _NAME = "kong",
  _VERSION = tostring(version),
  _VERSION_TABLE = version,
  _SERVER_TOKENS = "sluice/" .. sluice_version,
  _SLUICE_VERSION = sluice_version,
  _DEPENDENCIES = { nginx = { "1.25.3.2" } },
  version = tostring(version),
}
