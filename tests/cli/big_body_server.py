#!/usr/bin/python3
"""An HTTP server of large response bodies, made as they are sent (nothing is held whole):

  /zeros/N     N zero bytes with a Content-Length
  /chunked/N   N zero bytes, chunked
  /bomb/M      a gzip body (Content-Encoding: gzip) that decodes to M MiB of zeros; it is
               about a thousand times smaller than that
  /json/N      a JSON array of N bytes (application/json)

Prints the port it listens on as the first line, then serves until stdin closes or --timeout
seconds have passed. Run with /usr/bin/python3.
"""

import argparse
import http.server
import os
import struct
import sys
import threading
import zlib

MIB = 1 << 20
ZEROS = memoryview(bytes(MIB))


def gzip_of_zeros(mib):
    """(head, block, tail): head + block * mib + tail is a gzip stream of mib MiB of zeros.

    After a full flush the compressor starts afresh, so every MiB of zeros compresses to the
    same bytes; only the CRC of the whole is computed over all of it."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    first = c.compress(ZEROS) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(ZEROS) + c.flush(zlib.Z_FULL_FLUSH)
    head = first[:len(first) - len(block)]
    assert first[len(head):] == block
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(ZEROS, crc)
    final_empty_block = b"\x03\x00"
    tail = final_empty_block + struct.pack("<II", crc, (mib * MIB) & 0xFFFFFFFF)
    return head, block, tail


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_head(self, content_type, length=None, extra=()):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        if length is None:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        try:
            kind, n = parts[0], int(parts[1])
        except (IndexError, ValueError):
            self.send_error(404)
            return
        try:
            if kind == "zeros":
                self.send_head("application/octet-stream", n)
                while n > 0:
                    step = min(n, MIB)
                    self.wfile.write(ZEROS[:step])
                    n -= step
            elif kind == "chunked":
                self.send_head("application/octet-stream")
                whole = b"%x\r\n" % MIB + bytes(ZEROS) + b"\r\n"
                while n >= MIB:
                    self.wfile.write(whole)
                    n -= MIB
                if n > 0:
                    self.wfile.write(b"%x\r\n" % n + bytes(ZEROS[:n]) + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            elif kind == "bomb":
                head, block, tail = gzip_of_zeros(n)
                self.send_head("application/octet-stream", len(head) + len(block) * n + len(tail),
                               [("Content-Encoding", "gzip")])
                self.wfile.write(head)
                blocks = block * 64
                for _ in range(n // 64):
                    self.wfile.write(blocks)
                self.wfile.write(block * (n % 64) + tail)
            elif kind == "json":
                body = b"[" + b"0," * ((n - 3) // 2) + b"0" + b" " * ((n - 3) % 2) + b"]"
                self.send_head("application/json", len(body))
                self.wfile.write(body)
            else:
                self.send_error(404)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading (a --max-body test)
        self.close_connection = True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait(args.timeout)
    os._exit(0)


if __name__ == "__main__":
    main()
