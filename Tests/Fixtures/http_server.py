"""Loopback HTTP server for URL-source tests. Prints its port, then serves until killed.

/etag      200 with ETag "v1"; 304 when If-None-Match matches
/lastmod   200 with Last-Modified; 304 when If-Modified-Since matches
/changing  a new body and ETag on every request
/fail      500          /slow   answers after 3 s        /big   2 MiB body
/redirect  302 → /etag  /loop   302 → /loop              /auth  401 unless "Authorization: Bearer s3cret"
/downgrade 302 → http://192.0.2.1/x (a non-loopback plaintext URL: must be refused, never fetched)
/queried   302 → /etag?token=abc      /otherhost  302 → http://localhost:PORT/auth (token must not follow)
Every request is logged to stderr as METHOD PATH + selected headers, for assertions.
"""
import http.server, sys, time

BODY = b'[{"date": "2025-03-03", "locality": "North", "metric": "cpp_count", "value": 96}]'
LASTMOD = "Mon, 03 Mar 2025 09:00:00 GMT"
counter = [0]

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def send(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self):
        sys.stderr.write(f"GET {self.path} inm={self.headers.get('If-None-Match')} ims={self.headers.get('If-Modified-Since')} "
                         f"auth={self.headers.get('Authorization')} x={self.headers.get('X-Team')}\n")
        sys.stderr.flush()
        p = self.path
        if p == "/etag":
            if self.headers.get("If-None-Match") == '"v1"':
                return self.send(304, headers=[("ETag", '"v1"')])
            return self.send(200, BODY, [("ETag", '"v1"'), ("Content-Type", "application/json")])
        if p == "/lastmod":
            if self.headers.get("If-Modified-Since") == LASTMOD:
                return self.send(304)
            return self.send(200, BODY, [("Last-Modified", LASTMOD)])
        if p == "/changing":
            counter[0] += 1
            return self.send(200, BODY.replace(b"96", str(96 + counter[0]).encode()), [("ETag", f'"c{counter[0]}"')])
        if p == "/fail":
            return self.send(500, b"boom")
        if p == "/slow":
            time.sleep(3)
            return self.send(200, BODY)
        if p == "/big":
            return self.send(200, b"x" * (2 << 20))
        if p == "/redirect":
            return self.send(302, headers=[("Location", "/etag")])
        if p == "/downgrade":
            return self.send(302, headers=[("Location", "http://192.0.2.1/x")])
        if p == "/queried":
            return self.send(302, headers=[("Location", "/etag?token=abc")])
        if p.startswith("/etag?"):
            return self.send(200, BODY, [("ETag", '"q1"')])
        if p == "/otherhost":
            return self.send(302, headers=[("Location", f"http://localhost:{self.server.server_port}/auth")])
        if p == "/loop":
            return self.send(302, headers=[("Location", "/loop")])
        if p == "/auth":
            if self.headers.get("Authorization") == "Bearer s3cret":
                return self.send(200, BODY)
            return self.send(401, b"no")
        self.send(404, b"nope")

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
