-- header-echo: copies one request header to the upstream request under another name, and
-- echoes its value back to the client in a response header. Optionally rejects requests that
-- lack the header.
local HeaderEcho = {
  PRIORITY = 810,
  VERSION = "0.1.0",
}

function HeaderEcho:access(conf)
  local value = kong.request.get_header(conf.request_header)
  if not value then
    if conf.reject_missing then
      return kong.response.exit(400, { message = "missing header " .. conf.request_header })
    end
    return
  end
  kong.service.request.set_header(conf.upstream_header, value)
  -- header_filter runs in the same request: keep the value for it.
  kong.ctx.plugin.value = value
end

function HeaderEcho:header_filter(conf)
  local value = kong.ctx.plugin.value
  if value then
    kong.response.set_header(conf.response_header, value)
  end
end

return HeaderEcho
