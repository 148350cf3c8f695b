"""GET /api/bulk: many pages in compressed batches, resumable by cursor (issue #4)."""

from __future__ import annotations

from conftest import bearer, new_op, push, sign_up, wait_for_index
from litestar.testing import TestClient


def all_pages(client: TestClient, scope: str = "all", limit: int = 4, **params: str) -> list[dict]:
    pages: list[dict] = []
    after = None
    while True:
        query = {"scope": scope, "limit": limit, **params, **({"after": after} if after is not None else {})}
        reply = client.get("/api/bulk", params=query)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        pages += body["pages"]
        if not body["more"]:
            assert body["cursor"] is None
            return pages
        after = body["cursor"]


def test_every_page_arrives_once_across_batches(client: TestClient) -> None:
    total = client.get("/api/status").json()["pages"]
    pages = all_pages(client)
    assert len(pages) == total == len({p["slug"] for p in pages})
    first = pages[0]
    assert set(first) == {"slug", "title", "rev", "seq", "html", "updated_at"}
    single = client.get(f"/api/pages/{first['slug']}").json()
    assert (first["rev"], first["html"], first["seq"]) == (single["rev"], single["html"], single["seq"])


def test_a_cursor_stays_valid_while_pages_are_added_and_edited(client: TestClient) -> None:
    token = sign_up(client)
    reply = client.get("/api/bulk", params={"limit": 3}).json()
    start_seq = reply["last_seq"]
    edited = reply["pages"][0]["slug"]
    push(client, token, new_op(slug=None, base_rev=None, title="Brand new page", body="Fresh."))
    head = client.get(f"/api/pages/{edited}").json()["rev"]
    push(client, token, new_op(slug=edited, base_rev=head, body="Changed after the download started."))
    rest = all_pages(client, after=str(reply["cursor"]))
    slugs = [p["slug"] for p in reply["pages"] + rest]
    assert len(slugs) == len(set(slugs)) == client.get("/api/status").json()["pages"]
    assert "brand-new-page" in slugs
    # The edit to a page already downloaded is what the changes feed catches up on afterwards.
    changed = client.get("/api/sync/changes", params={"since": start_seq}).json()["changes"]
    assert edited in {c["slug"] for c in changed}


def test_the_markdown_source_comes_to_those_who_can_edit(client: TestClient) -> None:
    assert all("body" not in p for p in client.get("/api/bulk").json()["pages"])
    asked = client.get("/api/bulk", params={"source": "true", "limit": 3}).json()["pages"]
    single = client.get(f"/api/pages/{asked[0]['slug']}").json()
    assert asked[0]["body"] == single["body"]
    token = sign_up(client)
    signed_in = client.get("/api/bulk", headers=bearer(token)).json()["pages"]
    assert signed_in and all(isinstance(p["body"], str) for p in signed_in)
    declined = client.get("/api/bulk", params={"source": "false"}, headers=bearer(token)).json()["pages"]
    assert all("body" not in p for p in declined)


def test_replies_are_compressed_with_brotli_or_gzip(client: TestClient) -> None:
    plain = client.get("/api/bulk", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    for encoding in ("br", "gzip"):
        reply = client.get("/api/bulk", headers={"Accept-Encoding": encoding})
        assert reply.headers["content-encoding"] == encoding
        assert "accept-encoding" in reply.headers["vary"].lower()
        assert reply.json() == plain.json()
        assert reply.num_bytes_downloaded < plain.num_bytes_downloaded / 2, encoding
    for refused in ("gzip;q=0", "br;q=0, gzip;q=0", "*;q=0"):
        assert "content-encoding" not in client.get("/api/bulk", headers={"Accept-Encoding": refused}).headers
    assert client.get("/api/bulk", headers={"Accept-Encoding": "br;q=0.5, gzip"}).headers["content-encoding"] == "gzip"


def test_recent_changes_come_newest_first(client: TestClient) -> None:
    pages = all_pages(client, scope="changes", limit=2)
    seqs = [p["seq"] for p in pages]
    assert seqs == sorted(seqs, reverse=True)


def test_search_and_named_slugs(client: TestClient) -> None:
    named = all_pages(client, scope="slugs", limit=1, slugs="welcome,nope,how-to-edit")
    assert [p["slug"] for p in named] == ["welcome", "how-to-edit"]
    wait_for_index(lambda: client.get("/api/status").json())
    found = all_pages(client, scope="search", q="offline")
    assert found and all(p["html"] for p in found)
    assert all_pages(client, scope="search", q="") == []


def test_bad_requests_say_what_to_do(client: TestClient) -> None:
    for params in ({"scope": "everything"}, {"limit": 0}, {"limit": 10_000}, {"after": -1}, {"q": "x" * 600}):
        reply = client.get("/api/bulk", params=params)
        assert reply.status_code == 400, params
        assert reply.json()["detail"]
