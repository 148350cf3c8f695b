"""Conflicts and their resolution at the storage level: kept whole, owned, resolved once, titles merged."""

from __future__ import annotations

import pytest

from server import pages
from server.db import Database
from server.users import Actor, create_user
from sync.apply import Policy, apply_op
from sync.conflicts import ConflictError, count_open, get_conflict, list_conflicts
from sync.resolve import discard_conflict, resolve_conflict
from sync.vocabulary import CONFLICT, DUPLICATE, MERGED

POLICY = Policy()
BODY = "First line.\nSecond line.\n"


def actor(db: Database, name: str) -> Actor:
    return Actor(db.write(create_user, name, "not-a-real-hash")["id"], name)


def op(op_id: str, base_rev: str | None, body: str, **extra: object) -> dict:
    return {"op_id": op_id, "slug": "tea", "title": "Tea" if base_rev is None else None, "base_rev": base_rev,
            "body": body, **extra}


def test_conflict_is_kept_whole_and_resolved_once(db: Database) -> None:
    alice, bob = actor(db, "alice"), actor(db, "bob")
    created = db.write(apply_op, op("c", None, BODY), alice, POLICY)
    db.write(apply_op, op("a", created["rev"], BODY.replace("First", "Alice's first")), alice, POLICY)
    mine = BODY.replace("First", "Bob's first")
    result = db.write(apply_op, op("b", created["rev"], mine, summary="bob"), bob, POLICY, "phone")
    assert result["status"] == CONFLICT
    [conflict] = db.read(list_conflicts, bob.user_id)
    assert conflict["ours"] == {"title": "Tea", "body": mine, "summary": "bob"} and conflict["device_id"] == "phone"
    assert db.read(count_open, bob.user_id) == 1 and db.read(list_conflicts, alice.user_id) == []
    with pytest.raises(ConflictError) as refused:
        db.write(resolve_conflict, conflict["id"], alice, POLICY, "x")
    assert refused.value.kind == "not_owner"
    done = db.write(resolve_conflict, conflict["id"], bob, POLICY, "Both firsts.\nSecond line.\n")
    assert db.read(pages.get_page, "tea")["rev"] == done["rev"]
    with pytest.raises(ConflictError) as closed:
        db.write(resolve_conflict, conflict["id"], bob, POLICY, "again")
    assert closed.value.kind == "closed" and closed.value.extra["resolved_rev"] == done["rev"]
    replay = db.write(apply_op, op("b", created["rev"], mine), bob, POLICY)
    assert replay["status"] == DUPLICATE and replay["conflict_status"] == "resolved"


def test_proposal_follows_a_head_that_moved(db: Database) -> None:
    alice, bob = actor(db, "alice"), actor(db, "bob")
    created = db.write(apply_op, op("c", None, BODY), alice, POLICY)
    second = db.write(apply_op, op("a", created["rev"], "One.\nSecond line.\n"), alice, POLICY)
    result = db.write(apply_op, op("b", created["rev"], "Uno.\nSecond line.\n"), bob, POLICY)
    db.write(apply_op, op("a2", second["rev"], "One.\nSecond line, longer.\n"), alice, POLICY)
    conflict = db.read(get_conflict, result["conflict_id"], bob)
    assert "Second line, longer." in conflict["proposal"] and "Uno." in conflict["proposal"]


def test_discard_and_unknown(db: Database) -> None:
    alice, bob = actor(db, "alice"), actor(db, "bob")
    created = db.write(apply_op, op("c", None, BODY), alice, POLICY)
    db.write(apply_op, op("a", created["rev"], "A\n"), alice, POLICY)
    result = db.write(apply_op, op("b", created["rev"], "B\n"), bob, POLICY)
    assert db.write(discard_conflict, result["conflict_id"], bob)["status"] == "discarded"
    assert db.read(pages.get_page, "tea")["body"] == "A\n"
    with pytest.raises(ConflictError) as missing:
        db.read(get_conflict, "nope", bob)
    assert missing.value.kind == "not_found"


def test_titles_merge_like_text(db: Database) -> None:
    alice, bob = actor(db, "alice"), actor(db, "bob")
    created = db.write(apply_op, op("c", None, BODY), alice, POLICY)
    db.write(apply_op, op("a", created["rev"], BODY, title="Green tea"), alice, POLICY)
    renamed_once = db.write(apply_op, op("b", created["rev"], BODY + "Third.\n"), bob, POLICY)
    assert renamed_once["status"] == MERGED and renamed_once["title"] == "Green tea"
    head = db.read(pages.get_page, "tea")["rev"]
    db.write(apply_op, op("a2", head, BODY, title="Black tea"), alice, POLICY)
    clash = db.write(apply_op, op("b2", head, BODY + "Third.\n", title="White tea"), bob, POLICY)
    assert clash["status"] == CONFLICT
    assert db.read(get_conflict, clash["conflict_id"], bob)["ours"]["title"] == "White tea"


def test_an_authors_own_chain_of_offline_edits_merges_without_crediting_themselves(db: Database) -> None:
    alice = actor(db, "alice")
    created = db.write(apply_op, op("c", None, BODY), alice, POLICY)
    first = BODY.replace("First", "Edited first")
    second = first.replace("Second", "Edited second")
    results = [db.write(apply_op, op(i, created["rev"], body), alice, POLICY) for i, body in (("1", first),
                                                                                            ("2", second))]
    assert [r["status"] for r in results] == ["applied", MERGED] and results[1]["merged_with"] == []
    page = db.read(pages.get_page, "tea")
    assert page["body"] == second
    assert db.read(pages.page_history, page["page_id"])[0]["summary"] == ""
