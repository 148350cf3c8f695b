"""A slow mobile link on loopback: a TCP proxy that delays and paces every byte (issue 10's benchmark).

    python tests/bench/throttle_proxy.py --listen PORT --upstream PORT [--rtt-ms 600] [--down-kbps 50] [--up-kbps 20]

Chromium's own network emulation does not slow the service worker's fetches, so the browser talks to
this proxy instead and every request, the worker's included, crosses the same link:

- each direction is delayed by half the round trip (300 ms) after its bytes are serialised;
- bytes are paced at 50 kB/s down (server to browser) and 20 kB/s up, shared by all connections in a
  direction, as on one radio link;
- a new connection waits one extra round trip before anything crosses it (the TCP handshake the
  loopback connect skipped).

Pure asyncio, no dependencies; run as a script or used in-process through `ThrottleProxy`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time

SLICE = 1460  # one TCP segment: pacing in segments keeps the first bytes of a reply early


class Link:
    """One direction of the radio link: a shared serialiser followed by a fixed propagation delay."""

    def __init__(self, bytes_per_s: float, delay_s: float) -> None:
        self.bytes_per_s = bytes_per_s
        self.delay_s = delay_s
        self.free_at = 0.0

    def schedule(self, size: int, now: float) -> float:
        """Reserves the link for `size` bytes arriving `now`; returns when they reach the other end."""
        start = max(now, self.free_at)
        self.free_at = start + size / self.bytes_per_s
        return self.free_at + self.delay_s


class ThrottleProxy:
    def __init__(self, upstream_port: int, rtt_s: float = 0.6, down_bytes_per_s: float = 50_000,
                 up_bytes_per_s: float = 20_000, host: str = "127.0.0.1") -> None:
        self.host = host
        self.upstream_port = upstream_port
        self.rtt_s = rtt_s
        self.down = Link(down_bytes_per_s, rtt_s / 2)
        self.up = Link(up_bytes_per_s, rtt_s / 2)
        self.server: asyncio.base_events.Server | None = None

    async def start(self, port: int = 0) -> int:
        self.server = await asyncio.start_server(self._accept, self.host, port)
        return self.server.sockets[0].getsockname()[1]

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        opened = time.monotonic()
        try:
            server_reader, server_writer = await asyncio.open_connection(self.host, self.upstream_port)
        except OSError:
            client_writer.close()
            return
        # The handshake: nothing crosses a new connection for one round trip.
        handshake_done = opened + self.rtt_s
        await asyncio.gather(
            self._pipe(client_reader, server_writer, self.up, handshake_done),
            self._pipe(server_reader, client_writer, self.down, handshake_done),
            return_exceptions=True,
        )
        for writer in (client_writer, server_writer):
            with contextlib.suppress(Exception):
                writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, link: Link,
                    not_before: float) -> None:
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()

        async def deliver() -> None:
            while (item := await queue.get()) is not None:
                due, data = item
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
            with contextlib.suppress(Exception):
                writer.write_eof()

        sender = asyncio.create_task(deliver())
        try:
            while data := await reader.read(65536):
                # Bytes are reserved on the link when they arrive, so connections share its rate.
                now = max(time.monotonic(), not_before)
                for i in range(0, len(data), SLICE):
                    piece = data[i:i + SLICE]
                    queue.put_nowait((link.schedule(len(piece), now), piece))
        finally:
            queue.put_nowait(None)
            await sender

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()


async def serve(args: argparse.Namespace) -> None:
    proxy = ThrottleProxy(args.upstream, args.rtt_ms / 1000, args.down_kbps * 1000, args.up_kbps * 1000)
    port = await proxy.start(args.listen)
    print(f"throttling 127.0.0.1:{port} -> 127.0.0.1:{args.upstream}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--upstream", type=int, required=True)
    parser.add_argument("--rtt-ms", type=float, default=600)
    parser.add_argument("--down-kbps", type=float, default=50, help="kilobytes per second, server to browser")
    parser.add_argument("--up-kbps", type=float, default=20, help="kilobytes per second, browser to server")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
