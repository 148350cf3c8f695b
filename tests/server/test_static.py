"""Static files through servestatic in front of the app, on a live server."""

from __future__ import annotations

import re

import httpx
from conftest import LiveServer


def test_hashed_assets_are_immutable_and_compressed(live_server: LiveServer) -> None:
    page = httpx.get(live_server.url + "/").text
    css = re.search(r'href="(/static/css/app\.[0-9a-f]{10}\.css)"', page).group(1)
    js = re.search(r'src="(/static/vendor/htmx\.min\.[0-9a-f]{10}\.js)"', page).group(1)
    for path in (css, js):
        reply = httpx.get(live_server.url + path, headers={"Accept-Encoding": "br, gzip"})
        assert reply.status_code == 200
        assert "immutable" in reply.headers["cache-control"]
        assert reply.headers["content-encoding"] == "br"
    gzip_only = httpx.get(live_server.url + js, headers={"Accept-Encoding": "gzip"})
    assert gzip_only.headers["content-encoding"] == "gzip"
    plain = httpx.get(live_server.url + "/static/icons/icon-192.png")
    assert plain.status_code == 200 and "immutable" not in plain.headers["cache-control"]
