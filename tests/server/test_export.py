"""A person downloads everything they contributed: `GET /api/me/export`."""

from __future__ import annotations

from conftest import bearer, new_op, push, sign_up
from litestar.testing import TestClient


def test_export_holds_every_revision_with_its_text(client: TestClient) -> None:
    token = sign_up(client, "writer")
    other = sign_up(client, "someone-else")
    [created] = push(client, token, new_op(title="Kettles", base_rev=None, body="Boil water."))
    push(client, token, new_op(slug="kettles", base_rev=created["rev"], body="Boil water.\n\nThen pour."))
    push(client, other, new_op(title="Not mine", base_rev=None, body="Their text."))
    reply = client.get("/api/me/export", headers=bearer(token))
    assert reply.status_code == 200
    assert "attachment" in reply.headers["content-disposition"]
    assert reply.headers["cache-control"] == "no-store"
    export = reply.json()
    assert export["account"]["username"] == "writer"
    assert [r["body"] for r in export["revisions"]] == ["Boil water.", "Boil water.\n\nThen pour."]
    assert {r["slug"] for r in export["revisions"]} == {"kettles"}
    assert "password_hash" not in reply.text and "Their text." not in reply.text
    assert export["conflicts"] == [] and export["checkpoints"] == []


def test_export_needs_log_in(client: TestClient) -> None:
    reply = client.get("/api/me/export")
    assert reply.status_code == 401 and "Log in" in reply.json()["detail"]


def test_the_user_page_offers_the_download_to_its_owner_only(client: TestClient) -> None:
    token = sign_up(client, "owner")
    assert "/api/me/export" in client.get("/users/owner", headers=bearer(token)).text
    assert "/api/me/export" not in client.get("/users/owner").text
