#!/usr/bin/python3
"""A WebSocket server that tests `courier ws --echo` (a client) from the other side.

It sends messages (text, binary, fragmented, large, unicode, empty), checks that each comes
back unchanged and with the same type, then ends the connection the way --mode says:

  clean      closes with 1000 "done"
  badutf8    sends a text frame holding invalid UTF-8 (the client must fail the connection
             with 1007) and records the close code the client sent
  compressed like clean, and records whether permessage-deflate was negotiated

Prints the port it listens on as the first line, then one JSON line with the results once a
client has been served, and exits. Bounded: it gives up after --timeout seconds.
Run with /usr/bin/python3 (python3-websockets 10.4).
"""

import argparse
import asyncio
import json
import os
import sys

import websockets

CASES = [
    ("text", "hello"),
    ("binary", bytes(range(256))),
    ("fragmented text", ["frag", "men", "ted \u2713"]),
    ("fragmented binary", [b"\x00\x01", b"\x02\x03", b"\xff"]),
    ("large binary", os.urandom(3 * 1024 * 1024)),
    ("large text", "0123456789abcdef" * 65536),
    ("unicode", "h\u00e9llo w\u00f6rld \u2713 \U0001F680"),
    ("empty text", ""),
    ("empty binary", b""),
]


def joined(payload):
    if isinstance(payload, list):
        return payload[0][:0].join(payload)
    return payload


async def serve_one(mode, timeout):
    done = asyncio.get_running_loop().create_future()

    async def handler(ws, path=None):
        result = {"cases": [], "extensions": [type(e).__name__ for e in ws.extensions]}
        try:
            for name, payload in CASES:
                await ws.send(payload)
                got = await asyncio.wait_for(ws.recv(), timeout)
                want = joined(payload)
                result["cases"].append({
                    "case": name,
                    "ok": type(got) is type(want) and got == want,
                    "got_type": type(got).__name__,
                    "got_len": len(got),
                })
            if mode == "badutf8":
                # An unmasked text frame with an invalid UTF-8 payload, past websockets' checks.
                ws.transport.write(b"\x81\x02\xff\xfe")
                try:
                    await asyncio.wait_for(ws.recv(), timeout)
                except websockets.ConnectionClosed:
                    pass
            else:
                await ws.close(1000, "done")
            await asyncio.wait_for(ws.wait_closed(), timeout)
            result["client_close_code"] = ws.close_code
        except Exception as e:  # reported to the test, which fails with it
            result["exception"] = repr(e)
        if not done.done():
            done.set_result(result)

    async with websockets.serve(handler, "127.0.0.1", 0, max_size=64 * 1024 * 1024,
                                ping_interval=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        try:
            result = await asyncio.wait_for(done, timeout * 3)
        except asyncio.TimeoutError:
            result = {"exception": "no client was served in time"}
    print(json.dumps(result), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["clean", "badutf8", "compressed"], default="clean")
    parser.add_argument("--timeout", type=float, default=20)
    args = parser.parse_args()
    asyncio.run(serve_one(args.mode, args.timeout))


if __name__ == "__main__":
    sys.exit(main())
