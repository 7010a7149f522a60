package = "kong-plugin-header-echo"
version = "0.1.0-1"
supported_platforms = { "linux", "macosx" }

-- Mandatory for LuaRocks but unused by `luarocks make`, which builds from this directory. A
-- placeholder: the plugin lives inside the Sluice repository, not in a repository of its own.
source = {
  url = "git+https://example.com/kong-plugin-header-echo.git",
  tag = "0.1.0",
}

description = {
  summary = "A Kong plugin that echoes a request header upstream and back to the client.",
  license = "Apache 2.0",
}

dependencies = {}

build = {
  type = "builtin",
  modules = {
    ["kong.plugins.header-echo.handler"] = "kong/plugins/header-echo/handler.lua",
    ["kong.plugins.header-echo.schema"] = "kong/plugins/header-echo/schema.lua",
  },
}
