#!/usr/bin/python3
"""A TLS front for a plain TCP server: accepts TLS on --port (certificate --cert, key --key) and
relays the decrypted bytes to 127.0.0.1:--to, both ways. start.sh puts one before tinyproxy so
that tests can use an https:// proxy (TLS to the proxy, and TLS to the origin inside it)."""

import argparse
import asyncio
import signal
import ssl

from pid_file import write_pid_file  # beside this script

CHUNK = 64 * 1024


async def pump(reader, writer):
    try:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
        pass
    finally:
        try:
            if writer.can_write_eof():
                writer.write_eof()
            else:
                writer.close()
        except (OSError, RuntimeError):
            pass


async def serve(args):
    async def on_client(client_reader, client_writer):
        try:
            backend_reader, backend_writer = await asyncio.open_connection("127.0.0.1", args.to)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pump(client_reader, backend_writer),
                             pump(backend_reader, client_writer))
        for w in (client_writer, backend_writer):
            w.close()

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    server = await asyncio.start_server(on_client, "127.0.0.1", args.port, ssl=context)
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    if args.pid_file:
        write_pid_file(args.pid_file)
    async with server:
        await stop


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--to", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--pid-file")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
