return { name = "bench-lua", fields = { { config = { type = "record", fields = {} } } } }
