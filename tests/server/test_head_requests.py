"""server/head_requests.py: HEAD gets a GET's status and headers and no body, on a real server."""

from __future__ import annotations

import httpx
from conftest import LiveServer

PATHS = ("/", "/wiki/welcome", "/wiki", "/changes", "/wiki/welcome/history", "/new", "/offline",
         "/api/status", "/api/pages/welcome", "/sw.js")


def test_head_answers_like_get_without_the_body(live_server: LiveServer) -> None:
    """Issue 11, item 13: HEAD on `/` and `/wiki/{slug}` answered 405."""
    headers = {"Accept-Encoding": "gzip"}
    with httpx.Client(base_url=live_server.url, headers=headers) as client:
        for path in PATHS:
            got = client.get(path)
            head = client.head(path)
            assert head.status_code == got.status_code == 200, (path, head.status_code)
            assert head.content == b"", path
            for name in ("content-type", "content-length", "content-encoding", "etag", "cache-control"):
                assert head.headers.get(name) == got.headers.get(name), (path, name)
        missing = client.head("/wiki/no-such-page-here")
        assert missing.status_code == 404 and missing.content == b""
