-- kong.constants: the values Kong 3.x plugins read (headers, protocols, entities, dicts).
local bundled = {
  "jwt", "acl", "correlation-id", "cors", "oauth2", "tcp-log", "udp-log", "file-log",
  "http-log", "key-auth", "hmac-auth", "basic-auth", "ip-restriction",
  "request-transformer", "response-transformer", "request-size-limiting", "rate-limiting",
  "response-ratelimiting", "syslog", "loggly", "datadog", "ldap-auth", "statsd",
  "bot-detection", "aws-lambda", "request-termination", "prometheus", "proxy-cache",
  "session", "acme", "grpc-gateway", "grpc-web", "pre-function", "post-function",
  "azure-functions", "zipkin", "opentelemetry", "ai-proxy", "ai-prompt-decorator",
  "ai-prompt-template", "ai-prompt-guard", "ai-request-transformer",
  "ai-response-transformer", "standard-webhooks", "redirect",
}

local bundled_map = {}
for _, name in ipairs(bundled) do
  bundled_map[name] = true
end

local subsystems = {
  http = "http", https = "http", grpc = "http", grpcs = "http",
  tcp = "stream", tls = "stream", udp = "stream", tls_passthrough = "stream",
  ws = "http", wss = "http",
}

local protocols = {}
for name in pairs(subsystems) do
  protocols[#protocols + 1] = name
end
table.sort(protocols)

local core_entities = {
  "workspaces", "consumers", "certificates", "services", "routes", "snis", "upstreams",
  "targets", "plugins", "tags", "ca_certificates", "clustering_data_planes", "parameters",
  "vaults", "key_sets", "keys", "filter_chains",
}
for _, name in ipairs(core_entities) do
  core_entities[name] = true
end

local log_levels = {
  debug = ngx.DEBUG, info = ngx.INFO, notice = ngx.NOTICE, warn = ngx.WARN,
  error = ngx.ERR, crit = ngx.CRIT, alert = ngx.ALERT, emerg = ngx.EMERG,
}
-- Collect first: assigning new keys while `pairs` walks a table is undefined in Lua.
local by_level = {}
for name, level in pairs(log_levels) do
  by_level[level] = name
end
for level, name in pairs(by_level) do
  log_levels[level] = name
end

return {
  BUNDLED_PLUGINS = bundled_map,
  DEPRECATED_PLUGINS = {},
  BUNDLED_VAULTS = { env = true },
  DEPRECATED_VAULTS = {},
  HEADERS = {
    HOST_OVERRIDE = "X-Host-Override",
    PROXY_LATENCY = "X-Kong-Proxy-Latency",
    RESPONSE_LATENCY = "X-Kong-Response-Latency",
    ADMIN_LATENCY = "X-Kong-Admin-Latency",
    UPSTREAM_LATENCY = "X-Kong-Upstream-Latency",
    UPSTREAM_STATUS = "X-Kong-Upstream-Status",
    CONSUMER_ID = "X-Consumer-ID",
    CONSUMER_CUSTOM_ID = "X-Consumer-Custom-ID",
    CONSUMER_USERNAME = "X-Consumer-Username",
    CREDENTIAL_USERNAME = "X-Credential-Username",
    CREDENTIAL_IDENTIFIER = "X-Credential-Identifier",
    RATELIMIT_LIMIT = "X-RateLimit-Limit",
    RATELIMIT_REMAINING = "X-RateLimit-Remaining",
    CONSUMER_GROUPS = "X-Consumer-Groups",
    AUTHENTICATED_GROUPS = "X-Authenticated-Groups",
    FORWARDED_HOST = "X-Forwarded-Host",
    FORWARDED_PATH = "X-Forwarded-Path",
    FORWARDED_PREFIX = "X-Forwarded-Prefix",
    ANONYMOUS = "X-Anonymous-Consumer",
    REQUEST_ID = "X-Kong-Request-Id",
    VIA = "Via",
    SERVER = "Server",
  },
  CORE_ENTITIES = core_entities,
  ENTITY_CACHE_STORE = setmetatable({
    consumers = "cache", certificates = "core_cache", services = "core_cache",
    routes = "core_cache", snis = "core_cache", upstreams = "core_cache",
    targets = "core_cache", plugins = "core_cache", tags = "cache",
    ca_certificates = "core_cache", vaults = "core_cache", key_sets = "core_cache",
    keys = "core_cache",
  }, { __index = function() return "cache" end }),
  RATELIMIT = { PERIODS = { "second", "minute", "hour", "day", "month", "year" } },
  REPORTS = { ADDRESS = "kong-hf.konghq.com", STATS_TLS_PORT = 61830 },
  DICTS = {
    "kong", "kong_locks", "kong_db_cache", "kong_db_cache_miss", "kong_secrets",
    "kong_cluster_events", "kong_healthchecks", "kong_rate_limiting_counters",
  },
  DATABASE = { POSTGRES = { MIN = "9.5" }, DAO_MAX_TTL = 1e8 },
  PROTOCOLS = protocols,
  PROTOCOLS_WITH_SUBSYSTEM = subsystems,
  DECLARATIVE_LOAD_KEY = "declarative_config:loaded",
  DECLARATIVE_HASH_KEY = "declarative_config:hash",
  DECLARATIVE_EMPTY_CONFIG_HASH = string.rep("0", 32),
  PLUGINS_REBUILD_COUNTER_KEY = "readiness_probe_config:plugins_rebuild_counter",
  ROUTERS_REBUILD_COUNTER_KEY = "readiness_probe_config:routers_rebuild_counter",
  CLUSTER_ID_PARAM_KEY = "cluster_id",
  LOG_LEVELS = log_levels,
  DYN_LOG_LEVEL_KEY = "kong:dyn_log_level",
  DYN_LOG_LEVEL_TIMEOUT_AT_KEY = "kong:dyn_log_level_timeout_at",
}
