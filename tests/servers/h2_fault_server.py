#!/usr/bin/python3
"""An HTTP/2 server that misbehaves on request, built on python3-h2 (not on courier's code), so
that courier's HTTP/2 client is checked against an implementation it shares nothing with.

Listeners, all on 127.0.0.1:
  --tls-port     TLS offering h2 and http/1.1 with ALPN
  --h2c-port     cleartext HTTP/2 with prior knowledge
  --h1-tls-port  TLS offering http/1.1 only (the target of the cross-protocol redirect)
  --flip-port    TLS offering h2 and http/1.1, or http/1.1 only after a request for
                 /flip?to=h1 (until /flip?to=h2): an origin that stops speaking h2
A client that ends up speaking HTTP/1.1 gets a short plain answer, and the log says so.

The path picks the behaviour (see BEHAVIOURS below); the query is free for a test's own token,
so a test finds its requests in the log. Every connection and request is appended as one JSON
line to --log (and GET /_log returns the lines so far): the protocol spoken, the connection id,
the stream, the method and the path.

Invalid frames that h2 refuses to produce (bad headers, PUSH_PROMISE to a client that disabled
push, DATA beyond the window) are written by hand with hyperframe, their header blocks encoded
with the connection's own HPACK encoder so that its table stays in step with the client's.
Bounded: at most MAX_CONNECTIONS at once, every wait has a deadline, and an error on one
connection only ends that connection.
"""

import argparse
import asyncio
import hashlib
import itertools
import json
import logging
import signal
import ssl
import sys
import time
import urllib.parse

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from h2.errors import ErrorCodes
from hyperframe.frame import (ContinuationFrame, DataFrame, HeadersFrame,
                              PingFrame, PushPromiseFrame, SettingsFrame)

from pid_file import write_pid_file  # beside this script

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
MAX_CONNECTIONS = 64
IDLE_TIMEOUT_S = 30      # a connection with nothing to read for this long is closed
WINDOW_WAIT_S = 20       # a body that the client's flow-control window holds back this long ends
NEVER_ANSWER_S = 60      # /never holds the stream at most this long
MAX_UPLOAD = 64 << 20    # /echo keeps at most this much
OK_BODY = b"hello from the h2 fault server\n"


def pattern(size):
    """size bytes of a fixed pattern whose every 256-byte block differs (hashable, checkable)."""
    block = bytes(range(256))
    out = bytearray()
    i = 0
    while len(out) < size:
        out += hashlib.sha256(block + i.to_bytes(4, "big")).digest() * 8
        i += 1
    return bytes(out[:size])


class Log:
    def __init__(self, path):
        self.path = path
        self.lines = []

    def add(self, **entry):
        entry["time"] = round(time.time(), 3)
        line = json.dumps(entry, sort_keys=True)
        self.lines.append(line)
        if len(self.lines) > 10000:
            del self.lines[:5000]
        if self.path:
            with open(self.path, "a") as f:
                f.write(line + "\n")


class Counters:
    """What must differ between a client's first and second try, per test token."""

    def __init__(self):
        self.seen = {}

    def first_time(self, key):
        n = self.seen.get(key, 0)
        self.seen[key] = n + 1
        return n == 0


class H2Session:
    """One HTTP/2 connection: reads frames into h2, answers each finished request in a task."""

    def __init__(self, server, reader, writer, conn_id, listener):
        self.server = server
        self.reader = reader
        self.writer = writer
        self.conn_id = conn_id
        self.listener = listener
        config = h2.config.H2Configuration(client_side=False, header_encoding=None)
        self.h2 = h2.connection.H2Connection(config=config)
        self.requests = {}   # stream id -> [headers, bytearray body]
        self.reset = set()   # streams the client reset
        self.window_moved = asyncio.Event()
        self.tasks = set()
        self.closed = False

    # --- writing ---------------------------------------------------------------------------
    def check_open(self):
        if self.closed or self.writer.transport.is_closing() or self.reader.at_eof():
            raise ConnectionResetError("the client is gone")

    async def flush(self):
        data = self.h2.data_to_send()
        if data:
            self.check_open()
            self.writer.write(data)
            await self.writer.drain()

    async def raw(self, *frames):
        """Writes frames as given, after whatever h2 has queued."""
        await self.flush()
        self.check_open()
        self.writer.write(b"".join(f if isinstance(f, bytes) else f.serialize() for f in frames))
        await self.writer.drain()

    def header_block(self, headers):
        return self.h2.encoder.encode(
            [(k.encode() if isinstance(k, str) else k, v.encode() if isinstance(v, str) else v)
             for k, v in headers])

    async def raw_headers(self, stream_id, headers, end_stream=False):
        frame = HeadersFrame(stream_id)
        frame.data = self.header_block(headers)
        frame.flags.add("END_HEADERS")
        if end_stream:
            frame.flags.add("END_STREAM")
        await self.raw(frame)

    async def send_body(self, stream_id, body, end_stream=True, chunk=None):
        """Sends body within the client's flow-control windows."""
        off = 0
        while off < len(body):
            if stream_id in self.reset or self.closed:
                return False
            window = self.h2.local_flow_control_window(stream_id)
            if window <= 0:
                self.window_moved.clear()
                await self.flush()
                try:
                    await asyncio.wait_for(self.window_moved.wait(), WINDOW_WAIT_S)
                except asyncio.TimeoutError:
                    return False
                continue
            n = min(window, self.h2.max_outbound_frame_size, len(body) - off, chunk or len(body))
            self.h2.send_data(stream_id, body[off:off + n])
            off += n
            await self.flush()
        if end_stream:
            self.h2.end_stream(stream_id)
        await self.flush()
        return True

    # --- reading ---------------------------------------------------------------------------
    async def run(self, already_read=b""):
        self.h2.initiate_connection()
        await self.flush()
        data = already_read
        while True:
            # After our GOAWAY h2 takes no more frames: it would answer the client's next one
            # with a second GOAWAY (PROTOCOL_ERROR) that hides the first.
            if data and self.h2.state_machine.state != h2.connection.ConnectionState.CLOSED:
                try:
                    events = self.h2.receive_data(data)
                except h2.exceptions.ProtocolError:
                    await self.flush()  # h2's GOAWAY
                    return
                for event in events:
                    self.on_event(event)
                await self.flush()
            try:
                data = await asyncio.wait_for(self.reader.read(65536), IDLE_TIMEOUT_S)
            except asyncio.TimeoutError:
                return
            if not data:
                return

    def on_event(self, event):
        if isinstance(event, h2.events.RequestReceived):
            self.requests[event.stream_id] = [dict(event.headers), bytearray()]
            if event.stream_ended is not None:
                self.start(event.stream_id)
        elif isinstance(event, h2.events.DataReceived):
            req = self.requests.get(event.stream_id)
            if req is not None and len(req[1]) < MAX_UPLOAD:
                req[1] += event.data
            self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            if event.stream_id in self.requests:
                self.start(event.stream_id)
        elif isinstance(event, h2.events.StreamReset):
            self.reset.add(event.stream_id)
            self.window_moved.set()
        elif isinstance(event, (h2.events.WindowUpdated, h2.events.RemoteSettingsChanged)):
            self.window_moved.set()
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.window_moved.set()

    def start(self, stream_id):
        headers, body = self.requests.pop(stream_id)
        task = asyncio.ensure_future(self.answer(stream_id, headers, bytes(body)))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def answer(self, stream_id, headers, body):
        method = headers.get(b":method", b"").decode()
        target = headers.get(b":path", b"/").decode()
        path, _, query = target.partition("?")
        params = dict(urllib.parse.parse_qsl(query))
        self.server.log.add(event="request", conn=self.conn_id, listener=self.listener,
                            proto="h2", stream=stream_id, method=method, path=path, query=query,
                            body_bytes=len(body))
        handler = BEHAVIOURS.get(path, not_found)
        try:
            await handler(self, stream_id, params, body)
        except (ConnectionError, h2.exceptions.H2Error, ssl.SSLError):
            pass

    async def close(self):
        self.closed = True
        for t in list(self.tasks):
            t.cancel()
        try:
            self.writer.close()
        except (OSError, RuntimeError):
            pass


# --- behaviours: each answers one stream ------------------------------------------------------
async def respond(s, stream_id, status, body=b"", headers=(), trailers=None):
    hdrs = [(":status", str(status)), ("content-length", str(len(body)))] + list(headers)
    s.h2.send_headers(stream_id, hdrs, end_stream=not body and not trailers)
    await s.flush()
    if body and not await s.send_body(stream_id, body, end_stream=not trailers):
        return
    if trailers:
        s.h2.send_headers(stream_id, trailers, end_stream=True)
        await s.flush()


async def ok(s, sid, params, body):
    await respond(s, sid, 200, OK_BODY, [("content-type", "text/plain")],
                  trailers=[("x-checksum", hashlib.sha256(OK_BODY).hexdigest()[:16])])


async def not_found(s, sid, params, body):
    await respond(s, sid, 404, b"no such behaviour\n")


async def log_lines(s, sid, params, body):
    await respond(s, sid, 200, ("\n".join(s.server.log.lines) + "\n").encode(),
                  [("content-type", "application/x-ndjson")])


async def rst(s, sid, params, body):
    """Headers, `after` bytes of body, then RST_STREAM with `code` (INTERNAL_ERROR by default)."""
    code = int(params.get("code", ErrorCodes.INTERNAL_ERROR))
    s.h2.send_headers(sid, [(":status", "200"), ("content-length", "100000")])
    await s.send_body(sid, b"x" * int(params.get("after", 1000)), end_stream=False)
    await asyncio.sleep(0.05)
    s.h2.reset_stream(sid, error_code=code)
    await s.flush()


async def goaway_before(s, sid, params, body):
    """First try: GOAWAY whose last-stream-id is below this stream (it was never processed, so
    it is safe to retry on a new connection). Later tries: 200 with the request body, if any."""
    if s.server.counters.first_time(("goaway", params.get("t"))):
        s.h2.close_connection(error_code=ErrorCodes.NO_ERROR, last_stream_id=max(sid - 2, 0))
        await s.flush()
        await asyncio.sleep(0.5)
        await s.close()
        return
    await respond(s, sid, 200, body or b"answered after GOAWAY\n")


async def goaway_after(s, sid, params, body):
    """The whole answer, then GOAWAY naming this stream as the last one processed."""
    await respond(s, sid, 200, OK_BODY)
    s.h2.close_connection(error_code=ErrorCodes.NO_ERROR, last_stream_id=sid)
    await s.flush()


async def goaway_mid_body(s, sid, params, body):
    """Half a body, then GOAWAY with `code` naming this stream as processed, and the end of the
    connection: the stream can neither finish nor be retried."""
    s.h2.send_headers(sid, [(":status", "200"), ("content-length", "2000")])
    await s.send_body(sid, b"g" * 1000, end_stream=False)
    s.h2.close_connection(error_code=int(params.get("code", ErrorCodes.PROTOCOL_ERROR)),
                          additional_data=b"going away mid-body", last_stream_id=sid)
    await s.flush()
    await asyncio.sleep(0.2)
    await s.close()


async def drop_mid_body(s, sid, params, body):
    """Half a body, then the TCP connection closes without another frame."""
    s.h2.send_headers(sid, [(":status", "200"), ("content-length", "2000")])
    await s.send_body(sid, b"d" * 1000, end_stream=False)
    await asyncio.sleep(0.1)
    await s.close()


async def refused(s, sid, params, body):
    """First try: RST_STREAM REFUSED_STREAM (not processed, safe to retry). Later tries: 200 with
    the request body, if any."""
    if s.server.counters.first_time(("refused", params.get("t"))):
        s.h2.reset_stream(sid, error_code=ErrorCodes.REFUSED_STREAM)
        await s.flush()
        return
    await respond(s, sid, 200, body or b"answered after REFUSED_STREAM\n")


async def bad_headers(s, sid, headers, end_stream=False, body=None):
    await s.raw_headers(sid, headers, end_stream=end_stream)
    if body is not None:
        frame = DataFrame(sid, body)
        frame.flags.add("END_STREAM")
        await s.raw(frame)


async def conn_header(s, sid, params, body):
    await bad_headers(s, sid, [(":status", "200"), ("connection", "keep-alive"),
                               ("content-length", "3")], body=b"bad")


async def upper_header(s, sid, params, body):
    await bad_headers(s, sid, [(":status", "200"), ("X-Upper-Case", "1"),
                               ("content-length", "3")], body=b"bad")


async def no_status(s, sid, params, body):
    await bad_headers(s, sid, [("content-type", "text/plain"), ("content-length", "3")],
                      body=b"bad")


async def length_short(s, sid, params, body):
    """content-length says 100, the DATA carries 10 and ends the stream."""
    await bad_headers(s, sid, [(":status", "200"), ("content-length", "100")], body=b"0123456789")


async def length_long(s, sid, params, body):
    """content-length says 5, the DATA carries 10."""
    await bad_headers(s, sid, [(":status", "200"), ("content-length", "5")], body=b"0123456789")


async def push(s, sid, params, body):
    """A PUSH_PROMISE, though the client's SETTINGS_ENABLE_PUSH is 0; then a normal answer."""
    frame = PushPromiseFrame(sid, promised_stream_id=2)
    frame.data = s.header_block([(":method", "GET"), (":scheme", "https"),
                                 (":authority", "localhost"), (":path", "/pushed")])
    frame.flags.add("END_HEADERS")
    await s.raw(frame)
    await respond(s, sid, 200, OK_BODY)


async def flood(s, sid, make_frame, count):
    """count frames that ask nothing useful of the client, then (if still connected) a 200."""
    s.h2.send_headers(sid, [(":status", "200"), ("content-length", str(len(OK_BODY)))])
    await s.flush()
    batch = 500
    for i in range(0, count, batch):
        await s.raw(b"".join(make_frame(j).serialize() for j in range(i, min(count, i + batch))))
    await s.send_body(sid, OK_BODY)


async def ping_flood(s, sid, params, body):
    await flood(s, sid, lambda i: PingFrame(0, i.to_bytes(8, "big")), int(params.get("n", 10000)))


async def settings_flood(s, sid, params, body):
    await flood(s, sid, lambda i: SettingsFrame(0), int(params.get("n", 10000)))


async def data_flood(s, sid, params, body):
    await flood(s, sid, lambda i: DataFrame(sid, b""), int(params.get("n", 10000)))


async def huge_headers(s, sid, params, body):
    """About 1 MiB of header fields in one HEADERS and many CONTINUATION frames."""
    fields = [(":status", "200")] + [("x-filler-%d" % i, "v" * 1000) for i in range(1024)]
    block = s.header_block(fields)
    step = 16384
    frames = []
    for off in range(0, len(block), step):
        f = HeadersFrame(sid) if off == 0 else ContinuationFrame(sid)
        f.data = block[off:off + step]
        if off + step >= len(block):
            f.flags.add("END_HEADERS")
        frames.append(f)
    await s.raw(*frames)
    await s.send_body(sid, OK_BODY)


async def flow_violation(s, sid, params, body):
    """DATA frames beyond the window the client gave this stream (and the connection)."""
    s.h2.send_headers(sid, [(":status", "200")])
    await s.flush()
    window = max(s.h2.local_flow_control_window(sid), 0)
    extra = int(params.get("extra", 32768))
    total = window + extra
    size = s.h2.max_outbound_frame_size
    frames = [DataFrame(sid, b"f" * min(size, total - off)) for off in range(0, total, size)]
    frames[-1].flags.add("END_STREAM")  # a client that misses the violation sees a whole answer
    await s.raw(*frames)


async def max_concurrent(s, sid, params, body):
    """Lowers SETTINGS_MAX_CONCURRENT_STREAMS to 1 and redirects along `hops` more paths."""
    s.h2.update_settings({h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 1})
    await s.flush()
    hops = int(params.get("hops", 3))
    if hops > 0:
        params = dict(params, hops=str(hops - 1))
        await respond(s, sid, 302, b"", [("location", "/max-concurrent?"
                                          + urllib.parse.urlencode(params))])
    else:
        await respond(s, sid, 200, b"one stream at a time\n")


async def drip(s, sid, params, body):
    """20 pieces of 10 bytes, 50 ms apart."""
    pieces = int(params.get("pieces", 20))
    s.h2.send_headers(sid, [(":status", "200"), ("content-length", str(10 * pieces))])
    await s.flush()
    for i in range(pieces):
        if not await s.send_body(sid, b"%09d\n" % i, end_stream=False):
            return
        await asyncio.sleep(0.05)
    s.h2.end_stream(sid)
    await s.flush()


async def records(s, sid, params, body):
    """The body in `pieces` DATA frames of 10 bytes, each written on its own (over TLS, a record
    each) and sent together; with close=1, GOAWAY naming this stream and the end of the
    connection follow at once. The client's reads hold many records at a time."""
    pieces = min(int(params.get("pieces", 300)), 5000)
    s.h2.send_headers(sid, [(":status", "200"), ("content-length", str(10 * pieces))])
    s.writer.write(s.h2.data_to_send())
    for i in range(pieces):
        s.h2.send_data(sid, b"%09d\n" % i, end_stream=i == pieces - 1)
        s.writer.write(s.h2.data_to_send())
    if params.get("close") == "1":
        s.h2.close_connection(error_code=ErrorCodes.NO_ERROR, last_stream_id=sid)
        s.writer.write(s.h2.data_to_send())
        await s.writer.drain()
        await s.close()
        return
    await s.writer.drain()


async def flip(s, sid, params, body):
    """On the flip listener: what its next connections offer with ALPN (to=h1: http/1.1 only;
    to=h2: h2 and http/1.1). Over h2, the connection then ends (GOAWAY), so that the next
    request needs a new one."""
    s.server.flip_h1 = params.get("to") == "h1"
    await respond(s, sid, 200, b"flipped\n")
    s.h2.close_connection(error_code=ErrorCodes.NO_ERROR, last_stream_id=sid)
    await s.flush()
    await s.close()


async def redirect(s, sid, params, body):
    await respond(s, sid, 302, b"", [("location", "/ok?" + urllib.parse.urlencode(params))])


async def redirect_h1(s, sid, params, body):
    """To the HTTP/1.1-only TLS listener: the next request changes protocol."""
    location = "https://localhost:%d/ok?%s" % (s.server.h1_tls_port, urllib.parse.urlencode(params))
    await respond(s, sid, 302, b"", [("location", location)])


async def never(s, sid, params, body):
    """Takes the request and never answers (until NEVER_ANSWER_S or the client gives up)."""
    deadline = time.monotonic() + NEVER_ANSWER_S
    while time.monotonic() < deadline and sid not in s.reset and not s.closed:
        await asyncio.sleep(0.1)


BIG_BODIES = {}


async def big(s, sid, params, body):
    size = min(int(params.get("size", 32 << 20)), 64 << 20)
    if size not in BIG_BODIES:
        BIG_BODIES.clear()
        BIG_BODIES[size] = pattern(size)
    data = BIG_BODIES[size]
    s.h2.send_headers(sid, [(":status", "200"), ("content-length", str(size)),
                            ("x-sha256", hashlib.sha256(data).hexdigest())])
    await s.flush()
    await s.send_body(sid, data)


async def echo(s, sid, params, body):
    await respond(s, sid, 200, body, [("x-received-bytes", str(len(body))),
                                      ("x-sha256", hashlib.sha256(body).hexdigest())])


BEHAVIOURS = {
    "/ok": ok,
    "/_log": log_lines,
    "/rst": rst,
    "/goaway-before": goaway_before,
    "/goaway-after": goaway_after,
    "/refused-once": refused,
    "/goaway-mid-body": goaway_mid_body,
    "/drop-mid-body": drop_mid_body,
    "/connection-header": conn_header,
    "/uppercase-header": upper_header,
    "/no-status": no_status,
    "/length-short": length_short,
    "/length-long": length_long,
    "/push": push,
    "/ping-flood": ping_flood,
    "/settings-flood": settings_flood,
    "/data-flood": data_flood,
    "/huge-headers": huge_headers,
    "/flow-violation": flow_violation,
    "/max-concurrent": max_concurrent,
    "/drip": drip,
    "/records": records,
    "/flip": flip,
    "/redirect": redirect,
    "/redirect-to-http1": redirect_h1,
    "/never": never,
    "/big": big,
    "/echo": echo,
}


# --- HTTP/1.1: what a client that did not speak HTTP/2 gets -----------------------------------
async def serve_http1(server, reader, writer, conn_id, listener, already_read):
    data = already_read
    while True:
        while b"\r\n\r\n" not in data:
            if len(data) > 65536:
                return
            chunk = await asyncio.wait_for(reader.read(65536), IDLE_TIMEOUT_S)
            if not chunk:
                return
            data += chunk
        head, _, data = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target = (lines[0].split(" ") + ["", ""])[:2]
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip() or 0)
        while len(data) < length:
            chunk = await asyncio.wait_for(reader.read(65536), IDLE_TIMEOUT_S)
            if not chunk:
                return
            data += chunk
        data = data[length:]
        path, _, query = target.partition("?")
        server.log.add(event="request", conn=conn_id, listener=listener, proto="http/1.1",
                       method=method, path=path, query=query)
        if path == "/flip":
            server.flip_h1 = urllib.parse.parse_qs(query).get("to") == ["h1"]
        body = b"spoken: http/1.1\n"
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n\r\n%s"
                     % (len(body), body))
        await writer.drain()


# --- the server -----------------------------------------------------------------------------
class Server:
    def __init__(self, args):
        self.log = Log(args.log)
        self.counters = Counters()
        self.ids = itertools.count(1)
        self.slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self.h1_tls_port = args.h1_tls_port
        self.flip_h1 = False  # the flip listener offers http/1.1 only

    def flip_context(self, args):
        """TLS for the flip listener: h2 and http/1.1, or http/1.1 only while flip_h1 (the
        context is swapped in the handshake's server-name callback, before ALPN)."""
        h1_only = tls_context(args, ["http/1.1"])

        def choose(ssl_object, server_name, context):
            if self.flip_h1:
                ssl_object.context = h1_only

        both = tls_context(args, ["h2", "http/1.1"])
        both.sni_callback = choose
        return both

    def handler(self, listener):
        async def on_client(reader, writer):
            if self.slots.locked():
                writer.close()
                return
            async with self.slots:
                await self.serve(listener, reader, writer)
        return on_client

    async def serve(self, listener, reader, writer):
        conn_id = next(self.ids)
        session = None
        try:
            tls = writer.get_extra_info("ssl_object")
            if tls is not None:
                h2_spoken = tls.selected_alpn_protocol() == "h2"
                first = b""
            else:
                # Prior knowledge: the client's first bytes say which it speaks.
                first = b""
                while len(first) < len(PREFACE) and PREFACE.startswith(first):
                    chunk = await asyncio.wait_for(reader.read(len(PREFACE) - len(first)),
                                                   IDLE_TIMEOUT_S)
                    if not chunk:
                        return
                    first += chunk
                h2_spoken = first.startswith(PREFACE)
            proto = "h2" if h2_spoken else "http/1.1"
            self.log.add(event="connection", conn=conn_id, listener=listener, proto=proto,
                         alpn=tls.selected_alpn_protocol() if tls is not None else None)
            if h2_spoken:
                session = H2Session(self, reader, writer, conn_id, listener)
                await session.run(first)
            else:
                await serve_http1(self, reader, writer, conn_id, listener, first)
        except (ConnectionError, asyncio.TimeoutError, ssl.SSLError, ValueError,
                h2.exceptions.H2Error, asyncio.IncompleteReadError):
            pass
        except Exception as e:  # one connection's bug must not stop the server
            print("connection %d: %r" % (conn_id, e), file=sys.stderr, flush=True)
        finally:
            if session is not None:
                # Let the answers in flight finish writing what they have queued.
                await asyncio.sleep(0)
                await session.close()
            else:
                try:
                    writer.close()
                except (OSError, RuntimeError):
                    pass
            self.log.add(event="closed", conn=conn_id)


def tls_context(args, protocols):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    context.set_alpn_protocols(protocols)
    return context


async def main_async(args):
    server = Server(args)
    listeners = [
        await asyncio.start_server(server.handler("tls"), "127.0.0.1", args.tls_port,
                                   ssl=tls_context(args, ["h2", "http/1.1"])),
        await asyncio.start_server(server.handler("h2c"), "127.0.0.1", args.h2c_port),
        await asyncio.start_server(server.handler("h1-tls"), "127.0.0.1", args.h1_tls_port,
                                   ssl=tls_context(args, ["http/1.1"])),
        await asyncio.start_server(server.handler("flip"), "127.0.0.1", args.flip_port,
                                   ssl=server.flip_context(args)),
    ]
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    if args.pid_file:
        write_pid_file(args.pid_file)
    await stop
    for listener in listeners:
        listener.close()


def main():
    # asyncio warns of every write to a client that already left, which misbehaving clients
    # and the answers to them do on purpose.
    logging.getLogger("asyncio").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tls-port", type=int, required=True)
    parser.add_argument("--h2c-port", type=int, required=True)
    parser.add_argument("--h1-tls-port", type=int, required=True)
    parser.add_argument("--flip-port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--log", help="JSON lines, one per connection and request")
    parser.add_argument("--pid-file")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
