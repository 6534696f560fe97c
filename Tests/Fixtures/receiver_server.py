"""Loopback webhook receiver for notification tests.
Usage: receiver_server.py OUTDIR [CERT KEY] [--port N]
Prints its port, then serves until killed. Every POST is saved as OUTDIR/NNNN.json:
{"path", "headers", "body"}. Paths: /ok → 200, /accepted → 202 (as Teams Workflows answer), /fail → 500,
/bad → 400, /busy → 429 with Retry-After: 7, /flaky → 500 for the first request then 200,
/slow → 200 after 2 seconds (the request is saved before the wait), /hang → never answered (saved first),
/first-fails → 500 the first time a body is seen, then 200. Each record also has "at" (Unix seconds) and
"active" (requests being handled when it arrived, itself included).
With CERT and KEY it serves HTTPS; --port binds a given port (to bring a "down" receiver back).
"""
import http.server, json, os, ssl, sys, threading, time

args = sys.argv[1:]
port = 0
if "--port" in args:
    i = args.index("--port")
    port = int(args[i + 1])
    del args[i:i + 2]
out = args[0]
os.makedirs(out, exist_ok=True)
lock = threading.Lock()
count = [0]
flaky = [0]
active = [0]
seen = set()

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            count[0] += 1
            n = count[0]
            active[0] += 1
            now_active = active[0]
            if self.path == "/flaky":
                flaky[0] += 1
            first_sight = body not in seen
            seen.add(body)
        try:
            self.answer(n, body, now_active, first_sight)
        finally:
            with lock:
                active[0] -= 1

    def answer(self, n, body, now_active, first_sight):
        record = {"path": self.path, "headers": {k: v for k, v in self.headers.items()}, "body": body.decode("utf-8"),
                  "at": time.time(), "active": now_active}
        tmp = os.path.join(out, f".{n:06d}.tmp")
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(out, f"{n:06d}.json"))
        status, headers = 200, []
        if self.path == "/slow":
            time.sleep(2)
        if self.path == "/hang":
            time.sleep(3600)
        if self.path == "/fail" or (self.path == "/flaky" and flaky[0] <= 1) or (self.path == "/first-fails" and first_sight):
            status = 500
        elif self.path == "/accepted":
            status = 202
        elif self.path == "/bad":
            status = 400
        elif self.path == "/busy":
            status, headers = 429, [("Retry-After", "7")]
        reply = b'{"ok": true}' if status < 300 else b'{"error": "no"}'
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

http.server.ThreadingHTTPServer.allow_reuse_address = True
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
if len(args) > 2:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args[1], args[2])
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
