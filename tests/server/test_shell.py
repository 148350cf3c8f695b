"""The service worker script and the offline pages as the server sends them (issue #4)."""

from __future__ import annotations

import json
import re

from litestar.testing import TestClient

from server.app import create_app
from server.settings import Settings


def build_of(client: TestClient) -> dict:
    script = client.get("/sw.js").text
    return json.loads(re.match(r"const BUILD = (\{.*?\});\n", script).group(1))


def test_the_worker_precaches_everything_a_page_loads_except_minisearch(client: TestClient) -> None:
    build = build_of(client)
    page = client.get("/wiki/welcome").text
    loaded = set(re.findall(r'(?:src|href|data-\w+)="(/static/[^"]+)"', page))
    minisearch = {url for url in loaded if "minisearch" in url}
    assert build["lazy"] == sorted(minisearch)
    assert loaded - minisearch <= set(build["shell"])
    assert {"/offline", "/offline/page"} <= set(build["shell"])
    assert re.fullmatch(r"[0-9a-f]{12}", build["version"])


def test_the_worker_answers_304_when_unchanged_and_is_compressed(client: TestClient) -> None:
    first = client.get("/sw.js", headers={"Accept-Encoding": "br"})
    assert first.headers["content-encoding"] == "br"
    assert first.headers["service-worker-allowed"] == "/"
    again = client.get("/sw.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_the_version_changes_with_the_shell(client: TestClient, settings: Settings) -> None:
    other = Settings(data=settings.data.parent / "other", model="hashing", site_name="Pocket Commons")
    with TestClient(create_app(other)) as renamed:
        assert build_of(renamed)["version"] != build_of(client)["version"]


def test_the_saved_page_frame_has_the_marks_the_worker_fills(client: TestClient) -> None:
    frame = client.get("/offline/page").text
    for mark in ("%%TITLE%%", "%%SLUG%%", "%%SLUG_TEXT%%", "%%HTML%%", "%%UPDATED%%", "<!--offline-banner-->"):
        assert mark in frame, mark
    assert "<!--offline-banner-->" in client.get("/offline").text
