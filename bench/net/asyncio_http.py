#!/usr/bin/env python3
"""asyncio_http.py -- the Python baselines for bench/net.sh: the same minimal
keep-alive HTTP server as epoll_http.c (every "\\r\\n\\r\\n" answered with
examples/http_server's GET / reply, no validation), on asyncio's fastest
path (a Protocol, not streams), on the default loop or, with --uvloop,
on uvloop.

    asyncio_http.py PORT [--uvloop]     (0: any free port, printed on stdout)
"""
import asyncio
import signal
import sys

REPLY = (b"HTTP/1.1 200 OK\r\nServer: coop\r\nContent-Type: text/plain\r\n"
         b"Content-Length: 14\r\n\r\nHello, World!\n")


class Http(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.buf = b""

    def data_received(self, data):
        buf = self.buf + data
        n = buf.count(b"\r\n\r\n")
        if n:
            self.transport.write(REPLY * n)
            buf = buf[buf.rindex(b"\r\n\r\n") + 4:]
        if len(buf) > 8192:
            self.transport.close()
        self.buf = buf


async def main(port):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Http, "127.0.0.1", port, backlog=4096)
    print(server.sockets[0].getsockname()[1], flush=True)
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    await stop
    server.close()


if __name__ == "__main__":
    if "--uvloop" in sys.argv:
        import uvloop
        uvloop.install()
    asyncio.run(main(int(sys.argv[1])))
