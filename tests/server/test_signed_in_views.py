"""Signed-in page views from memory (server/personal_pages.py): the app's bytes, and a change of account
(log-out, block, role) seen on the very next view."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from conftest import new_op, push, wait_for_index
from litestar.testing import TestClient
from markupsafe import escape

from server import pages, session_cache, users
from server.app import create_app
from server.page_cache import PageCache
from server.personal_pages import NAME_MARK, NOT_PERSONAL, personal_page
from server.settings import Settings
from server.users import ROLE_EDITOR, ROLE_MODERATOR, set_blocked, set_role

CSRF = "test0csrf0token0for0byte0checks0"


class Counted:
    """The app, counting the requests that reach it (the ones the page cache did not answer)."""

    def __init__(self, app: object) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: dict, receive: object, send: object) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


@pytest.fixture
def apps(settings: Settings) -> Iterator[tuple[TestClient, TestClient, Counted]]:
    """(the app as it is, the app behind the page cache, the counter), both on one database."""
    counted = Counted(create_app(settings))
    with TestClient(create_app(settings)) as slow, TestClient(PageCache(counted, settings.db_path, 8_000_000)) as fast:
        yield slow, fast, counted


def account(client: TestClient, username: str) -> str:
    reply = client.post("/api/users", json={"username": username, "password": "long enough words"})
    assert reply.status_code == 201, reply.text
    client.cookies.clear()
    return reply.json()["token"]


def cookie(token: str, *extra: str) -> dict[str, str]:
    return {"Cookie": "; ".join([f"cp_csrf={CSRF}", f"cp_session={token}", *extra])}


def test_a_signed_in_view_from_memory_is_the_page_the_app_renders(apps: tuple[TestClient, TestClient, Counted]) -> None:
    slow, fast, counted = apps
    db = slow.app.state.db
    tokens = {name: account(slow, name) for name in ("alice", "Élodie", "mod.erator")}
    db.write(set_role, "mod.erator", ROLE_MODERATOR)
    push(slow, tokens["alice"], new_op(title="Guarded", base_rev=None, body="Only moderators. See [[Nowhere yet]]."),
         new_op(title="Alice notes", base_rev=None, body="alice wrote this; 100% hers & [[Guarded]]."))
    db.write(pages.set_protected, db.read(pages.get_page, "guarded")["page_id"], True)
    wait_for_index(lambda: slow.get("/api/status").json())  # its commits would empty the cache meanwhile
    variants = [{}, {"HX-Request": "true"}, {"Sec-Fetch-Dest": "empty"}]
    for name, token in tokens.items():
        for path in ("/", "/wiki/guarded", "/wiki/alice-notes"):
            for variant in variants:
                for extra in ((), ("cp_css=/static/css/app.0123456789.css",)):
                    headers = {**cookie(token, *extra), **variant}
                    expected = slow.get(path, headers=headers)
                    assert expected.status_code == 200 and "set-cookie" not in expected.headers
                    for _ in range(2):  # the first fills the cache, the second is answered from it
                        got = fast.get(path, headers=headers)
                        assert got.status_code == 200 and got.content == expected.content, (name, path, variant)
                        for header in ("content-security-policy", "cache-control", "vary", "content-type"):
                            assert got.headers.get(header) == expected.headers.get(header), header
                        assert "x-commonplace-shareable" not in got.headers
    assert 'data-account="Élodie"' in fast.get("/wiki/guarded", headers=cookie(tokens["Élodie"])).text
    moderator_view = fast.get("/wiki/guarded", headers=cookie(tokens["mod.erator"])).text
    assert "Unprotect" in moderator_view and CSRF in moderator_view
    assert "Unprotect" not in fast.get("/wiki/guarded", headers=cookie(tokens["alice"])).text
    # One render per page, variant and role (editors share theirs), then none.
    reached = len(counted.paths)
    for token in tokens.values():
        fast.get("/wiki/guarded", headers=cookie(token))
    assert len(counted.paths) == reached


def test_log_out_block_and_role_change_show_on_the_next_view(apps: tuple[TestClient, TestClient, Counted]) -> None:
    slow, fast, _ = apps
    db = slow.app.state.db
    alice, bob = account(slow, "alice"), account(slow, "bob")
    wait_for_index(lambda: slow.get("/api/status").json())
    assert 'data-account="alice"' in fast.get("/", headers=cookie(alice)).text
    db.write(set_role, "alice", ROLE_MODERATOR)
    assert "Protect" in fast.get("/", headers=cookie(alice)).text
    db.write(set_role, "alice", ROLE_EDITOR)
    assert "Protect" not in fast.get("/", headers=cookie(alice)).text
    db.write(set_blocked, "alice", True)
    blocked = fast.get("/", headers=cookie(alice)).text
    assert 'data-account=""' in blocked and "Log out" not in blocked

    assert 'data-account="bob"' in fast.get("/", headers=cookie(bob)).text
    out = fast.post("/logout", data={"csrf_token": CSRF}, headers=cookie(bob), follow_redirects=False)
    assert out.status_code == 303
    after = fast.get("/", headers=cookie(bob)).text  # the old cookie, sent again
    assert 'data-account=""' in after and "Log out" not in after


def test_a_session_that_ends_while_remembered_ends_on_time(apps: tuple[TestClient, TestClient, Counted],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    slow, fast, _ = apps
    carol = account(slow, "carol")
    wait_for_index(lambda: slow.get("/api/status").json())
    assert 'data-account="carol"' in fast.get("/", headers=cookie(carol)).text
    later = time.time() + slow.app.state.settings.session_days * 86400 + 60
    monkeypatch.setattr(session_cache, "time", SimpleNamespace(time=lambda: later))
    # The app's own check, which answers when the page cache does not, reads the clock here.
    monkeypatch.setattr(users, "now_iso", lambda: datetime.fromtimestamp(later, UTC).isoformat().replace("+00:00", "Z"))
    assert 'data-account=""' in fast.get("/", headers=cookie(carol)).text  # no commit in between


def test_a_page_writing_the_name_otherwise_than_escaped_once_is_left_to_the_app() -> None:
    """`fill` writes the name HTML-escaped; a template writing it in a URL or escaped twice must not be cut."""
    start = {"status": 200, "headers": [(b"x-commonplace-shareable", b"personal")]}
    page = b"<p>" + str(escape(NAME_MARK)).encode() + b"</p>"
    assert personal_page(start, page).fill("alice", "tok") == b"<p>alice</p>"
    for other in (NAME_MARK, quote(NAME_MARK), str(escape(str(escape(NAME_MARK))))):
        assert personal_page(start, page + other.encode()) is NOT_PERSONAL
