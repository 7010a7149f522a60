return { name = "bench-access", fields = { { config = { type = "record", fields = {} } } } }
