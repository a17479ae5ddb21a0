#!/usr/bin/python3
"""Drives the built `courier` binary over HTTP/2 against tests/servers/h2_fault_server.py (a
server on python3-h2 that misbehaves frame by frame), with curl beside it on the same requests.

Usage: h2_fault_test.py PATH/TO/courier [NAME_FILTER]
  with COURIER_TEST_ENV naming the env file of tests/servers/start.sh (CTest sets it).

Each case checks courier's exit code, that its error line names the HTTP/2 error, that stdout is
exactly the body on success, and from the server's log that HTTP/2 was spoken wherever the
server offered it (a client that asks for h2 and quietly speaks HTTP/1.1 fails). curl's outcome
is printed beside courier's; where the two differ, a comment says why courier does what it does.
Ends with "N passed, M failed"; exits 1 if any failed. Every command is bounded in time.
"""

import hashlib
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Failure, expect, finish, test  # noqa: E402,F401
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "servers"))
import h2_fault_server  # noqa: E402  (the server's body pattern and fixed bodies)

TIMEOUT = 30  # seconds, for any one command: courier's own --timeout is 10

if len(sys.argv) < 2:
    sys.exit("usage: h2_fault_test.py PATH/TO/courier [NAME_FILTER]")
COURIER = os.path.abspath(sys.argv[1])
harness.name_filter = sys.argv[2] if len(sys.argv) > 2 else ""


ENV = harness.load_env()
CA = ENV["CA_FILE"]
TLS = "https://localhost:%s" % ENV["H2FAULT_TLS_PORT"]
H2C = "http://127.0.0.1:%s" % ENV["H2FAULT_H2C_PORT"]
H1_TLS = "https://localhost:%s" % ENV["H2FAULT_H1_TLS_PORT"]
LOG = ENV["H2FAULT_LOG"]
OK_BODY = h2_fault_server.OK_BODY
WORK = tempfile.mkdtemp(prefix="courier-h2-fault-test-")

CHILD_ENV = dict(os.environ)
for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
    CHILD_ENV.pop(proxy, None)


def courier(*args, prior_knowledge=False, timeout_s=10):
    """courier --http2 (or --http2-prior-knowledge) --cacert CA --timeout S ARGS...:
    (exit code, stdout bytes, stderr text)."""
    version = "--http2-prior-knowledge" if prior_knowledge else "--http2"
    p = subprocess.run([COURIER, version, "--cacert", CA, "--timeout", str(timeout_s), *args],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=TIMEOUT, env=CHILD_ENV, cwd=WORK)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def curl(*args, prior_knowledge=False, max_time=10):
    version = "--http2-prior-knowledge" if prior_knowledge else "--http2"
    p = subprocess.run(["curl", version, "--cacert", CA, "-sS", "--max-time", str(max_time),
                        *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=TIMEOUT, env=CHILD_ENV, cwd=WORK)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def note_curl(what, code, err):
    print("      curl %s: exit %d %s" % (what, code, err.strip().splitlines()[-1] if err.strip()
                                          else ""), flush=True)


def token():
    return uuid.uuid4().hex[:12]


def requests_for(tok, settle_s=1.0):
    """The server's request lines whose query carries t=TOK, with the connection's listener
    and protocol. The server writes each line as it takes the request: wait briefly for it."""
    deadline = time.monotonic() + settle_s
    while True:
        with open(LOG) as f:
            entries = [json.loads(line) for line in f if line.strip()]
        found = [e for e in entries if e["event"] == "request" and "t=" + tok in e.get("query", "")]
        if found or time.monotonic() >= deadline:
            return found
        time.sleep(0.05)


def expect_h2(tok, count=1, listener="tls"):
    """The server saw COUNT requests for TOK, all over HTTP/2 on LISTENER."""
    seen = requests_for(tok)
    expect(len(seen) == count, "the server saw %d request(s)" % count, seen)
    for e in seen:
        expect(e["proto"] == "h2" and e["listener"] == listener,
               "HTTP/2 on the %s listener, which offers it" % listener, e)
    return seen


def error_line(err):
    """courier's failures are one 'courier: error:' line (and maybe a hint)."""
    lines = [line for line in err.splitlines() if line.strip()]
    expect(lines and lines[0].startswith("courier: error: "), "an error line", err)
    return lines[0]


# --- answers that succeed ------------------------------------------------------------------------
@test
def ok_body_and_trailers_over_alpn():
    t = token()
    code, out, err = courier("GET", TLS + "/ok?t=" + t)
    expect(code == 0 and out == OK_BODY, "exactly the body", (code, out, err))
    expect_h2(t)
    code, out, err = courier("-h", "GET", TLS + "/ok?t=" + t)
    expect(code == 0 and out.startswith(b"HTTP/2 200"), "-h shows HTTP/2", (code, out[:200], err))
    code, out, err = curl(TLS + "/ok?t=" + t)
    expect(code == 0 and out == OK_BODY, "curl too", (code, err))
    expect_h2(t, count=3)


@test
def ok_over_h2c_with_prior_knowledge():
    t = token()
    code, out, err = courier("GET", H2C + "/ok?t=" + t, prior_knowledge=True)
    expect(code == 0 and out == OK_BODY, "exactly the body", (code, out, err))
    code, out, err = curl(H2C + "/ok?t=" + t, prior_knowledge=True)
    expect(code == 0 and out == OK_BODY, "curl too", (code, err))
    expect_h2(t, count=2, listener="h2c")


@test
def goaway_after_the_answer_keeps_it():
    t = token()
    code, out, err = courier("GET", TLS + "/goaway-after?t=" + t)
    expect(code == 0 and out == OK_BODY, "the whole answer", (code, out, err))
    code, out, err = curl(TLS + "/goaway-after?t=" + t)
    expect(code == 0 and out == OK_BODY, "curl too", (code, err))
    expect_h2(t, count=2)


@test
def many_records_in_one_read_then_the_close_arrive_whole():
    # Each 10-byte DATA frame in a TLS record of its own, all sent at once, then GOAWAY and the
    # end of the connection: the records a read brings are taken together, and the close after
    # them loses none.
    expected = b"".join(b"%09d\n" % i for i in range(2000))
    for close in ("0", "1"):
        t = token()
        code, out, err = courier("GET", TLS + "/records?pieces=2000&close=%s&t=%s" % (close, t))
        expect(code == 0 and out == expected, "exactly the body, close=" + close,
               (code, len(out), err))
        code, out, err = curl(TLS + "/records?pieces=2000&close=%s&t=%s" % (close, t))
        expect(code == 0 and out == expected, "curl too, close=" + close, (code, len(out), err))
        expect_h2(t, count=2)


@test
def goaway_below_the_stream_is_retried_on_a_new_connection():
    t = token()
    code, out, err = courier("GET", TLS + "/goaway-before?t=" + t)
    expect(code == 0 and out == b"answered after GOAWAY\n", "the retry's answer", (code, out, err))
    seen = expect_h2(t, count=2)
    expect(seen[0]["conn"] != seen[1]["conn"], "the retry on a new connection", seen)
    # curl 7.88 does not retry a stream that a GOAWAY left unprocessed: it fails (exit 16 or 18,
    # "Error in the HTTP2 framing layer" or "not closed cleanly"). courier sends it again on a new connection, as docs/http2.md
    # promises (RFC 9113 6.8: such streams are safe to retry).
    t = token()
    code, out, err = curl(TLS + "/goaway-before?t=" + t)
    note_curl("GOAWAY below the stream", code, err)


@test
def refused_stream_is_retried():
    t = token()
    code, out, err = courier("GET", TLS + "/refused-once?t=" + t)
    expect(code == 0 and out == b"answered after REFUSED_STREAM\n", "the retry's answer",
           (code, out, err))
    expect_h2(t, count=2)
    t = token()
    code, out, err = curl(TLS + "/refused-once?t=" + t)
    expect(code == 0 and out == b"answered after REFUSED_STREAM\n", "curl retries too", (code, err))


@test
def a_post_refused_or_sent_away_is_sent_again_whole():
    # docs/http2.md: a stream the server did not process is sent again, even a POST.
    path = os.path.join(WORK, "retry.bin")
    data = os.urandom(200000)
    with open(path, "wb") as f:
        f.write(data)
    for behaviour in ("/goaway-before", "/refused-once"):
        t = token()
        code, out, err = courier("--raw", "@" + path, "POST", TLS + behaviour + "?t=" + t)
        expect(code == 0 and out == data, "%s: the body echoed by the second try" % behaviour,
               (code, len(out), err))
        seen = expect_h2(t, count=2)
        expect([e["body_bytes"] for e in seen] == [len(data)] * 2,
               "%s: the server got the whole body both times" % behaviour, seen)


@test
def post_echo_larger_than_the_initial_window():
    t = token()
    path = os.path.join(WORK, "upload.bin")
    data = os.urandom(300000)  # over 65535, the initial window of python-h2's server
    with open(path, "wb") as f:
        f.write(data)
    code, out, err = courier("--raw", "@" + path, "POST", TLS + "/echo?t=" + t)
    expect(code == 0 and out == data, "the upload echoed whole", (code, len(out), err))
    seen = expect_h2(t)
    expect(seen[0]["method"] == "POST" and seen[0]["body_bytes"] == len(data),
           "the server got every byte", seen)
    code, out, err = courier("--raw", "@" + path, "POST", H2C + "/echo?t=" + t,
                             prior_knowledge=True)
    expect(code == 0 and out == data, "and over h2c", (code, len(out), err))
    code, out, err = curl("--data-binary", "@" + path, TLS + "/echo?t=" + t)
    expect(code == 0 and out == data, "curl too", (code, len(out), err))


@test
def big_body_keeps_flowing():
    t = token()
    size = 32 << 20
    code, out, err = courier("GET", TLS + "/big?size=%d&t=%s" % (size, t))
    want = hashlib.sha256(h2_fault_server.pattern(size)).hexdigest()
    expect(code == 0 and len(out) == size and hashlib.sha256(out).hexdigest() == want,
           "32 MiB, byte for byte", (code, len(out), err))
    expect_h2(t)


@test
def slow_body_arrives_whole():
    t = token()
    start = time.monotonic()
    code, out, err = courier("GET", TLS + "/drip?t=" + t)
    elapsed = time.monotonic() - start
    want = b"".join(b"%09d\n" % i for i in range(20))
    expect(code == 0 and out == want, "20 pieces in order", (code, out, err))
    expect(elapsed >= 0.9, "it did drip (%.2fs)" % elapsed)
    expect_h2(t)


@test
def redirect_on_the_same_connection():
    t = token()
    code, out, err = courier("GET", TLS + "/redirect?t=" + t)
    expect(code == 0 and out == OK_BODY, "the target's body", (code, out, err))
    seen = expect_h2(t, count=2)
    expect([e["path"] for e in seen] == ["/redirect", "/ok"], "followed", seen)
    expect(seen[0]["conn"] == seen[1]["conn"], "one connection", seen)
    code, out, err = curl("-L", TLS + "/redirect?t=" + t)
    expect(code == 0 and out == OK_BODY, "curl too", (code, err))


@test
def redirect_to_an_http1_only_origin():
    t = token()
    code, out, err = courier("GET", TLS + "/redirect-to-http1?t=" + t)
    expect(code == 0 and out == b"spoken: http/1.1\n", "HTTP/1.1 on the second origin",
           (code, out, err))
    seen = requests_for(t)
    expect([(e["listener"], e["proto"]) for e in seen] == [("tls", "h2"), ("h1-tls", "http/1.1")],
           "h2 where offered, HTTP/1.1 where not", seen)
    code, out, err = curl("-L", TLS + "/redirect-to-http1?t=" + t)
    expect(code == 0 and out == b"spoken: http/1.1\n", "curl too", (code, err))


@test
def alpn_falls_back_to_http1_only_when_h2_is_not_offered():
    t = token()
    code, out, err = courier("GET", H1_TLS + "/ok?t=" + t)
    expect(code == 0 and out == b"spoken: http/1.1\n", "HTTP/1.1", (code, out, err))
    seen = requests_for(t)
    expect(len(seen) == 1 and seen[0]["proto"] == "http/1.1", "the server saw HTTP/1.1", seen)


@test
def max_concurrent_streams_one():
    t = token()
    code, out, err = courier("GET", TLS + "/max-concurrent?hops=3&t=" + t)
    expect(code == 0 and out == b"one stream at a time\n", "the last hop's body", (code, out, err))
    seen = expect_h2(t, count=4)
    expect(len({e["conn"] for e in seen}) == 1 and [e["stream"] for e in seen] == [1, 3, 5, 7],
           "streams 1, 3, 5, 7 of one connection", seen)
    t = token()
    code, out, err = curl("-L", TLS + "/max-concurrent?hops=3&t=" + t)
    expect(code == 0 and out == b"one stream at a time\n", "curl too", (code, err))


@test
def floods_below_the_limit_are_fine():
    for kind in ("ping", "settings", "data"):
        t = token()
        code, out, err = courier("GET", TLS + "/%s-flood?n=500&t=%s" % (kind, t))
        expect(code == 0 and out == OK_BODY, "500 %s frames, then the body" % kind,
               (code, out, err))
        expect_h2(t)


# --- answers that fail -----------------------------------------------------------------------------
@test
def rst_stream_mid_body_names_the_code():
    for number, name in ((2, "INTERNAL_ERROR"), (8, "CANCEL"), (11, "ENHANCE_YOUR_CALM")):
        t = token()
        code, out, err = courier("GET", TLS + "/rst?code=%d&after=1000&t=%s" % (number, t))
        line = error_line(err)
        expect(code == 9 and "reset by the server" in line and name in line,
               "exit 9 naming %s" % name, (code, err))
        expect(out == b"x" * 1000, "what came before the reset, and an exit code that says the "
               "body is short", (len(out), err))
        expect_h2(t)
    code, out, err = curl(TLS + "/rst?code=2&after=1000&t=" + token())
    expect(code != 0, "curl fails too", (code, err))
    note_curl("RST_STREAM", code, err)


@test
def goaway_with_an_error_mid_body_is_named():
    t = token()
    code, out, err = courier("GET", TLS + "/goaway-mid-body?code=1&t=" + t)
    line = error_line(err)
    expect(code == 9 and "GOAWAY PROTOCOL_ERROR (0x1): going away mid-body" in line,
           "exit 9, the GOAWAY's code and debug data", (code, err))
    expect(out == b"g" * 1000, "the half that came", len(out))
    expect_h2(t)
    code, out, err = curl(TLS + "/goaway-mid-body?code=1&t=" + t)
    expect(code != 0, "curl fails too", (code, err))
    note_curl("GOAWAY mid-body", code, err)


@test
def connection_lost_mid_body():
    t = token()
    code, out, err = courier("GET", TLS + "/drop-mid-body?t=" + t)
    line = error_line(err)
    expect(code == 9 and "connection broken" in line and "in flight" in line, "exit 9",
           (code, err))
    expect(out == b"d" * 1000, "the half that came", len(out))
    expect_h2(t)
    code, out, err = curl(TLS + "/drop-mid-body?t=" + t)
    expect(code != 0, "curl fails too", (code, err))


@test
def timeout_mid_body():
    t = token()
    code, out, err = courier("GET", TLS + "/drip?pieces=100&t=" + t, timeout_s=1)
    line = error_line(err)
    expect(code == 8 and "timed out" in line, "exit 8", (code, err))
    expect(0 < len(out) < 1000, "part of the body", len(out))
    expect_h2(t)


@test
def malformed_response_heads_are_protocol_errors():
    cases = {
        "/connection-header": "malformed header field",
        "/uppercase-header": "malformed header field",
        "/no-status": "messaging rules",
        "/length-short": "messaging rules",
        "/length-long": "messaging rules",
    }
    for path, words in cases.items():
        t = token()
        code, out, err = courier("GET", TLS + path + "?t=" + t)
        line = error_line(err)
        expect(code == 9 and words in line and "PROTOCOL_ERROR" in line,
               "%s: exit 9, %s, PROTOCOL_ERROR" % (path, words), (code, err))
        # A short body is written as it came, and the exit code says it is incomplete.
        expect(len(out) <= 10, "%s: no more than the DATA sent" % path, out)
        expect_h2(t)
        code, out, err = curl(TLS + path + "?t=" + t)
        expect(code != 0, "%s: curl fails too" % path, (code, err))
        note_curl(path, code, err)


@test
def push_promise_to_a_client_that_disabled_push():
    t = token()
    code, out, err = courier("GET", TLS + "/push?t=" + t)
    line = error_line(err)
    expect(code == 9 and "PUSH_PROMISE" in line and "PROTOCOL_ERROR" in line,
           "exit 9, a connection error naming PUSH_PROMISE", (code, err))
    expect(out == b"", "no body", out)
    expect_h2(t)
    # curl fails too, but only says "Empty reply from server" (exit 52).
    code, out, err = curl(TLS + "/push?t=" + t)
    note_curl("PUSH_PROMISE", code, err)


@test
def frame_floods_fail_the_connection():
    # curl (nghttp2) answers all 10000 frames and returns the body (exit 0). courier counts
    # frames that make no progress and fails the connection past 1000 within a second
    # (docs/http2.md, "Limits against a hostile server"): stricter, on purpose.
    for kind in ("ping", "settings", "data"):
        t = token()
        code, out, err = courier("GET", TLS + "/%s-flood?n=10000&t=%s" % (kind, t))
        line = error_line(err)
        expect(code == 9 and "ENHANCE_YOUR_CALM" in line and "flood" in line,
               "%s flood: exit 9, ENHANCE_YOUR_CALM" % kind, (code, err))
        expect_h2(t)
        code, out, err = curl(TLS + "/%s-flood?n=10000&t=%s" % (kind, t))
        note_curl("%s flood" % kind, code, err)


@test
def huge_header_block_is_cut():
    t = token()
    code, out, err = courier("GET", TLS + "/huge-headers?t=" + t)
    line = error_line(err)
    expect(code == 9 and "header block over the limit of 65536 bytes" in line,
           "exit 9, the header list limit", (code, err))
    expect(out == b"", "no body", out)
    expect_h2(t)
    code, out, err = curl(TLS + "/huge-headers?t=" + t)
    expect(code != 0, "curl fails too", (code, err))
    note_curl("1 MiB of headers", code, err)


@test
def data_beyond_the_window_is_a_flow_control_error():
    # The window is only overrun while the reader holds bytes back: a client that consumes and
    # credits each frame at once cannot tell an overrun from a WINDOW_UPDATE in flight. So
    # courier's standard output is left unread for a moment (it stops crediting the stream),
    # while the server sends its window and 1 MiB more.
    def held_back(command):
        p = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=CHILD_ENV, cwd=WORK)
        try:
            time.sleep(2)
            out, err = p.communicate(timeout=TIMEOUT)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        return p.returncode, out, err.decode("utf-8", "replace")

    t = token()
    url = TLS + "/flow-violation?extra=%d&t=%s" % (1 << 20, t)
    code, out, err = held_back([COURIER, "--http2", "--cacert", CA, "--timeout", "10", "GET", url])
    line = error_line(err)
    expect(code == 9 and "FLOW_CONTROL_ERROR" in line and "flow-control window" in line,
           "exit 9, FLOW_CONTROL_ERROR", (code, len(out), err))
    expect_h2(t)
    # curl reads the socket only as fast as it writes its output, and nghttp2 credits each frame
    # as curl takes it: the overrun never shows, and curl gets the whole body (exit 0). courier
    # reads on while its output waits, holds at most a window, and resets the stream past it.
    code, out, err = held_back(["curl", "--http2", "--cacert", CA, "-sS", "--max-time", "10", url])
    note_curl("DATA beyond the window", code, err)


@test
def a_server_that_never_answers_times_out():
    t = token()
    start = time.monotonic()
    code, out, err = courier("GET", TLS + "/never?t=" + t, timeout_s=2)
    elapsed = time.monotonic() - start
    line = error_line(err)
    expect(code == 8 and "timed out" in line, "exit 8", (code, err))
    expect(elapsed < 6, "within the timeout (%.2fs)" % elapsed)
    expect_h2(t)
    code, out, err = curl(TLS + "/never?t=" + token(), max_time=2)
    expect(code == 28, "curl times out too", (code, err))


@test
def the_server_survives_clients_that_misbehave():
    # Garbage instead of the preface, a TLS handshake cut short, a connection dropped mid-frame:
    # the server carries on.
    port = int(ENV["H2FAULT_H2C_PORT"])
    for data in (b"GARBAGE" * 100, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x40\x04"):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(data)
    with socket.create_connection(("127.0.0.1", int(ENV["H2FAULT_TLS_PORT"])), timeout=5) as s:
        s.sendall(b"\x16\x03\x01\x00\x05hello")
    ctx = ssl.create_default_context(cafile=CA)
    ctx.set_alpn_protocols(["h2"])
    with socket.create_connection(("127.0.0.1", int(ENV["H2FAULT_TLS_PORT"])), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(h2_fault_server.PREFACE + b"\x00\x00\x06\x04\x00\x00\x00\x00")
    t = token()
    code, out, err = courier("GET", TLS + "/ok?t=" + t)
    expect(code == 0 and out == OK_BODY, "still answering", (code, err))
    expect_h2(t)


finish()
