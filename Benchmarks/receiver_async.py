"""A loopback webhook receiver that is not the bottleneck (Python's threaded http.server tops out near
2,000 requests/s): asyncio, HTTP/1.1 keep-alive, TCP_NODELAY, answers 200 at once. Used by the fan-out and
burst benchmarks.
It remembers when each delivery arrived (CLOCK_MONOTONIC, comparable across processes) and under which
key: the Idempotency-Key header (tidemark) or each alert's labels (Alertmanager has no such header), so
a repeat is counted, never hidden. Prints its port, then serves until killed.

  GET /stats   → {"count", "distinct", "repeats", "first", "last"} since the last reset
  GET /arrivals → every distinct delivery's first arrival, sorted (where a burst's deliveries bunch or stall)
  POST /reset  → forgets everything
  POST /hang/… → accepts the request and never answers (a receiver that hangs)
Usage: receiver_async.py
"""
import asyncio, json, socket, time

arrivals = {}     # key → first arrival (monotonic seconds)
count = 0
REPLY = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}"


def keys_of(head, body):
    for line in head.split("\r\n"):
        if line.startswith("idempotency-key:"):
            return [line.split(":", 1)[1].strip()]
    try:
        payload = json.loads(body)
        return [json.dumps(a["labels"], sort_keys=True) + a.get("status", "") for a in payload.get("alerts", [])]
    except (ValueError, KeyError):
        return [f"unparsed-{count}"]


class Receiver(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data):
        global count, arrivals
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").lower()
            length = 0
            for line in head.split("\r\n"):
                if line.startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4:end + 4 + length]
            self.buffer = self.buffer[end + 4 + length:]
            request_line = head.split("\r\n", 1)[0]
            if request_line.startswith("get /stats"):
                times = list(arrivals.values())
                stats = {"count": count, "distinct": len(arrivals), "repeats": count - len(arrivals),
                         "first": min(times) if times else None, "last": max(times) if times else None}
                text = json.dumps(stats).encode()
                self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(text), text))
                continue
            if request_line.startswith("get /arrivals"):
                text = json.dumps(sorted(arrivals.values())).encode()
                self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(text), text))
                continue
            if request_line.startswith("post /reset"):
                arrivals, count = {}, 0
                self.transport.write(REPLY)
                continue
            if request_line.startswith("post /hang"):
                continue                       # never answered
            now = time.monotonic()
            for key in keys_of(head, body):
                count += 1
                arrivals.setdefault(key, now)
            self.transport.write(REPLY)


async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Receiver, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()

asyncio.run(main())
