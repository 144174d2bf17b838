#!/usr/bin/env python3
"""A gate from docs/protocol.md in Python, for tests that need one in
another process: every request is answered with its own payload, oneways
are dropped, malformed frames close the connection. Listens on
127.0.0.1, any free port, which it prints on stdout (one line); exits
when stdin closes or after --seconds."""
import argparse
import asyncio
import struct
import sys

PREFACE = b"SKY\x01"


async def serve(reader, writer):
    try:
        if await reader.readexactly(4) != PREFACE:
            return
        writer.write(PREFACE)
        while True:
            length, kind, _flags, _res, session, method = struct.unpack(">IBBHII", await reader.readexactly(16))
            if length < 12 or length > (1 << 20) or kind not in (1, 4):
                return
            payload = await reader.readexactly(length - 12)
            if kind == 1:
                writer.write(struct.pack(">IBBHII", 12 + len(payload), 2, 0, 0, session, method) + payload)
                await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=120)
    args = ap.parse_args()
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    await asyncio.wait_for(stdin_closed, args.seconds)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except asyncio.TimeoutError:
        pass
