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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid-file")
    args = parser.parse_args()

    server = make_server(args.host, args.port, app, threaded=True)
    # serve_forever() returns after shutdown(); shutdown() must come from another thread, so
    # SIGTERM simply exits: Werkzeug holds nothing that needs flushing.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if args.pid_file:
        write_pid_file(args.pid_file)
    print(f"httpbin on http://{args.host}:{args.port}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
