"""apply_op: the single write path (sync rules 1-2, and rejections until merge lands)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server import pages
from server.db import Database
from server.users import ROLE_MODERATOR, Actor, create_user, set_blocked
from sync.apply import Policy, apply_op, apply_ops
from sync.vocabulary import APPLIED, CONFLICT, DUPLICATE, MERGED, REJECTED, STATUSES, format_size

POLICY = Policy()


@pytest.fixture
def db(tmp_path: Path):
    database = Database(tmp_path / "c.db")
    yield database
    database.close()


@pytest.fixture
def alice(db: Database) -> Actor:
    user = db.write(create_user, "alice", "not-a-real-hash")
    return Actor(user["id"], "alice")


@pytest.fixture
def bob(db: Database) -> Actor:
    user = db.write(create_user, "bob", "not-a-real-hash")
    return Actor(user["id"], "bob")


def create(db: Database, actor: Actor, title: str = "Tea", body: str = "Leaves.", op_id: str = "c1") -> dict:
    return db.write(apply_op, {"op_id": op_id, "title": title, "base_rev": None, "body": body}, actor, POLICY)


def revision_count(db: Database) -> int:
    return db.read(pages.counts)["revisions"]


def test_create_then_edit_on_head_is_applied(db: Database, alice: Actor) -> None:
    created = create(db, alice)
    assert created["status"] == APPLIED and created["slug"] == "tea" and created["created"]
    edit = {"op_id": "e1", "slug": "tea", "base_rev": created["rev"], "body": "Leaves, hot water.", "summary": "x"}
    result = db.write(apply_op, edit, alice, POLICY)
    assert result["status"] == APPLIED and result["rev"] != created["rev"]
    page = db.read(pages.get_page, "tea")
    assert page["body"] == "Leaves, hot water." and page["rev"] == result["rev"]
    history = db.read(pages.page_history, page["page_id"])
    assert [r["rev"] for r in history] == [result["rev"], created["rev"]]
    assert history[0]["author"] == "alice" and history[0]["size_change"] == len(" hot water,")


def test_replayed_op_is_duplicate_and_writes_nothing(db: Database, alice: Actor) -> None:
    first = create(db, alice)
    before = revision_count(db)
    again = create(db, alice)
    assert again["status"] == DUPLICATE and again["first_status"] == APPLIED
    assert again["rev"] == first["rev"] and revision_count(db) == before


def test_replay_with_a_different_body_still_returns_the_first_result(db: Database, alice: Actor) -> None:
    first = create(db, alice)
    again = create(db, alice, body="Something else entirely")
    assert again["status"] == DUPLICATE and again["rev"] == first["rev"]
    assert db.read(pages.get_page, "tea")["body"] == "Leaves."


def test_stale_base_with_overlapping_change_is_a_conflict(db: Database, alice: Actor, bob: Actor) -> None:
    created = create(db, alice)
    db.write(apply_op, {"op_id": "a2", "slug": "tea", "base_rev": created["rev"], "body": "A"}, alice, POLICY)
    stale = db.write(apply_op, {"op_id": "b1", "slug": "tea", "base_rev": created["rev"], "body": "B"}, bob, POLICY)
    assert stale["status"] == CONFLICT and stale["conflict_id"]
    assert db.read(pages.get_page, "tea")["body"] == "A"


def test_rejections_are_not_remembered(db: Database, alice: Actor) -> None:
    op = {"op_id": "late", "slug": "tea", "base_rev": "nope", "body": "x"}
    assert db.write(apply_op, op, alice, POLICY)["reason"] == "not_found"
    create(db, alice)
    head = db.read(pages.get_page, "tea")["rev"]
    assert db.write(apply_op, {**op, "base_rev": head}, alice, POLICY)["status"] == APPLIED


def test_an_account_blocked_after_its_request_came_in_writes_nothing(db: Database, alice: Actor) -> None:
    """The Actor was looked up before the block; the flag is read again in the write (issue 11 item 3)."""
    created = create(db, alice)
    db.write(set_blocked, "alice", True)
    edit = {"op_id": "late", "slug": "tea", "base_rev": created["rev"], "body": "spam"}
    refused = db.write(apply_op, edit, alice, POLICY)
    assert refused["status"] == REJECTED and refused["reason"] == "blocked"
    assert "blocked" in refused["message"]
    assert db.write(apply_op, {"op_id": "new", "title": "Spam", "base_rev": None, "body": "x"}, alice,
                    POLICY)["reason"] == "blocked"
    assert revision_count(db) == 1 and db.read(pages.get_page, "spam") is None
    db.write(set_blocked, "alice", False)
    assert db.write(apply_op, edit, alice, POLICY)["status"] == APPLIED  # the refusal was not stored


@pytest.mark.parametrize(
    ("op", "reason"),
    [
        ("not an object", "invalid_op"),
        ({"op_id": "", "body": "x"}, "invalid_op"),
        ({"op_id": "x" * 101, "body": "x"}, "invalid_op"),
        ({"op_id": "t", "type": "delete", "body": "x"}, "invalid_op"),
        ({"op_id": "t", "body": 5}, "invalid_op"),
        ({"op_id": "t", "body": "a\x00b", "title": "T"}, "invalid_op"),
        ({"op_id": "t", "body": "x", "title": "   "}, "bad_title"),
        ({"op_id": "t", "body": "x", "title": "t" * 201}, "bad_title"),
        ({"op_id": "t", "body": "x" * 200_001, "title": "Big"}, "too_large"),
        ({"op_id": "t", "body": "x", "slug": "missing", "base_rev": "r"}, "not_found"),
    ],
)
def test_invalid_ops_are_rejected_with_reasons(db: Database, alice: Actor, op: object, reason: str) -> None:
    result = db.write(apply_op, op, alice, POLICY)
    assert result["status"] == REJECTED and result["reason"] == reason and result["message"]
    assert revision_count(db) == 0


def test_creating_an_existing_title_adds_to_the_page_keeping_both_texts(db: Database, alice: Actor,
                                                                        bob: Actor) -> None:
    """Issue 10 item 6: two people started the same page offline; the second create is an edit on an empty base."""
    create(db, alice, body="Leaves.\n")
    again = create(db, bob, title="tea", body="Hot water.\n", op_id="c2")
    assert again["status"] == MERGED and again["slug"] == "tea" and again["page_existed"] and again["kept_both"]
    page = db.read(pages.get_page, "tea")
    assert page["body"] == "Leaves.\n\nHot water.\n" and page["title"] == "Tea"
    newest = db.read(pages.page_history, page["page_id"])[0]
    assert newest["author"] == "bob" and newest["summary"] == (
        "This page had been started already; merged with changes by alice; kept both additions at the same place")


def test_creating_an_existing_title_with_the_same_text_writes_nothing(db: Database, alice: Actor, bob: Actor) -> None:
    created = create(db, alice)
    again = create(db, bob, title="Tea", body="Leaves.", op_id="c2")
    assert again["status"] == MERGED and again["unchanged"] and again["rev"] == created["rev"]
    assert revision_count(db) == 1


def test_creating_an_existing_protected_page_is_refused(db: Database, alice: Actor, bob: Actor) -> None:
    create(db, alice)
    db.write(pages.set_protected, db.read(pages.get_page, "tea")["page_id"], True)
    assert create(db, bob, title="Tea", body="Mine", op_id="c2")["reason"] == "protected"


def test_too_large_says_both_sizes(db: Database, alice: Actor) -> None:
    result = create(db, alice, body="é" * 650_000)  # 1.3 MB of UTF-8
    assert result["reason"] == "too_large" and result["size"] == 1_300_000 and result["limit"] == 200_000
    assert result["message"] == "The page is too large (1.3 MB; the limit is 200 kB)."


@pytest.mark.parametrize(("n", "words"), [(0, "0 kB"), (499, "0 kB"), (500, "1 kB"), (2_500, "3 kB"),
                                           (200_000, "200 kB"), (200_001, "200 kB"), (999_499, "999 kB"),
                                           (1_000_000, "1.0 MB"), (1_250_000, "1.3 MB"), (1_249_999, "1.2 MB"),
                                           (12_345_678, "12.3 MB")])
def test_sizes_are_written_as_people_read_them(n: int, words: str) -> None:
    assert format_size(n) == words


def test_unknown_base_is_distinguished_from_stale(db: Database, alice: Actor) -> None:
    create(db, alice)
    result = db.write(apply_op, {"op_id": "u", "slug": "tea", "base_rev": "01ZZZ", "body": "x"}, alice, POLICY)
    assert result["reason"] == "unknown_base"


def test_anonymous_edits_need_the_setting(db: Database) -> None:
    nobody = Actor(None, "anonymous")
    op = {"op_id": "n1", "title": "Anon", "base_rev": None, "body": "x"}
    assert db.write(apply_op, op, nobody, POLICY)["reason"] == "login_required"
    assert db.write(apply_op, op, nobody, Policy(anonymous_edits=True))["status"] == APPLIED


def test_protected_page_takes_edits_from_moderators_only(db: Database, alice: Actor) -> None:
    created = create(db, alice)
    page = db.read(pages.get_page, "tea")
    db.write(pages.set_protected, page["page_id"], True)
    edit = {"op_id": "p1", "slug": "tea", "base_rev": created["rev"], "body": "new"}
    assert db.write(apply_op, edit, alice, POLICY)["reason"] == "protected"
    moderator = Actor(alice.user_id, "alice", ROLE_MODERATOR)
    assert db.write(apply_op, edit, moderator, POLICY)["status"] == APPLIED


def test_another_accounts_op_id_is_refused(db: Database, alice: Actor, bob: Actor) -> None:
    create(db, alice)
    stolen = create(db, bob, title="Other")
    assert stolen["reason"] == "op_id_taken"


def test_unchanged_edit_writes_no_revision(db: Database, alice: Actor) -> None:
    created = create(db, alice)
    same = db.write(apply_op, {"op_id": "s", "slug": "tea", "base_rev": created["rev"], "body": "Leaves."}, alice,
                    POLICY)
    assert same["status"] == APPLIED and same["unchanged"] and revision_count(db) == 1


def test_batch_applies_in_order_in_one_transaction(db: Database, alice: Actor) -> None:
    ops = [{"op_id": f"b{i}", "title": f"Page {i}", "base_rev": None, "body": str(i)} for i in range(5)]
    results = db.write(apply_ops, ops, alice, POLICY)
    assert [r["status"] for r in results] == [APPLIED] * 5
    assert [r["seq"] for r in results] == sorted(r["seq"] for r in results)


def test_results_are_stored_per_op(db: Database, alice: Actor) -> None:
    created = create(db, alice)
    stored = db.read(lambda conn: list(conn.execute("SELECT status, result FROM ops")))
    assert len(stored) == 1 and json.loads(stored[0]["result"])["rev"] == created["rev"]
    assert all(status in STATUSES for status in [stored[0]["status"]])


def test_create_of_a_look_alike_title_is_applied_with_a_warning(db: Database, alice: Actor, bob: Actor) -> None:
    create(db, alice, title="Café", op_id="latin")
    cyrillic = create(db, bob, title="\u0421af\u00e9", body="Written offline.", op_id="cyrillic")
    assert cyrillic["status"] == APPLIED and cyrillic["created"] and cyrillic["slug"] == "сafé"
    assert (cyrillic["warning"], cyrillic["similar"], cyrillic["similar_title"]) == ("confusable", "café", "Café")
    again = create(db, bob, title="café", body="Same page.", op_id="same-title")  # same slug: merged, no warning
    assert again["status"] == MERGED and again["slug"] == "café" and "warning" not in again


def test_long_titles_that_share_their_first_80_slug_characters_are_two_pages(db: Database, alice: Actor) -> None:
    prefix = "Minutes of the water committee meeting held at the old school hall in the village of "
    kisumu = create(db, alice, title=prefix + "Kisumu", body="Kisumu minutes.", op_id="k")
    nakuru = create(db, alice, title=prefix + "Nakuru", body="Nakuru minutes.", op_id="n")
    assert kisumu["created"] and nakuru["created"] and kisumu["slug"] != nakuru["slug"]
    assert db.read(pages.get_page, kisumu["slug"])["body"] == "Kisumu minutes."
    assert db.read(pages.get_page, nakuru["slug"])["body"] == "Nakuru minutes."
    again = create(db, alice, title=prefix + "Kisumu", body="More minutes.", op_id="k2")  # same title: rule 8
    assert again["status"] == MERGED and again["slug"] == kisumu["slug"] and again["page_existed"]
