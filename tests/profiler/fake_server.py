"""The end every fake vLLM script shares: answer /v1/models on `port` until stopped (the
readiness probe the profiler polls). Appended to each fake's own start."""

SERVE_MODELS = """
class Models(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/v1/models" else 404)
        self.end_headers()
        self.wfile.write(b'{"data": []}')

http.server.HTTPServer(("127.0.0.1", port), Models).serve_forever()
"""
