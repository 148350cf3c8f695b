"""Anonymous page views served from memory, in front of the app.

Most requests are readers without an account asking for a page. Their HTML is the same for every
one of them, so it is rendered once and replayed until the database changes. A change anywhere
(any commit, from this process or another, such as `commonplace import`) empties the cache,
because a page also shows whether the pages it links to exist. `PRAGMA data_version` tells,
for a few microseconds, whether another connection has committed since the last look. What it holds is
bounded in bytes (COMMONPLACE_PAGE_CACHE_BYTES), not in pages, since a page can weigh 200 kB.

Signed-in readers' views of the same pages come from here too: rendered once per role with marks where the
reader's name and CSRF token go, then filled in per request (server/personal_pages.py), with the session
looked up in memory (server/session_cache.py). Both are emptied by the same data_version check.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from collections import OrderedDict
from pathlib import Path
from typing import NamedTuple

import brotli
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from server.auth import SESSION_COOKIE
from server.compression import chosen_encoding
from server.db import connect
from server.personal_pages import SHAREABLE_HEADER, PersonalPage, personal_page, probe_scope, session_cookies
from server.session_cache import SessionCache

CACHEABLE_PATH = re.compile(r"^/(?:wiki/[^/]+)?$")
# A page bigger than this share of the byte budget is served but not kept: one huge page must not push out
# hundreds of ordinary ones.
MAX_ENTRY_SHARE = 8
# Names the stylesheet file the browser holds: pages link to it then, else inline it (server/templating.py).
STYLESHEET_COOKIE = "cp_css"
# (path, fragment, stylesheet cookie, shown) for anonymous readers; role added for signed-in ones.
CacheKey = tuple[str, bool, bytes, bool] | tuple[str, bool, bytes, bool, str]
_STYLESHEET_COOKIE = re.compile(rb"(?:^|;)\s*" + STYLESHEET_COOKIE.encode() + rb"=([^;]*)")
COMPRESS_MIN_BYTES = 512


class Entry(NamedTuple):
    headers: list[tuple[bytes, bytes]]
    body: bytes
    encoded: dict[str, bytes]  # encoding -> compressed body
    size: int  # bytes held: body, every compressed copy and the headers


class PageStore:
    """Entries within a byte budget, the least recently used leaving first (issue 11, item 2).

    Counting entries was not enough: 5,000 pages of 200 kB with their compressed copies are over a gigabyte.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[CacheKey, Entry | PersonalPage] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: CacheKey) -> Entry | PersonalPage | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def fits(self, size: int) -> bool:
        return size <= self.max_bytes // MAX_ENTRY_SHARE

    def put(self, key: CacheKey, entry: Entry | PersonalPage) -> None:
        if not self.fits(entry.size):
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old.size
        self._entries[key] = entry
        self.bytes += entry.size
        while self.bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self.bytes -= evicted.size

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return b""


class PageCache:
    """ASGI middleware: answers GETs of `/` and `/wiki/{slug}` from memory, for anonymous and signed-in readers."""

    def __init__(self, app: ASGIApp, db_path: Path, max_bytes: int) -> None:
        self.app = app
        self.db_path = db_path
        self._conn = None
        self._version_cursor = None
        self._version: int | None = None
        # CacheKey -> the page, as sent and compressed (anonymous) or cut for filling in (signed-in)
        self.store = PageStore(max_bytes)
        self.sessions = SessionCache()

    def _forget_if_changed(self) -> None:
        """Empty the pages and sessions when anything was committed since the last look."""
        if self._conn is None:
            self._conn = connect(self.db_path, readonly=True)
            self._version_cursor = self._conn.cursor()  # reused, and `.get` skips the row tracer: half the time
        version = self._version_cursor.execute("PRAGMA data_version").get
        if version != self._version:
            self.store.clear()
            self.sessions.clear()
            self._version = version

    @staticmethod
    def _cacheable(scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] != "GET" or scope.get("query_string"):
            return False
        if not CACHEABLE_PATH.match(scope["path"]):
            return False
        return not _header(scope, b"authorization")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.store.max_bytes or not self._cacheable(scope):
            await self.app(scope, receive, send)
            return
        fragment = _header(scope, b"hx-request") == b"true" and not _header(scope, b"hx-history-restore-request")
        # The page inlines its stylesheet or links to it, by this cookie and who asks (server/templating.py).
        stylesheet = _STYLESHEET_COOKIE.search(_header(scope, b"cookie"))
        key = (scope["path"], fragment, stylesheet.group(1) if stylesheet else b"",
               _header(scope, b"sec-fetch-dest") in (b"", b"document"))
        self._forget_if_changed()
        if SESSION_COOKIE.encode() + b"=" in _header(scope, b"cookie"):
            await self._send_personal(scope, receive, send, key)
            return
        entry = self.store.get(key)
        if entry is None:
            entry = await self._render(scope, receive, send, key)
            if entry is None:
                return
        headers, body, encoded, _ = entry
        # A phone that has the page already pays for headers only (weak: both encodings are the same page).
        etag = next(v for k, v in headers if k == b"etag")
        if etag in _header(scope, b"if-none-match").split(b", "):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        encoding = chosen_encoding(_header(scope, b"accept-encoding"))
        if encoding in encoded:
            headers = [*headers, (b"content-encoding", encoding.encode())]
            body = encoded[encoding]
        await send({"type": "http.response.start", "status": 200,
                    "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def _send_personal(self, scope: Scope, receive: Receive, send: Send, key: CacheKey) -> None:
        """A signed-in reader's page, filled in from its role's render; the app answers anything else."""
        cookies = session_cookies(scope)
        actor = self.sessions.actor(self._conn, cookies[0]) if cookies else None
        if actor is None:
            await self.app(scope, receive, send)
            return
        key = (*key, actor.role)
        page = self.store.get(key)
        if page is None:
            version = self._version
            start, body = await self._capture(probe_scope(scope, actor), receive)
            page = personal_page(start, body)
            if version == self._version:  # else a commit came during the render, which may predate it
                self.store.put(key, page)
        if page.template is None:
            await self.app(scope, receive, send)
            return
        body = page.fill(actor.username, cookies[1])
        await send({"type": "http.response.start", "status": 200,
                    "headers": [*page.headers, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def _capture(self, scope: Scope, receive: Receive) -> tuple[Message, bytes]:
        """Run the app and keep what it sends: (the response start, the whole body)."""
        start: dict = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        return start, b"".join(chunks)

    async def _render(self, scope: Scope, receive: Receive, send: Send, key: CacheKey) -> Entry | None:
        """Run the app; keep its answer if it is a plain 200 without cookies, else pass it through."""
        version = self._version
        start, body = await self._capture(scope, receive)
        raw = start.get("headers", [])
        # Only what the app itself marked as the same for every anonymous reader is kept.
        shareable = (SHAREABLE_HEADER.encode(), b"1") in raw
        headers = [(k, v) for k, v in raw if k.lower() not in (b"content-length", SHAREABLE_HEADER.encode())]
        cacheable = shareable and start.get("status") == 200 and not any(k.lower() == b"set-cookie" for k, _ in headers)
        # Too big to keep: sent as it is (the Compression middleware outside compresses it, more cheaply).
        if not cacheable or not self.store.fits(len(body)):
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return None
        headers = [(k, v + b", Accept-Encoding") if k.lower() == b"vary" else (k, v) for k, v in headers]
        headers.append((b"etag", b'W/"' + hashlib.sha256(body).hexdigest()[:20].encode() + b'"'))
        # Compressed once per change, so the best brotli costs little: ~15 % smaller than gzip -6.
        encoded = {"br": brotli.compress(body, quality=11), "gzip": gzip.compress(body, 6)} \
            if len(body) >= COMPRESS_MIN_BYTES else {}
        size = len(body) + sum(map(len, encoded.values())) + sum(len(k) + len(v) for k, v in headers)
        entry = Entry(headers, body, encoded, size)
        if version == self._version:  # else a commit came during the render, which may predate it
            self.store.put(key, entry)
        return entry
