"""server/personal_replies.py: what depends on who asks is `private, no-store`; shared pages stay shareable."""

from __future__ import annotations

from conftest import bearer, sign_up
from litestar.testing import TestClient

PERSONAL = "private, no-store"


def test_signed_in_replies_are_private_and_not_stored(client: TestClient) -> None:
    """Issue 11, item 8: `no-cache` + `Vary: Cookie` let a shared proxy store a page with an account in it."""
    signed_up = client.post("/api/users", json={"username": "ana", "password": "long enough"})
    assert signed_up.headers["cache-control"] == PERSONAL
    token = signed_up.json()["token"]
    client.cookies.clear()
    logged_in = client.post("/api/session", json={"username": "ana", "password": "long enough"})
    assert logged_in.headers["cache-control"] == PERSONAL
    # Signed in by the cookie the session reply set.
    for path in ("/", "/wiki/welcome", "/wiki/welcome/history", "/users/ana", "/conflicts", "/wiki/no-such-page",
                 "/api/sync/conflicts", "/api/sync/checkpoints", "/api/sync/checkpoints/phone-1"):
        reply = client.get(path)
        assert reply.headers["cache-control"] == PERSONAL, (path, reply.status_code)
    client.cookies.clear()
    for path in ("/api/sync/conflicts", "/api/sync/checkpoints", "/api/sync/checkpoints/phone-1"):
        reply = client.get(path, headers=bearer(token))
        assert reply.status_code == 200 and reply.headers["cache-control"] == PERSONAL, path


def test_forms_are_private_and_anonymous_pages_stay_shareable(client: TestClient) -> None:
    # A form carries this browser's CSRF token.
    for path in ("/login", "/signup", "/wiki/welcome/edit"):
        assert client.get(path).headers["cache-control"] == PERSONAL, path
    # The same for every anonymous reader: the page cache and the browser may keep it (revalidating).
    client.cookies.clear()
    for path in ("/", "/wiki/welcome", "/api/pages/welcome"):
        assert client.get(path).headers["cache-control"] == "no-cache", path


def test_a_reply_is_private_only_where_it_depends_on_who_asks(client: TestClient) -> None:
    token = sign_up(client, "reader")
    reply = client.get("/api/pages/welcome", headers=bearer(token))
    assert reply.headers["cache-control"] == "no-cache"  # the same for everyone, whoever asks
    assert client.get("/wiki/welcome", headers=bearer(token)).headers["cache-control"] == PERSONAL
