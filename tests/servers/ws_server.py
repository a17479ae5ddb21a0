#!/usr/bin/python3
"""WebSocket peer for courier's integration tests (python3-websockets 10.4, legacy asyncio API).

One server, routed by request path, listening on --port (ws) and, when --tls-port is given,
on --tls-port (wss) with --cert/--key. Paths:

  /echo               echoes every message as received (text stays text, binary stays binary)
  /echo-deflate       same; permessage-deflate is negotiated when the client offers it (on
                      every path: that is websockets' default)
  /subprotocol        accepts chat.v1 and chat.v2 (the first one the client offers wins), sends
                      "selected:<proto>" ("selected:" when none was agreed), then echoes
  /close-after-hello  sends text "hello", then closes with 1001 "going away"
  /ping               sends a ping with payload "are you there", then echoes
  /headers            sends the request headers as one JSON text message (an object whose keys
                      are the lower-cased names; repeated fields joined with ", "), then echoes
  /reject-401         refuses the upgrade: HTTP 401 with the body "no entry"
  /plain-200          answers HTTP 200 with a plain-text body instead of upgrading
  /bytes/N            sends one binary message of N bytes (byte i is i % 256), then echoes

Any other path gets HTTP 404. Keep-alive pings from the server are off, so tests see only the
frames they asked for. Run with /usr/bin/python3 (Debian's interpreter has the package).
"""

import argparse
import asyncio
import http
import json
import logging
import signal
import ssl
import sys

import websockets
from websockets.legacy.server import WebSocketServerProtocol

from pid_file import write_pid_file  # beside this script

SUBPROTOCOLS = ["chat.v1", "chat.v2"]
# Large enough for the client's own 16 MiB default limit to be the one that is tested.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
MAX_BYTES_PATH = 64 * 1024 * 1024
PING_PAYLOAD = b"are you there"


def route_of(path):
    """The request path without its query."""
    return path.split("?", 1)[0]


def bytes_count(route):
    """N for /bytes/N, or None when the route is not a valid /bytes/N."""
    prefix = "/bytes/"
    if not route.startswith(prefix):
        return None
    digits = route[len(prefix):]
    if not digits.isdigit() or len(digits) > 9:
        return None
    count = int(digits)
    return count if count <= MAX_BYTES_PATH else None


def pattern_bytes(count):
    block = bytes(range(256))
    return (block * (count // 256 + 1))[:count]


KNOWN_ROUTES = {
    "/echo",
    "/echo-deflate",
    "/subprotocol",
    "/close-after-hello",
    "/ping",
    "/headers",
}


class TestProtocol(WebSocketServerProtocol):
    async def process_request(self, path, request_headers):
        route = route_of(path)
        if route == "/reject-401":
            return (
                http.HTTPStatus.UNAUTHORIZED,
                [("Content-Type", "text/plain"), ("WWW-Authenticate", 'Bearer realm="courier"')],
                b"no entry",
            )
        if route == "/plain-200":
            return (http.HTTPStatus.OK, [("Content-Type", "text/plain")], b"not a websocket\n")
        if route in KNOWN_ROUTES or bytes_count(route) is not None:
            return None
        return (http.HTTPStatus.NOT_FOUND, [("Content-Type", "text/plain")], b"no such path\n")

    def select_subprotocol(self, client_subprotocols, server_subprotocols):
        # Only /subprotocol agrees to one, and deterministically: the client's first choice.
        if route_of(self.path) != "/subprotocol":
            return None
        for offered in client_subprotocols:
            if offered in server_subprotocols:
                return offered
        return None


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def handle(ws):
    route = route_of(ws.path)
    if route == "/subprotocol":
        await ws.send("selected:" + (ws.subprotocol or ""))
    elif route == "/close-after-hello":
        await ws.send("hello")
        await ws.close(1001, "going away")
        return
    elif route == "/ping":
        await ws.ping(PING_PAYLOAD)
    elif route == "/headers":
        seen = {}
        for name, value in ws.request_headers.raw_items():
            key = name.lower()
            seen[key] = seen[key] + ", " + value if key in seen else value
        await ws.send(json.dumps(seen))
    else:
        count = bytes_count(route)
        if count is not None:
            await ws.send(pattern_bytes(count))
    await echo(ws)


async def serve(args):
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))

    common = dict(
        create_protocol=TestProtocol,
        subprotocols=SUBPROTOCOLS,
        max_size=MAX_MESSAGE_BYTES,
        ping_interval=None,
        close_timeout=5,
    )
    servers = [await websockets.serve(handle, args.host, args.port, **common)]
    if args.tls_port:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        servers.append(await websockets.serve(handle, args.host, args.tls_port, ssl=context, **common))

    if args.pid_file:
        write_pid_file(args.pid_file)
    try:
        await stop
    finally:
        for server in servers:
            server.close()
        for server in servers:
            await server.wait_closed()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tls-port", type=int)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--pid-file")
    args = parser.parse_args()
    if args.tls_port and not (args.cert and args.key):
        parser.error("--tls-port needs --cert and --key")
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
