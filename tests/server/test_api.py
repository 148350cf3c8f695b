"""The JSON API through Litestar's test client on a real SQLite file."""

from __future__ import annotations

from conftest import bearer, new_op, push, sign_up
from litestar.testing import TestClient

from server import pages


def test_status_counts_the_starter_commons(client: TestClient) -> None:
    status = client.get("/api/status").json()
    assert status["pages"] >= 8 and status["revisions"] >= status["pages"]
    assert {"pending", "chunks", "model"} <= set(status["index"])


def test_page_etag_and_304(client: TestClient) -> None:
    reply = client.get("/api/pages/welcome")
    page = reply.json()
    assert {"slug", "title", "rev", "body", "html", "updated_at"} <= set(page)
    assert reply.headers["etag"] == f'"{page["rev"]}"'
    again = client.get("/api/pages/welcome", headers={"If-None-Match": reply.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert client.get("/api/pages/no-such-page").status_code == 404


def test_page_etag_changes_when_the_page_is_protected(client: TestClient) -> None:
    """Protecting a page writes no revision; a conditional GET must still see the change (issue 11, item 9)."""
    first = client.get("/api/pages/welcome")
    source = client.get("/api/pages/welcome", params={"fields": "slug,title,rev,body"})
    db = client.app.state.db
    db.write(pages.set_protected, db.read(pages.get_page, "welcome")["page_id"], True)
    again = client.get("/api/pages/welcome", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 200 and again.json()["protected"] is True
    assert again.headers["etag"] != first.headers["etag"]
    assert client.get("/api/pages/welcome", headers={"If-None-Match": again.headers["etag"]}).status_code == 304
    # A reply without `protected` is the same as before: its ETag, and the 304 the browser's copy gets, hold.
    unchanged = client.get("/api/pages/welcome", params={"fields": "slug,title,rev,body"},
                           headers={"If-None-Match": source.headers["etag"]})
    assert unchanged.status_code == 304


def test_page_fields_leave_out_what_is_not_asked_for(client: TestClient) -> None:
    full = client.get("/api/pages/welcome").json()
    source = client.get("/api/pages/welcome", params={"fields": "slug,title,rev,body"})
    assert source.json() == {k: full[k] for k in ("slug", "title", "rev", "body")}
    assert source.headers["etag"] == f'"{full["rev"]}"'
    wrong = client.get("/api/pages/welcome", params={"fields": "body,password"})
    assert wrong.status_code == 400 and "password" in wrong.json()["detail"]


def test_push_create_edit_duplicate_and_history(client: TestClient) -> None:
    token = sign_up(client, "writer")
    [created] = push(client, token, new_op(title="Field notes", base_rev=None, body="First."))
    assert created["status"] == "applied" and created["slug"] == "field-notes"
    edit = new_op(slug="field-notes", base_rev=created["rev"], body="First. Second.")
    [edited] = push(client, token, edit)
    [again] = push(client, token, edit)
    assert edited["status"] == "applied" and again["status"] == "duplicate" and again["rev"] == edited["rev"]
    history = client.get("/api/pages/field-notes/history").json()["revisions"]
    assert [r["rev"] for r in history] == [edited["rev"], created["rev"]]
    assert all(r["author"] == "writer" for r in history)


def test_push_needs_authentication(client: TestClient) -> None:
    reply = client.post("/api/sync/push", json={"ops": [new_op(title="X", base_rev=None, body="x")]})
    assert reply.status_code == 401 and "Log in" in reply.json()["detail"]


def test_push_rejects_malformed_requests_with_4xx(client: TestClient) -> None:
    token = sign_up(client)
    for body in ({}, {"ops": "x"}, {"ops": [{"op_id": 5}]}, [], "nonsense"):
        reply = client.post("/api/sync/push", json=body, headers=bearer(token))
        assert 400 <= reply.status_code < 500, (body, reply.text)
    too_many = {"ops": [new_op(title=f"T{i}", base_rev=None, body="x") for i in range(201)]}
    assert client.post("/api/sync/push", json=too_many, headers=bearer(token)).status_code == 400


def test_oversized_body_is_413(client: TestClient) -> None:
    token = sign_up(client)
    huge = {"ops": [new_op(title="Huge", base_rev=None, body="x" * 1_100_000)]}
    assert client.post("/api/sync/push", json=huge, headers=bearer(token)).status_code == 413


def test_changes_feed_over_http(client: TestClient) -> None:
    token = sign_up(client)
    start = client.get("/api/sync/changes?since=0&limit=1000").json()["last_seq"]
    [made] = push(client, token, new_op(title="Fresh", base_rev=None, body="x"))
    feed = client.get(f"/api/sync/changes?since={start}").json()
    assert [c["slug"] for c in feed["changes"]] == ["fresh"] and feed["last_seq"] == made["seq"]
    assert client.get("/api/sync/changes?since=-1").status_code == 400
    assert client.get("/api/sync/changes?limit=0").status_code == 400


def test_openapi_schema_is_served_without_third_party_uis(client: TestClient) -> None:
    schema = client.get("/schema/openapi.json").json()
    assert "/api/sync/push" in schema["paths"] and "/api/pages/{slug}" in schema["paths"]
    assert client.get("/schema/swagger").status_code == 404
