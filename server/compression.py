"""Compresses the app's HTML and JSON replies for clients that accept it (issue 10, item 10).

Signed-in pages, `/wiki`, `/changes`, history, search and edit forms used to travel uncompressed: a
contributor paid 7.5 kB for an article an anonymous reader got in 2.8 kB. This ASGI middleware sits
outside Litestar, so it also sees the replies its exception handlers make (Litestar's own
CompressionConfig runs inside the app and does not), and it leaves alone every reply that already
chose its encoding (/api/bulk, /api/sync/changes, the page cache, the shell's routes).
"""

from __future__ import annotations

import gzip

import brotli
from litestar.types import ASGIApp, Message, Receive, Scope, Send

COMPRESSIBLE_TYPES = (b"text/html", b"application/json", b"text/plain")
# Below this a compressed body saves less than a TCP round trip's worth of anything.
MIN_BYTES = 512
# Dynamic pages are compressed on every request: quality 5 takes ~0.15 ms on an 8 kB page (11 takes ~9 ms)
# for ~15 % more bytes than 11.
BROTLI_QUALITY = 5
GZIP_LEVEL = 6


def accepted_qualities(accept_encoding: bytes | str) -> dict[str, float]:
    """Each coding the client named, with its q-value (1 when none is given; a malformed one counts as 0)."""
    text = accept_encoding.decode("latin-1") if isinstance(accept_encoding, bytes) else accept_encoding
    offered: dict[str, float] = {}
    for part in text.lower().split(","):
        name, *params = (piece.strip() for piece in part.split(";"))
        if not name:
            continue
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        offered[name] = quality
    return offered


def chosen_encoding(accept_encoding: bytes | str, codings: tuple[str, ...] = ("br", "gzip")) -> str | None:
    """The coding of `codings` the client rates highest (br before gzip on a tie), or None for identity.

    Honours q-values (issue 11, item 13: `gzip;q=0` was served gzip): `q=0` refuses a coding, `*` rates
    every coding the client did not name, and `identity` is always acceptable, so it needs no check here.
    """
    offered = accepted_qualities(accept_encoding)
    rated = [(offered.get(name, offered.get("*", 0.0)), -index, name) for index, name in enumerate(codings)]
    quality, _, name = max(rated)
    return name if quality > 0 else None


def compress(body: bytes, encoding: str) -> bytes:
    if encoding == "br":
        return brotli.compress(body, quality=BROTLI_QUALITY)
    return gzip.compress(body, GZIP_LEVEL)


def _with_vary(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    for index, (key, value) in enumerate(headers):
        if key.lower() == b"vary":
            if b"accept-encoding" not in value.lower():
                headers[index] = (key, value + b", Accept-Encoding")
            return headers
    headers.append((b"vary", b"Accept-Encoding"))
    return headers


class Compression:
    """ASGI middleware: buffers a reply that comes in one body message and compresses it if worth it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        accepted = b""
        for key, value in scope["headers"]:
            if key == b"accept-encoding":
                accepted = value
        encoding = chosen_encoding(accepted)
        start: Message | None = None
        streaming = False

        async def send_compressed(message: Message) -> None:
            nonlocal start, streaming
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None or streaming:
                await send(message)
                return
            body = message.get("body", b"")
            if message.get("more_body", False):
                # A streamed reply (a file, an export) goes out as it comes.
                streaming = True
                await send(start)
                await send(message)
                return
            await send_whole(start, body)

        async def send_whole(start: Message, body: bytes) -> None:
            headers = list(start.get("headers", []))
            names = {key.lower() for key, _ in headers}
            content_type = next((value for key, value in headers if key.lower() == b"content-type"), b"")
            media_type = content_type.split(b";")[0].strip().lower()
            worth_it = (start["status"] not in (204, 304) and len(body) >= MIN_BYTES
                        and b"content-encoding" not in names
                        and (media_type in COMPRESSIBLE_TYPES or media_type.endswith(b"+json")))
            if worth_it:
                headers = _with_vary(headers)
                if encoding is not None:
                    body = compress(body, encoding)
                    headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
                    headers += [(b"content-encoding", encoding.encode()), (b"content-length", str(len(body)).encode())]
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, send_compressed)
