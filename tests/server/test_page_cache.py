"""Anonymous page views from memory: same bytes as the app, fresh after any change, never for accounts."""

from __future__ import annotations

import random
import uuid

import httpx
from conftest import LiveServer, bearer, new_op, push, sign_up, wait_for_index
from litestar.testing import TestClient

from server.app import create_app
from server.page_cache import PageCache
from server.settings import Settings


def test_cached_views_match_the_app_and_refresh_after_an_edit(live_server: LiveServer) -> None:
    url = live_server.url + "/wiki/welcome"
    first, second = httpx.get(url), httpx.get(url)
    assert first.status_code == second.status_code == 200 and first.content == second.content
    assert "set-cookie" not in first.headers and "content-security-policy" in second.headers
    assert 'name="csrf-token"' not in first.text
    token = httpx.post(live_server.url + "/api/users", json={"username": "cachey", "password": "long enough"}
                       ).json()["token"]
    page = httpx.get(live_server.url + "/api/pages/welcome").json()
    op = {"op_id": str(uuid.uuid4()), "slug": "welcome", "base_rev": page["rev"], "body": "Fresh words."}
    assert httpx.post(live_server.url + "/api/sync/push", json={"ops": [op]}, headers=bearer(token)).status_code == 200
    assert "Fresh words." in httpx.get(url).text


def test_fragments_and_full_pages_are_kept_apart(live_server: LiveServer) -> None:
    url = live_server.url + "/wiki/welcome"
    httpx.get(url)
    fragment = httpx.get(url, headers={"HX-Request": "true"})
    assert "<head>" not in fragment.text and "<title>" in fragment.text
    assert "<head>" in httpx.get(url).text


def test_gzip_variant_for_clients_that_accept_it(live_server: LiveServer) -> None:
    url = live_server.url + "/wiki/how-to-edit"
    plain = httpx.get(url, headers={"Accept-Encoding": "identity"})
    with httpx.Client(headers={"Accept-Encoding": "gzip"}) as client:
        raw = client.get(url)
    assert raw.headers["content-encoding"] == "gzip" and "Accept-Encoding" in raw.headers["vary"]
    assert int(raw.headers["content-length"]) < len(plain.content) / 2
    assert raw.content == plain.content  # httpx decodes; the page is the same


def test_signed_in_readers_get_their_own_page(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url) as client:
        client.post("/api/users", json={"username": "reader", "password": "long enough"})
        page = client.get("/wiki/welcome")
        assert "reader" in page.text and 'name="csrf-token"' in page.text
    assert "reader" not in httpx.get(live_server.url + "/wiki/welcome").text


def test_a_bearer_readers_page_is_never_shared(live_server: LiveServer) -> None:
    token = httpx.post(live_server.url + "/api/users", json={"username": "zq-secret-reader", "password": "long enough"}
                       ).json()["token"]
    mine = httpx.get(live_server.url + "/wiki/welcome", headers=bearer(token), cookies={"cp_csrf": "abc"})
    assert "zq-secret-reader" in mine.text
    assert "zq-secret-reader" not in httpx.get(live_server.url + "/wiki/welcome").text
    assert "x-commonplace-shareable" not in mine.headers


def test_a_reader_who_has_the_page_gets_304_until_it_changes(live_server: LiveServer) -> None:
    url = live_server.url + "/wiki/how-to-edit"
    first = httpx.get(url)
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    again = httpx.get(url, headers={"If-None-Match": etag, "Accept-Encoding": "gzip"})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    token = httpx.post(live_server.url + "/api/users", json={"username": "etag-editor", "password": "long enough"}
                       ).json()["token"]
    head = httpx.get(live_server.url + "/api/pages/how-to-edit").json()["rev"]
    op = {"op_id": "etag-edit-1", "type": "edit", "slug": "how-to-edit", "base_rev": head,
          "body": "# How to edit\n\nChanged.", "summary": "etag"}
    httpx.post(live_server.url + "/api/sync/push", json={"device_id": "t", "ops": [op]}, headers=bearer(token))
    changed = httpx.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag and "Changed." in changed.text


def _prose(seed: int, words: int) -> str:
    """Text that compresses like prose, different per page (so each page costs its own bytes)."""
    rng = random.Random(seed)
    vocabulary = [f"{rng.choice('bcdfgklmnprst')}{rng.choice('aeiou')}{rng.choice('lmnrst')}{i}" for i in range(3000)]
    return " ".join(rng.choice(vocabulary) for _ in range(words))


def test_the_cache_keeps_within_its_byte_budget_and_still_serves_every_page(settings: Settings) -> None:
    budget = 800_000  # pages over 100,000 bytes (with their compressed copies) are sent but not kept
    cache = PageCache(create_app(settings), settings.db_path, budget)
    with TestClient(cache) as client:
        token = sign_up(client)
        bodies = {f"big-page-{n}": f"Marker {n}. " + _prose(n, 2500) for n in range(25)}  # ~20 kB each
        bodies["huge-page"] = "Marker huge. " + _prose(99, 16000)  # ~120 kB
        push(client, token, *[new_op(title=slug.replace("-", " "), base_rev=None, body=body)
                              for slug, body in bodies.items()])
        wait_for_index(lambda: client.get("/api/status").json())  # its commits would empty the cache meanwhile
        for slug, body in bodies.items():
            for encoding in ("identity", "gzip", "br"):
                page = client.get(f"/wiki/{slug}", headers={"Accept-Encoding": encoding})
                assert page.status_code == 200 and body[:200] in page.text
                assert 0 < cache.store.bytes <= budget
        assert len(cache.store) < len(bodies)  # pages left to make room
        again = client.get("/wiki/big-page-24", headers={"Accept-Encoding": "gzip"})
        assert again.headers.get("etag") and bodies["big-page-24"][:200] in again.text  # kept, served from memory
        huge = client.get("/wiki/huge-page", headers={"Accept-Encoding": "gzip"})
        assert huge.status_code == 200 and "etag" not in huge.headers and bodies["huge-page"][:200] in huge.text
        assert sum(entry.size for entry in cache.store._entries.values()) == cache.store.bytes
