"""The sync API through the Litestar test client: merged and conflicting pushes, conflicts, checkpoints."""

from __future__ import annotations

from conftest import bearer, new_op, push, sign_up
from litestar.testing import TestClient

from server.app import create_app
from server.settings import Settings

BASE = "Tea is a drink made from leaves. It is served hot. Some people add milk.\n\nSecond paragraph.\n"


def start_page(client: TestClient, token: str, title: str = "Tea") -> dict:
    [created] = push(client, token, new_op(title=title, base_rev=None, body=BASE))
    assert created["status"] == "applied"
    return created


def history(client: TestClient, slug: str) -> list[dict]:
    return client.get(f"/api/pages/{slug}/history").json()["revisions"]


def test_stale_edits_in_different_sentences_merge_and_credit_both(client: TestClient) -> None:
    alice, bob = sign_up(client, "alice"), sign_up(client, "bob")
    created = start_page(client, alice)
    [first] = push(client, alice, new_op(slug="tea", base_rev=created["rev"],
                                          body=BASE.replace("served hot", "served hot or iced")))
    [second] = push(client, bob, new_op(slug="tea", base_rev=created["rev"], summary="milk",
                                         body=BASE.replace("add milk", "add milk or lemon")))
    assert first["status"] == "applied" and second["status"] == "merged"
    assert second["merged_with"] == ["alice"] and second["base_rev"] == created["rev"]
    assert second["head_rev"] == first["rev"]
    page = client.get("/api/pages/tea").json()
    assert "hot or iced" in page["body"] and "milk or lemon" in page["body"] and page["rev"] == second["rev"]
    newest = history(client, "tea")[0]
    assert newest["author"] == "bob" and newest["summary"] == "milk (merged with changes by alice)"


def test_overlapping_edit_becomes_a_conflict_that_the_author_resolves(client: TestClient) -> None:
    alice, bob = sign_up(client, "alice"), sign_up(client, "bob")
    created = start_page(client, alice)
    push(client, alice, new_op(slug="tea", base_rev=created["rev"], body=BASE.replace("milk", "honey")))
    ours = BASE.replace("milk", "sugar")
    [result] = push(client, bob, new_op(slug="tea", base_rev=created["rev"], body=ours))
    assert result["status"] == "conflict" and result["conflict_id"]
    revisions_before = len(history(client, "tea"))

    listed = client.get("/api/sync/conflicts", headers=bearer(bob)).json()["conflicts"]
    assert [c["id"] for c in listed] == [result["conflict_id"]]
    conflict = listed[0]
    assert conflict["ours"]["body"] == ours and conflict["base"]["rev"] == created["rev"]
    assert "honey" in conflict["head"]["body"] and "sugar" in conflict["proposal"] and "honey" in conflict["proposal"]
    assert any(part["conflict"] for part in conflict["parts"])
    assert client.get("/api/sync/conflicts", headers=bearer(alice)).json()["conflicts"] == []

    url = f"/api/sync/conflicts/{result['conflict_id']}"
    assert client.post(url + "/resolve", json={"body": "x"}, headers=bearer(alice)).status_code == 404
    assert client.post("/api/sync/conflicts/nope/resolve", json={"body": "x"}, headers=bearer(bob)).status_code == 404
    assert client.post(url + "/resolve", json={"body": "x"}).status_code == 401
    chosen = BASE.replace("milk", "honey and sugar")
    resolved = client.post(url + "/resolve", json={"body": chosen}, headers=bearer(bob))
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    again = client.post(url + "/resolve", json={"body": chosen}, headers=bearer(bob))
    assert again.status_code == 409 and again.json()["extra"]["resolved_rev"] == resolved.json()["rev"]
    page = client.get("/api/pages/tea").json()
    assert page["body"] == chosen and page["rev"] == resolved.json()["rev"]
    assert len(history(client, "tea")) == revisions_before + 1
    assert client.get("/api/sync/conflicts", headers=bearer(bob)).json()["conflicts"] == []
    assert client.get(url, headers=bearer(bob)).json()["status"] == "resolved"


def test_discarding_a_conflict_writes_nothing(client: TestClient) -> None:
    alice, bob = sign_up(client, "alice"), sign_up(client, "bob")
    created = start_page(client, alice)
    push(client, alice, new_op(slug="tea", base_rev=created["rev"], body="All new.\n"))
    [result] = push(client, bob, new_op(slug="tea", base_rev=created["rev"], body="Mine instead.\n"))
    url = f"/api/sync/conflicts/{result['conflict_id']}"
    assert client.post(url + "/discard", headers=bearer(bob)).json()["status"] == "discarded"
    assert client.post(url + "/discard", headers=bearer(bob)).status_code == 409
    assert client.get("/api/pages/tea").json()["body"] == "All new.\n"


def test_replays_of_merged_and_conflicting_ops_are_duplicates_after_a_restart(settings: Settings) -> None:
    ops: dict[str, dict] = {}
    with TestClient(create_app(settings)) as client:
        alice, bob = sign_up(client, "alice"), sign_up(client, "bob")
        created = start_page(client, alice)
        push(client, alice, new_op(slug="tea", base_rev=created["rev"], body=BASE.replace("hot", "warm")))
        ops["merged"] = new_op(slug="tea", base_rev=created["rev"], body=BASE.replace("Second", "Another"))
        ops["conflict"] = new_op(slug="tea", base_rev=created["rev"], body=BASE.replace("hot", "cold"))
        firsts = push(client, bob, ops["merged"], ops["conflict"])
        assert [r["status"] for r in firsts] == ["merged", "conflict"]
        revisions = client.get("/api/status").json()["revisions"]
    with TestClient(create_app(settings)) as client:
        replies = push(client, bob, ops["conflict"], ops["merged"])
        assert [r["status"] for r in replies] == ["duplicate", "duplicate"]
        assert [r["first_status"] for r in replies] == ["conflict", "merged"]
        assert replies[0]["conflict_id"] == firsts[1]["conflict_id"] and replies[0]["conflict_status"] == "open"
        assert replies[1]["rev"] == firsts[0]["rev"]
        assert client.get("/api/status").json()["revisions"] == revisions
        assert len(client.get("/api/sync/conflicts", headers=bearer(bob)).json()["conflicts"]) == 1


def test_resolution_lands_on_a_head_that_moved_again(client: TestClient) -> None:
    alice, bob = sign_up(client, "alice"), sign_up(client, "bob")
    created = start_page(client, alice)
    [second] = push(client, alice, new_op(slug="tea", base_rev=created["rev"], body="Rewritten.\n"))
    [result] = push(client, bob, new_op(slug="tea", base_rev=created["rev"], body="Bob's text.\n"))
    [third] = push(client, alice, new_op(slug="tea", base_rev=second["rev"], body="Rewritten again.\n"))
    conflict = client.get(f"/api/sync/conflicts/{result['conflict_id']}", headers=bearer(bob)).json()
    assert conflict["head"]["rev"] == third["rev"] and conflict["head_rev_at_conflict"] == second["rev"]
    assert "Rewritten again." in conflict["proposal"]
    resolved = client.post(f"/api/sync/conflicts/{result['conflict_id']}/resolve",
                           json={"body": "Bob's text, kept.\n"}, headers=bearer(bob)).json()
    assert history(client, "tea")[0]["rev"] == resolved["rev"]
    assert [r["rev"] for r in history(client, "tea")][1] == third["rev"]


def test_changes_feed_pages_includes_bodies_and_gzips(client: TestClient) -> None:
    token = sign_up(client)
    for i in range(5):
        push(client, token, new_op(title=f"Feed page {i}", base_rev=None, body=f"Body {i} " + "words " * 300))
    start = client.get("/api/sync/changes", params={"since": 0, "limit": 1000}).json()["last_seq"] - 5
    first = client.get("/api/sync/changes", params={"since": start, "limit": 2}).json()
    assert len(first["changes"]) == 2 and first["more"] and "body" not in first["changes"][0]
    rest = client.get("/api/sync/changes", params={"since": first["last_seq"], "limit": 10, "include": "body,html"},
                      headers={"Accept-Encoding": "gzip"})
    assert rest.headers["content-encoding"] == "gzip" and "Accept-Encoding" in rest.headers["vary"]
    data = rest.json()
    assert [c["slug"] for c in data["changes"]] == ["feed-page-2", "feed-page-3", "feed-page-4"]
    assert data["changes"][0]["body"].startswith("Body 2") and "<p>" in data["changes"][0]["html"]
    assert not data["more"]
    assert client.get("/api/sync/changes", params={"include": "secrets"}).status_code == 400


def test_device_checkpoints_move_forward_unless_reset(client: TestClient) -> None:
    token = sign_up(client)
    url = "/api/sync/checkpoints/phone-1"
    assert client.get(url, headers=bearer(token)).json() == {"device_id": "phone-1", "last_seq": 0,
                                                            "updated_at": None}
    assert client.put(url, json={"last_seq": 40}, headers=bearer(token)).json()["last_seq"] == 40
    assert client.put(url, json={"last_seq": 12}, headers=bearer(token)).json()["last_seq"] == 40
    assert client.put(url, json={"last_seq": 12, "reset": True}, headers=bearer(token)).json()["last_seq"] == 12
    assert client.put(url, json={"last_seq": -1}, headers=bearer(token)).status_code == 400
    listed = client.get("/api/sync/checkpoints", headers=bearer(token)).json()["checkpoints"]
    assert [(c["device_id"], c["last_seq"]) for c in listed] == [("phone-1", 12)]
    other = sign_up(client)
    assert client.get(url, headers=bearer(other)).json()["last_seq"] == 0
    assert client.get(url).status_code == 401
    assert client.get("/api/sync/checkpoints/" + "x" * 101, headers=bearer(token)).status_code == 400


def test_ops_of_another_account_are_refused_and_nothing_is_written(client) -> None:
    alice, bob = sign_up(client, "alice-acct"), sign_up(client, "bob-acct")
    op = new_op(title="Held for alice", base_rev=None, body="made by alice offline")
    for token, account in ((bob, "alice-acct"), (None, "alice-acct"), (alice, "")):
        reply = client.post("/api/sync/push", json={"device_id": "d1", "account": account, "ops": [op]},
                            headers=bearer(token) if token else {})
        assert reply.status_code == 401, reply.text
        assert "edits were made" in reply.json()["detail"] or "Log in" in reply.json()["detail"]
    assert client.get("/api/pages/held-for-alice").status_code == 404
    reply = client.post("/api/sync/push", json={"device_id": "d1", "account": "Alice-Acct", "ops": [op]},
                        headers=bearer(alice))
    assert reply.json()["results"][0]["status"] == "applied"
    assert client.get("/api/pages/held-for-alice/history").json()["revisions"][0]["author"] == "alice-acct"
