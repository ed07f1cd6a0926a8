"""The edges: the command line and the HTTP service."""
