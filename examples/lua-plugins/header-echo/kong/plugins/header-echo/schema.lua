local typedefs = require "kong.db.schema.typedefs"

return {
  name = "header-echo",
  fields = {
    { consumer = typedefs.no_consumer },
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { request_header = typedefs.header_name { required = true, default = "X-Echo" } },
          { upstream_header = typedefs.header_name { required = true, default = "X-Echo-Upstream" } },
          { response_header = typedefs.header_name { required = true, default = "X-Echo" } },
          { reject_missing = { type = "boolean", required = true, default = false } },
        },
        entity_checks = {
          -- Copying a header onto itself would send nothing new upstream.
          { distinct = { "request_header", "upstream_header" } },
        },
    } },
  },
}
