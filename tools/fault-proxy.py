#!/usr/bin/env python3
"""A small asyncio TCP/HTTP proxy that injects faults in front of an HTTP endpoint (moto S3, a
sparkplane server) for the export tests (issue 8).

  fault-proxy.py --target 127.0.0.1:PORT --mode MODE [--listen-port 0] [--slow-seconds 60]

Modes:
  pass     forward bytes both ways unchanged
  down     accept each connection and reset it at once (the endpoint is down)
  slow     read the request, then answer nothing for --slow-seconds (default 60) before forwarding
  http500  answer every request with `500 Internal Server Error` (an S3-style XML error body)

Prints `LISTENING <port>` on stdout once it accepts connections (port 0 picks a free one) and
runs until killed. Listens on 127.0.0.1 only.
"""
import argparse
import asyncio
import socket
import struct
import sys

ERROR_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
    b"<Message>fault-proxy: injected failure</Message></Error>\n"
)


async def read_request(reader):
    """Reads one HTTP request (headers and a Content-Length body); returns its bytes."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip() or 0)
    body = await reader.readexactly(length) if length else b""
    return head + body


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def forward(client_reader, client_writer, target, first=b""):
    host, port = target
    up_reader, up_writer = await asyncio.open_connection(host, port)
    if first:
        up_writer.write(first)
        await up_writer.drain()
    await asyncio.gather(pipe(client_reader, up_writer), pipe(up_reader, client_writer))


def handler(mode, target, slow_seconds):
    async def handle(reader, writer):
        try:
            if mode == "down":
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    # SO_LINGER 0: close with a reset, as a dead endpoint's host would.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                return
            if mode == "http500":
                while True:
                    await read_request(reader)
                    writer.write(
                        b"HTTP/1.1 500 Internal Server Error\r\n"
                        b"Content-Type: application/xml\r\n"
                        + b"Content-Length: %d\r\n\r\n" % len(ERROR_BODY)
                        + ERROR_BODY
                    )
                    await writer.drain()
            if mode == "slow":
                first = await read_request(reader)
                await asyncio.sleep(slow_seconds)
                await forward(reader, writer, target, first)
                return
            await forward(reader, writer, target)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            try:
                writer.close()
            except Exception:
                pass

    return handle


async def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target", required=True, help="HOST:PORT of the real endpoint")
    p.add_argument("--mode", required=True, choices=["pass", "down", "slow", "http500"])
    p.add_argument("--listen-port", type=int, default=0)
    p.add_argument("--slow-seconds", type=float, default=60.0)
    a = p.parse_args()
    host, _, port = a.target.rpartition(":")
    server = await asyncio.start_server(
        handler(a.mode, (host, int(port)), a.slow_seconds), "127.0.0.1", a.listen_port
    )
    print("LISTENING %d" % server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
