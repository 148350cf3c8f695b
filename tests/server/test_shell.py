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


def test_the_offline_edit_frame_is_the_edit_form_with_marks(client: TestClient) -> None:
    frame = client.get("/offline/edit").text
    edit = client.get("/wiki/welcome/edit").text
    for field in ('name="op_id"', 'name="base_rev"', 'name="body"', 'name="summary"', 'class="edit-form"',
                  "data-max-page-bytes="):
        assert field in frame and field in edit, field
    for mark in ("%%HEADING%%", "%%TITLE%%", "%%SLUG%%", "%%BASE_REV%%", "%%BODY%%", "%%CSRF%%", "%%OP_ID%%",
                 "<!--create-->", "<!--/create-->", "<!--offline-banner-->"):
        assert mark in frame, mark
    assert 'name="title"' in frame.split("<!--create-->")[1].split("<!--/create-->")[0]


def test_shell_pages_carry_the_marks_the_worker_swaps_for_the_account(client: TestClient) -> None:
    build = build_of(client)
    assert {"/offline/edit", "/new"} <= set(build["shell"]) and build["slugs"].startswith("/static/js/slugs.")
    for url in ("/offline", "/offline/page", "/offline/edit", "/new"):
        page = client.get(url).text
        assert 'data-account=""' in page and '<span class="guest-links">' in page, url
    assert "<!--page-exists-->" in client.get("/new").text
