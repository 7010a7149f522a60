-- kong.tools.queue_schema: the `queue` record of the logging plugins (http-log, ...).

local Schema = require "kong.db.schema"

return Schema.define {
  type = "record",
  fields = {
    { max_batch_size = { type = "integer", default = 1, between = { 1, 1000000 },
        description = "Maximum number of entries that can be processed at a time." } },
    { max_coalescing_delay = { type = "number", default = 1, between = { 0, 3600 },
        description = "Maximum number of (fractional) seconds to elapse after the first entry was queued before the queue starts calling the handler." } },
    { max_entries = { type = "integer", default = 10000, between = { 1, 1000000 },
        description = "Maximum number of entries that can be waiting on the queue." } },
    { max_bytes = { type = "integer",
        description = "Maximum number of bytes that can be waiting on a queue, requires string content." } },
    { max_retry_time = { type = "number", default = 60,
        description = "Time in seconds before the queue gives up calling a failed handler for a batch." } },
    { initial_retry_delay = { type = "number", default = 0.01, between = { 0.001, 1000000 },
        description = "Time in seconds before the initial retry is made for a failing batch." } },
    { max_retry_delay = { type = "number", default = 60, between = { 0.001, 1000000 },
        description = "Maximum time in seconds between retries, caps exponential backoff." } },
    { concurrency_limit = { type = "integer", default = 1, one_of = { -1, 1 },
        description = "The number of queue delivery timers. -1 indicates unlimited." } },
  },
}
