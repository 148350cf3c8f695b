"""Chains of one author's edits (`after_op`, sync/chains.py): never a conflict with oneself, in any order.

Issue 10 item 3, reproduced through the API: page "Shopping list:\\n- milk\\n" at R0, op1 on R0 adds "- eggs",
op2 on R0 adds "- eggs\\n- bread". Without `after_op` the second was a conflict against its author's own text.
"""

from __future__ import annotations

import itertools

import pytest
from conftest import bearer, new_op, push, sign_up
from litestar.testing import TestClient

from server import pages
from server.db import Database
from server.users import Actor, create_user
from sync.apply import Policy, apply_op, apply_ops
from sync.vocabulary import APPLIED, CONFLICT, DUPLICATE, MERGED

LIST = "Shopping list:\n- milk\n"
EGGS = LIST + "- eggs\n"
BREAD = EGGS + "- bread\n"
JAM = BREAD + "- jam\n"
POLICY = Policy()


def start_list(client: TestClient, token: str) -> dict:
    [created] = push(client, token, new_op(title="Shopping list", base_rev=None, body=LIST))
    return created


def page_of(client: TestClient) -> dict:
    return client.get("/api/pages/shopping-list").json()


def revisions(client: TestClient) -> list[dict]:
    return client.get("/api/pages/shopping-list/history").json()["revisions"]


@pytest.mark.parametrize("order", ["one batch", "separate pushes", "later first", "later first, one batch"])
def test_an_edit_on_top_of_ones_own_waiting_edit_never_conflicts(client: TestClient, order: str) -> None:
    token = sign_up(client, "alice")
    r0 = start_list(client, token)["rev"]
    op1 = new_op(slug="shopping-list", base_rev=r0, body=EGGS)
    op2 = new_op(slug="shopping-list", base_rev=r0, body=BREAD, after_op=op1["op_id"])
    if order == "one batch":
        first, second = push(client, token, op1, op2)
    elif order == "separate pushes":
        [first], [second] = push(client, token, op1), push(client, token, op2)
    elif order == "later first":
        [second], [first] = push(client, token, op2), push(client, token, op1)
    else:
        second, first = push(client, token, op2, op1)
    assert first["status"] == APPLIED and second["status"] == APPLIED
    assert page_of(client)["body"] == BREAD and page_of(client)["rev"] == second["rev"]
    assert client.get("/api/sync/conflicts", headers=bearer(token)).json()["conflicts"] == []
    if order.startswith("later first"):
        # The earlier op arrived after the later one, which holds its text: answered, nothing written.
        assert first["superseded_by"] == op2["op_id"] and first["unchanged"] and first["rev"] == second["rev"]
        assert len(revisions(client)) == 2
    else:
        assert second["after_op"] == op1["op_id"] and len(revisions(client)) == 3


def test_replays_of_a_chain_repeat_the_first_answers(client: TestClient) -> None:
    token = sign_up(client, "alice")
    r0 = start_list(client, token)["rev"]
    op1 = new_op(slug="shopping-list", base_rev=r0, body=EGGS)
    op2 = new_op(slug="shopping-list", base_rev=r0, body=BREAD, after_op=op1["op_id"])
    [second] = push(client, token, op2)
    firsts = push(client, token, op1, op2)
    again = push(client, token, op2, op1)  # the reply was lost: everything is sent again
    assert [r["status"] for r in again] == [DUPLICATE, DUPLICATE]
    assert again[1]["superseded_by"] == op2["op_id"] and again[1]["rev"] == second["rev"] == firsts[0]["rev"]
    assert page_of(client)["body"] == BREAD and len(revisions(client)) == 2


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_a_chain_of_three_lands_whole_in_every_order(client: TestClient, order: tuple[int, ...]) -> None:
    token = sign_up(client, "alice")
    r0 = start_list(client, token)["rev"]
    ops: list[dict] = []
    for body in (EGGS, BREAD, JAM):
        ops.append(new_op(slug="shopping-list", base_rev=r0, body=body,
                          after_op=ops[-1]["op_id"] if ops else None))
    results = [push(client, token, ops[i])[0] for i in order]
    assert all(r["status"] in (APPLIED, MERGED) for r in results), results
    assert page_of(client)["body"] == JAM


def test_a_later_edit_of_the_authors_merged_edit_keeps_the_other_change(client: TestClient) -> None:
    """The later op is merged against the author's own earlier text, not the merged revision: Bob's change
    (which the author never saw) is not undone, and the line the author changed is not doubled."""
    alice, bob = sign_up(client, "alice"), sign_up(client, "bob")
    r0 = start_list(client, alice)["rev"]
    push(client, bob, new_op(slug="shopping-list", base_rev=r0, body=LIST.replace("list:", "list (shared):")))
    op1 = new_op(slug="shopping-list", base_rev=r0, body=EGGS)
    op2 = new_op(slug="shopping-list", base_rev=r0, body=LIST + "- 12 eggs\n", after_op=op1["op_id"])
    first, second = push(client, alice, op1, op2)
    assert first["status"] == MERGED and second["status"] == MERGED and second["after_op"] == op1["op_id"]
    assert page_of(client)["body"] == "Shopping list (shared):\n- milk\n- 12 eggs\n"


def test_a_later_edit_replaces_the_authors_open_conflict(client: TestClient) -> None:
    alice, bob = sign_up(client, "alice"), sign_up(client, "bob")
    r0 = start_list(client, alice)["rev"]
    push(client, bob, new_op(slug="shopping-list", base_rev=r0, body=LIST.replace("milk", "oat milk")))
    op1 = new_op(slug="shopping-list", base_rev=r0, body=LIST.replace("milk", "soy milk"))
    op2 = new_op(slug="shopping-list", base_rev=r0, body=LIST.replace("milk", "soy milk") + "- eggs\n",
                 after_op=op1["op_id"])
    [first] = push(client, alice, op1)
    [second] = push(client, alice, op2)
    assert first["status"] == CONFLICT and second["status"] == CONFLICT
    assert second["replaced_conflict"] == first["conflict_id"]
    listed = client.get("/api/sync/conflicts", headers=bearer(alice)).json()["conflicts"]
    assert [c["id"] for c in listed] == [second["conflict_id"]]  # the author resolves once
    assert "- eggs" in listed[0]["ours"]["body"] and listed[0]["base"]["rev"] == r0
    replay = push(client, alice, op1)[0]
    assert replay["status"] == DUPLICATE and replay["conflict_status"] == "superseded"


def test_a_later_edit_that_no_longer_overlaps_settles_the_authors_conflict(client: TestClient) -> None:
    alice, bob = sign_up(client, "alice"), sign_up(client, "bob")
    r0 = start_list(client, alice)["rev"]
    push(client, bob, new_op(slug="shopping-list", base_rev=r0, body=LIST.replace("milk", "oat milk")))
    op1 = new_op(slug="shopping-list", base_rev=r0, body=LIST.replace("milk", "soy milk"))
    op2 = new_op(slug="shopping-list", base_rev=r0, body=EGGS, after_op=op1["op_id"])  # "soy" undone
    first, second = push(client, alice, op1, op2)
    assert first["status"] == CONFLICT and second["status"] == MERGED
    assert page_of(client)["body"] == "Shopping list:\n- oat milk\n- eggs\n"
    assert client.get("/api/sync/conflicts", headers=bearer(alice)).json()["conflicts"] == []
    closed = client.get(f"/api/sync/conflicts/{first['conflict_id']}", headers=bearer(alice)).json()
    assert closed["status"] == "superseded" and closed["resolved_rev"] == second["rev"]


def test_a_later_edit_after_a_resolved_conflict_adds_only_its_own_change(client: TestClient) -> None:
    alice, bob = sign_up(client, "alice"), sign_up(client, "bob")
    r0 = start_list(client, alice)["rev"]
    push(client, bob, new_op(slug="shopping-list", base_rev=r0, body=LIST.replace("milk", "oat milk")))
    op1 = new_op(slug="shopping-list", base_rev=r0, body=LIST.replace("milk", "soy milk"))
    [first] = push(client, alice, op1)
    resolved = client.post(f"/api/sync/conflicts/{first['conflict_id']}/resolve", headers=bearer(alice),
                           json={"body": LIST.replace("milk", "oat or soy milk")})
    assert resolved.status_code == 200
    op2 = new_op(slug="shopping-list", base_rev=r0, body=LIST.replace("milk", "soy milk") + "- eggs\n",
                 after_op=op1["op_id"])
    [second] = push(client, alice, op2)
    assert second["status"] == MERGED
    assert page_of(client)["body"] == "Shopping list:\n- oat or soy milk\n- eggs\n"


def test_a_chain_that_starts_with_a_create_follows_the_page_it_made(client: TestClient) -> None:
    token = sign_up(client, "alice")
    op1 = new_op(title="Shopping list", base_rev=None, body=LIST)
    op2 = new_op(title="Shopping list", slug="shopping-list-guess", base_rev=None, body=EGGS,
                 after_op=op1["op_id"])
    first, second = push(client, token, op1, op2)
    assert first["created"] and second["status"] == APPLIED and second["slug"] == "shopping-list"
    assert page_of(client)["body"] == EGGS and len(revisions(client)) == 2
    client2_op1 = new_op(title="Packing list", base_rev=None, body="Tent\n")
    client2_op2 = new_op(title="Packing list", base_rev=None, body="Tent\nStove\n", after_op=client2_op1["op_id"])
    later, earlier = push(client, token, client2_op2, client2_op1)
    assert later["created"] and earlier["superseded_by"] == client2_op2["op_id"]
    assert client.get("/api/pages/packing-list").json()["body"] == "Tent\nStove\n"


# --- at the apply_op level: accounts ---------------------------------------------------------------


def actor(db: Database, name: str) -> Actor:
    return Actor(db.write(create_user, name, "not-a-real-hash")["id"], name)


def test_naming_another_accounts_op_bases_nothing_on_it(db: Database) -> None:
    alice, bob = actor(db, "alice"), actor(db, "bob")
    [created] = db.write(apply_ops, [new_op(title="Shopping list", base_rev=None, body=LIST)], alice, POLICY)
    bobs = new_op(slug="shopping-list", base_rev=created["rev"], body=LIST + "- tea\n")
    sneaky = new_op(slug="shopping-list", base_rev=created["rev"], body=EGGS, after_op=bobs["op_id"])
    # Bob's op is not known yet: Alice's op, which names it, must not swallow it when it comes.
    mine = db.write(apply_op, sneaky, alice, POLICY)
    theirs = db.write(apply_op, bobs, bob, POLICY)
    assert mine["status"] == APPLIED and "after_op" not in mine
    assert theirs["status"] == MERGED and "superseded_by" not in theirs
    assert db.read(pages.get_page, "shopping-list")["body"] == EGGS + "- tea\n"
    # Known now, and still not a base for Alice: her next op is merged with Bob's work, crediting him.
    again = new_op(slug="shopping-list", base_rev=created["rev"], body=EGGS + "- jam\n", after_op=bobs["op_id"])
    result = db.write(apply_op, again, alice, POLICY)
    assert result["status"] == MERGED and result["merged_with"] == ["bob"] and "after_op" not in result


def test_an_op_naming_itself_is_refused(db: Database) -> None:
    alice = actor(db, "alice")
    op = new_op(title="Loop", base_rev=None, body="x")
    result = db.write(apply_op, {**op, "after_op": op["op_id"]}, alice, POLICY)
    assert result["reason"] == "invalid_op" and "after_op" in result["message"]


def test_an_edit_made_after_a_refresh_starts_from_what_the_device_showed(db: Database) -> None:
    """`after_op` names an op acknowledged long ago; the device has since shown a newer head (Bob's)."""
    alice, bob = actor(db, "alice"), actor(db, "bob")
    [created] = db.write(apply_ops, [new_op(title="Shopping list", base_rev=None, body=LIST)], alice, POLICY)
    mine = db.write(apply_op, new_op(slug="shopping-list", base_rev=created["rev"], body=EGGS), alice, POLICY)
    theirs = db.write(apply_op, new_op(slug="shopping-list", base_rev=mine["rev"], body=EGGS + "- tea\n"), bob,
                      POLICY)
    later = new_op(slug="shopping-list", base_rev=theirs["rev"], body=EGGS + "- jam\n", after_op=mine["op_id"])
    result = db.write(apply_op, later, alice, POLICY)
    assert result["status"] == APPLIED and "after_op" not in result  # Bob's "- tea" was deliberately removed
    assert db.read(pages.get_page, "shopping-list")["body"] == EGGS + "- jam\n"
