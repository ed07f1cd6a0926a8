"""The HTTP service: Litestar controllers over the runtime, composed by `create_app`."""
