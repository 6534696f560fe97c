"""A loopback webhook receiver that is not the bottleneck: asyncio, HTTP/1.1 keep-alive, answers 200 and
counts requests (Python's threaded http.server tops out near 2,000 requests/s). Prints its port, then
serves until killed; SIGUSR1 prints the count of requests received so far to stderr.
Usage: receiver_async.py
"""
import asyncio, signal, socket, sys

count = 0
REPLY = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}"

class Receiver(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data):
        global count
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
            self.buffer = self.buffer[end + 4 + length:]
            count += 1
            self.transport.write(REPLY)

async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Receiver, "127.0.0.1", 0)
    loop.add_signal_handler(signal.SIGUSR1, lambda: print(count, file=sys.stderr, flush=True))
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()

asyncio.run(main())
