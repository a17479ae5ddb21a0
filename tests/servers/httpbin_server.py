#!/usr/bin/python3
"""httpbin (python3-httpbin) for courier's integration tests, on Werkzeug's threaded server.

One thread per connection, so a test waiting on /delay/N never blocks another test. Werkzeug
answers HTTP/1.1 but closes the connection after every response (Connection: close); /stream/N
is chunked. Run with /usr/bin/python3 (Debian's interpreter has httpbin).
"""

import argparse
import signal
import sys

from httpbin import app
from werkzeug.serving import make_server

from pid_file import write_pid_file  # beside this script


def with_upload_endpoints(inner):
    """Adds two endpoints for streamed uploads (Content-Length or chunked) to httpbin:
    /upload-echo answers with the request body, byte for byte (application/octet-stream);
    /upload-count reads and drops it, answering {"bytes": N, "sha256": "..."};
    /upload-redirect-307 reads and drops it, answering 307 to /upload-echo.
    The answers say how the body was framed: X-Request-Framing is "chunked" or "length N"."""
    import hashlib
    import json

    def body_chunks(environ):
        stream = environ["wsgi.input"]
        length = environ.get("CONTENT_LENGTH")
        left = int(length) if length and not environ.get("wsgi.input_terminated") else None
        while left is None or left > 0:
            piece = stream.read(65536 if left is None else min(65536, left))
            if not piece:
                break
            if left is not None:
                left -= len(piece)
            yield piece

    def framing(environ):
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            return ("X-Request-Framing", "chunked")
        return ("X-Request-Framing", "length " + environ.get("CONTENT_LENGTH", "none"))

    def app_(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/upload-echo":
            data = b"".join(body_chunks(environ))
            start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                      ("Content-Length", str(len(data))), framing(environ)])
            return [data]
        if path == "/upload-redirect-307":
            for _ in body_chunks(environ):
                pass
            start_response("307 Temporary Redirect", [("Location", "/upload-echo"),
                                                      ("Content-Length", "0"), framing(environ)])
            return [b""]
        if path == "/upload-count":
            digest, count = hashlib.sha256(), 0
            for piece in body_chunks(environ):
                digest.update(piece)
                count += len(piece)
            out = json.dumps({"bytes": count, "sha256": digest.hexdigest()}).encode()
            start_response("200 OK", [("Content-Type", "application/json"),
                                      ("Content-Length", str(len(out))), framing(environ)])
            return [out]
        return inner(environ, start_response)

    return app_


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid-file")
    args = parser.parse_args()

    server = make_server(args.host, args.port, with_upload_endpoints(app), threaded=True)
    # serve_forever() returns after shutdown(); shutdown() must come from another thread, so
    # SIGTERM simply exits: Werkzeug holds nothing that needs flushing.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if args.pid_file:
        write_pid_file(args.pid_file)
    print(f"httpbin on http://{args.host}:{args.port}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
