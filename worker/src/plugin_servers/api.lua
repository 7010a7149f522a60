-- The PDK methods Kong overrides for external plugins (its `exposed_api`), where the wire needs
-- another shape than the Lua function gives: a JSON string for `kong.log.serialize`, functions
-- for the `kong.ctx.shared` table and a few `ngx` values. Every other method is the Lua PDK
-- function of the same name.
local cjson = require "cjson.safe"

return {
  ["kong.log.serialize"] = function()
    return (cjson.encode(kong.log.serialize()))
  end,
  ["kong.ctx.shared.get"] = function(key)
    return kong.ctx.shared[key]
  end,
  ["kong.ctx.shared.set"] = function(key, value)
    kong.ctx.shared[key] = value
  end,
  ["kong.nginx.get_var"] = function(name)
    return ngx.var[name]
  end,
  ["kong.nginx.get_ctx"] = function(key)
    return ngx.ctx[key]
  end,
  ["kong.nginx.set_ctx"] = function(key, value)
    ngx.ctx[key] = value
  end,
  ["kong.nginx.req_start_time"] = function()
    return ngx.req.start_time()
  end,
  ["kong.nginx.get_tls1_version_str"] = function()
    return ngx.var.ssl_protocol
  end,
}
