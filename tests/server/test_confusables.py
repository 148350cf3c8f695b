"""Look-alike titles (issue 11 item 12): skeletons, the stored key, the HTML warning and the sync reply."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from conftest import bearer, new_op, push, sign_up
from litestar.testing import TestClient

from server import pages
from server.confusables import looks_alike, skeleton, title_skeleton
from server.db import Database, connect
from server.migrations import MIGRATIONS, migrate
from server.users import Actor, create_user
from sync.apply import Policy, apply_op
from sync.vocabulary import WARNINGS

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
CYRILLIC_CAFE = "\u0421af\u00e9"  # С (CYRILLIC CAPITAL LETTER ES), then "afé"


def test_skeletons_of_look_alikes_are_equal() -> None:
    assert CYRILLIC_CAFE != "Café" and title_skeleton(CYRILLIC_CAFE) == title_skeleton("Café")
    assert skeleton("paypal") == skeleton("\u0440\u0430\u0443\u0440\u0430l")  # Cyrillic р, а, у
    assert skeleton("m") == skeleton("rn")  # a prototype of several characters
    assert title_skeleton("Café") != title_skeleton("Cafe")  # an accent is not a look-alike
    assert title_skeleton("★") is None  # no letters: the slug is a hash, nothing to compare


def test_plain_ascii_words_are_not_flagged() -> None:
    assert skeleton("corn") == skeleton("com")  # UTS #39 says they look alike ...
    assert not looks_alike("Corn", "Com")  # ... but they are different words
    assert looks_alike(CYRILLIC_CAFE, "Café") and looks_alike("Café", CYRILLIC_CAFE)


def _page(db: Database, title: str, op_id: str, actor: Actor) -> dict:
    op = {"op_id": op_id, "title": title, "base_rev": None, "body": f"About {title}."}
    return db.write(apply_op, op, actor, Policy())


def test_look_alike_page_follows_renames(tmp_path: Path) -> None:
    db = Database(tmp_path / "c.db")
    try:
        alice = Actor(db.write(create_user, "alice", "x")["id"], "alice")
        cafe = _page(db, "Café", "c1", alice)
        assert db.read(pages.look_alike_page, CYRILLIC_CAFE, "сafé")["slug"] == "café"
        assert db.read(pages.look_alike_page, "Café", "café") is None  # a page is not its own look-alike
        rename = {"op_id": "r1", "slug": "café", "base_rev": cafe["rev"], "title": "Tea room", "body": "x"}
        db.write(apply_op, rename, alice, Policy())
        assert db.read(pages.look_alike_page, CYRILLIC_CAFE, "сafé") is None
        assert db.read(pages.look_alike_page, "T\u0435\u0430 room", "tеа-room")["slug"] == "café"  # Cyrillic е, а
    finally:
        db.close()


def test_migration_keys_pages_written_before_it(tmp_path: Path) -> None:
    conn = connect(tmp_path / "old.db")
    for number, sql in enumerate(MIGRATIONS[:6], start=1):  # a database as migration 6 left it
        conn.execute(sql)
        conn.execute(f"PRAGMA user_version = {number}")
    conn.execute("INSERT INTO pages (uid, slug, title, created_at, updated_at) VALUES ('u1', 'café', 'Café', '', '')")
    assert migrate(conn) == len(MIGRATIONS)
    assert pages.look_alike_page(conn, CYRILLIC_CAFE, "сafé")["title"] == "Café"
    conn.close()


def test_new_page_form_warns_and_needs_confirmation(client: TestClient) -> None:
    token = sign_up(client, "writer")
    push(client, token, new_op(title="Café", base_rev=None, body="Coffee and cake."))
    warned = client.get("/new", params={"title": CYRILLIC_CAFE}, follow_redirects=False)
    assert warned.status_code == 200
    assert "A page called “Café” already exists and looks the same" in warned.text
    assert f'href="/wiki/{quote("café")}"' in warned.text
    anyway = f"/wiki/{quote('сafé', safe='')}/edit?title={quote(CYRILLIC_CAFE)}&amp;anyway=1"
    assert anyway in warned.text
    # A red link or a typed address asks the same before the editor opens; the confirmation opens it.
    assert "looks the same" in client.get(f"/wiki/{quote('сafé', safe='')}/edit").text
    form = client.get(anyway.replace("&amp;", "&"))
    assert form.status_code == 200 and f"Creating “{CYRILLIC_CAFE}”" in form.text
    other = client.get("/new", params={"title": "Tea"}, follow_redirects=False)
    assert other.status_code == 303 and other.headers["location"] == "/wiki/tea/edit?title=Tea"


def test_sync_create_of_a_look_alike_applies_and_says_so(client: TestClient) -> None:
    token = sign_up(client, "writer")
    push(client, token, new_op(title="Café", base_rev=None, body="Coffee and cake."))
    [result] = push(client, token, new_op(title=CYRILLIC_CAFE, base_rev=None, body="Written offline."))
    assert result["status"] == "applied" and result["slug"] == "сafé"  # never lose words
    assert (result["warning"], result["similar"], result["similar_title"]) == ("confusable", "café", "Café")
    assert client.get(f"/api/pages/{quote('сafé', safe='')}", headers=bearer(token)).json()["body"] == (
        "Written offline.")
    [plain] = push(client, token, new_op(title="Tea", base_rev=None, body="Leaves."))
    assert "warning" not in plain


def test_warnings_are_documented() -> None:
    for warning in WARNINGS:
        assert f"| `{warning}` |" in README
    for field in ("`warning`", "`similar`", "`similar_title`", "`anyway=1`"):
        assert field in README
