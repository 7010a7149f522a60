-- kong.db.schema.typedefs: the ready-made field definitions plugin schemas use, with Kong's
-- names and attributes. Their custom validators are native (sluice.schema.validators).

local Schema = require "kong.db.schema"
local native = require "sluice.schema.validators"

local null = ngx and ngx.null or native.null
local define = Schema.define

local typedefs = {}

typedefs.http_method = define {
  type = "string",
  match = "^%u+$",
  description = "A string representing an HTTP method, such as GET, POST, PUT, or DELETE. The string must contain only uppercase letters.",
}

typedefs.protocol = define {
  type = "string",
  one_of = native.protocols,
  description = "A string representing a protocol, such as HTTP or HTTPS.",
}

typedefs.host = define {
  type = "string",
  custom_validator = native.host,
  description = "A string representing a host name, such as example.com.",
}

typedefs.host_with_optional_port = define {
  type = "string",
  custom_validator = native.host_with_optional_port,
  description = "A string representing a host name with an optional port number, such as example.com or example.com:8080.",
}

typedefs.wildcard_host = define {
  type = "string",
  custom_validator = native.wildcard_host,
  description = "A string representing a wildcard host name, such as *.example.com.",
}

typedefs.ip = define {
  type = "string",
  custom_validator = native.ip,
  description = "A string representing an IP address, such as 192.168.1.1.",
}

typedefs.ip_or_cidr = define {
  type = "string",
  custom_validator = native.ip_or_cidr,
  description = "A string representing an IP address or CIDR block, such as 192.168.1.1 or 192.168.0.0/16.",
}

typedefs.cidr_v4 = define {
  type = "string",
  custom_validator = native.cidr_v4,
  description = "A string representing a CIDR block for IPv4 addresses, such as 192.168.0.0/16.",
}

-- deprecated alias, as in Kong
typedefs.cidr = typedefs.cidr_v4

typedefs.port = define {
  type = "integer",
  between = { 0, 65535 },
  description = "An integer representing a port number between 0 and 65535, inclusive.",
}

typedefs.path = define {
  type = "string",
  starts_with = "/",
  match_none = {
    { pattern = "//", err = "must not have empty segments" },
  },
  custom_validator = native.path,
  description = "A string representing a URL path, such as /path/to/resource. Must start with a forward slash (/) and must not contain empty segments (i.e., two consecutive forward slashes).",
}

typedefs.url = define {
  type = "string",
  custom_validator = native.url,
  description = "A string representing a URL, such as https://example.com/path/to/resource?q=search.",
}

typedefs.header_name = define {
  type = "string",
  custom_validator = native.header_name,
  description = "A string representing an HTTP header name.",
}

typedefs.timeout = define {
  type = "integer",
  between = { 0, 2 ^ 31 - 2 },
  description = "An integer representing a timeout in milliseconds. Must be between 0 and 2^31-2.",
}

typedefs.uuid = define {
  type = "string",
  uuid = true,
  auto = true,
  description = "A string representing a UUID (universally unique identifier).",
}

typedefs.auto_timestamp_s = define {
  type = "integer",
  timestamp = true,
  auto = true,
  description = "An integer representing an automatic Unix timestamp in seconds.",
}

typedefs.auto_timestamp_ms = define {
  type = "number",
  timestamp = true,
  auto = true,
  description = "A number representing an automatic Unix timestamp in milliseconds.",
}

-- A plugin schema's `{ consumer = typedefs.no_consumer }` forbids that scope.
local function no(reference)
  return define {
    type = "foreign",
    reference = reference,
    eq = null,
    description = "A reference to the '" .. reference .. "' table with a null value allowed.",
  }
end

typedefs.no_route = no("routes")
typedefs.no_service = no("services")
typedefs.no_consumer = no("consumers")
typedefs.no_consumer_group = no("consumer_groups")

typedefs.name = define {
  type = "string",
  unique = true,
  custom_validator = native.name,
  description = "A unique string representing a name.",
}

typedefs.utf8_name = define {
  type = "string",
  unique = true,
  custom_validator = native.utf8_name,
  description = "A unique string representing a UTF-8 encoded name.",
}

typedefs.sni = define {
  type = "string",
  custom_validator = native.sni,
  description = "A string representing an SNI (server name indication) value for TLS.",
}

-- TODO: PEM contents are not parsed (no OpenSSL binding here); any string is accepted.
typedefs.certificate = define {
  type = "string",
  description = "A string representing a certificate.",
}

typedefs.key = define {
  type = "string",
  description = "A string representing a key.",
}

typedefs.tag = define {
  type = "string",
  required = true,
  custom_validator = native.tag,
  description = "A string representing a tag.",
}

typedefs.tags = define {
  type = "set",
  elements = typedefs.tag,
  description = "A set of strings representing tags.",
}

typedefs.protocols = define {
  type = "set",
  required = true,
  default = native.http_protocols,
  elements = typedefs.protocol,
  description = "A set of strings representing protocols.",
}

typedefs.protocols_http = define {
  type = "set",
  required = true,
  default = native.http_protocols,
  elements = { type = "string", one_of = native.http_protocols },
  description = "A set of strings representing HTTP protocols.",
}

local function ip_port_records(description)
  return define {
    type = "set",
    elements = {
      type = "record",
      fields = {
        { ip = typedefs.ip_or_cidr },
        { port = typedefs.port },
      },
      entity_checks = {
        { at_least_one_of = { "ip", "port" } },
      },
    },
    description = description,
  }
end

typedefs.sources = ip_port_records("A set of sources, each of which is a record with at least one of 'ip' or 'port'.")
typedefs.destinations = ip_port_records("A set of destinations, each of which is a record with at least one of 'ip' or 'port'.")

typedefs.methods = define {
  type = "set",
  elements = typedefs.http_method,
  description = "A set of strings representing HTTP methods. Each method must be a valid HTTP method.",
}

typedefs.hosts = define {
  type = "array",
  elements = {
    type = "string",
    match_all = {
      { pattern = "^[^*]*%*?[^*]*$", err = "invalid wildcard: must have at most one wildcard" },
    },
    match_any = {
      patterns = { "^%*%.", "%.%*$", "^[^*]*$" },
      err = "invalid wildcard: must be placed at leftmost or rightmost label",
    },
    custom_validator = function(host)
      return native.host_with_optional_port((host:gsub("%*", "abc")))
    end,
  },
  description = "An array of strings representing hosts. A valid host is a string containing one or more labels separated by periods, with at most one wildcard label ('*')",
}

typedefs.headers = define {
  type = "map",
  keys = typedefs.header_name,
  values = { type = "array", elements = { type = "string" } },
  description = "A map of header names to arrays of header values.",
}

typedefs.semantic_version = define {
  type = "string",
  match_any = {
    patterns = { "^%d+[%.%d]*$", "^%d+[%.%d]*%-?.*$" },
    err = "invalid version number: must be in format of X.Y.Z",
  },
  match_none = {
    { pattern = "%.%.", err = "must not have empty version segments" },
  },
  description = "A string representing a semantic version number in the format X.Y.Z(-build), where X, Y, and Z are integers, plus an optional hyphen-separated build identifier.",
}

-- TODO: key material is not checked against the keys (no OpenSSL binding here).
typedefs.pem = define {
  type = "record",
  required = false,
  fields = {
    { private_key = { type = "string", required = false, referenceable = true, encrypted = true } },
    { public_key = { type = "string", required = false, referenceable = true } },
  },
  entity_checks = {
    { at_least_one_of = { "private_key", "public_key" } },
  },
  description = "A pair of PEM-encoded public and private keys, which can be either a string or a reference to a credential in Kong Vault.",
}

local jwk_fields = {}
for _, name in ipairs { "issuer", "kty", "use", "key_ops", "alg", "kid", "x5u", "x5c", "x5t",
                        "x5t#S256", "k", "x", "y", "crv", "n", "e", "d", "p", "q", "dp", "dq",
                        "qi", "oth", "r", "t" } do
  local def = { type = "string", required = name == "kid" }
  if name == "key_ops" or name == "x5c" then
    def = { type = "array", required = false, elements = { type = "string", required = false } }
  end
  jwk_fields[#jwk_fields + 1] = { [name] = def }
end

-- TODO: the key is not loaded (no OpenSSL binding here).
typedefs.jwk = define {
  type = "record",
  required = false,
  fields = jwk_fields,
  description = "Custom type for representing a JSON Web Key (JWK).",
}

typedefs.queue = require "kong.tools.queue_schema"

typedefs.lua_code = define {
  type = "map",
  keys = { type = "string", len_min = 1 },
  values = { type = "string", len_min = 1, custom_validator = native.lua_code },
  description = "Lua code as a key-value map",
}

typedefs.ttl = define {
  type = "number",
  between = { 0, 100000000 },
  description = "Time-to-live value for data",
}

setmetatable(typedefs, {
  __index = function(_, k)
    error("schema typedef error: definition " .. k .. " does not exist", 2)
  end,
})

return typedefs
