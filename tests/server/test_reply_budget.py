"""Every list reply has a byte budget (issue 11): it stops early, says more, and its cursor yields each item once.

One app serves all the budgets: its settings are swapped between them (handlers read them per request).
A budget of 1 byte makes every reply hold exactly one item; the largest makes one reply hold everything.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Iterator

import pytest
from conftest import bearer, new_op, push, sign_up
from litestar.testing import TestClient

from server.app import create_app
from server.settings import Settings

BUDGETS = (1, 4_000, 25_000, 10_000_000)
# The reply's own names around its list (`{"changes":[…],"last_seq":…,"more":…}` and the like).
ENVELOPE_BYTES = 300


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Pages of varied sizes, one with a long history, an account with conflicts and many devices."""
    settings = Settings(data=tmp_path_factory.mktemp("budget") / "data", model="hashing", seed=False,
                        rate_edit="off")
    rng = random.Random(11)
    with TestClient(create_app(settings)) as client:
        mover, author = sign_up(client, "mover"), sign_up(client, "author")
        pages = []
        for number in range(24):
            text = "\n\n".join(f"Paragraph {p} of page {number}. " + "words " * rng.randint(5, 900)
                               for p in range(rng.randint(2, 6)))
            [made] = push(client, mover, new_op(title=f"Page {number}", base_rev=None, body=text))
            pages.append({**made, "body": text})
        conflicts = []
        for page in pages[:7]:  # the mover changes the first line, then the author changes it from the old base
            rest = page["body"].split("\n\n", 1)[-1]
            push(client, mover, new_op(slug=page["slug"], base_rev=page["rev"], body="Mover's line.\n\n" + rest))
            [result] = push(client, author, new_op(slug=page["slug"], base_rev=page["rev"],
                                                   body="Author's line.\n\n" + rest))
            assert result["status"] == "conflict", result
            conflicts.append(result["conflict_id"])
        head = pages[0]["rev"]
        for number in range(30):
            [result] = push(client, mover, new_op(slug="page-0", base_rev=head, body=f"Version {number}.",
                                                  summary=f"summary {number} " + "x" * rng.randint(0, 400)))
            head = result["rev"]
        for number in range(40):
            reply = client.put(f"/api/sync/checkpoints/device-{number:02d}", json={"last_seq": number},
                               headers=bearer(author))
            assert reply.status_code == 200, reply.text
        history = client.get("/api/pages/page-0/history", params={"limit": 500}).json()
        assert not history["more"]
        yield {"client": client, "settings": settings, "author": author, "slugs": [p["slug"] for p in pages],
               "conflicts": conflicts, "history": [r["seq"] for r in history["revisions"]]}


def follow(client: TestClient, url: str, items: str, key: str, cursor_param: str, cursor_field: str,
           budget: int, params: dict | None = None, headers: dict | None = None) -> list[list]:
    """Every reply's item keys, following the cursor while `more`; checks each reply against the budget."""
    params = dict(params or {})
    replies: list[list] = []
    while True:
        reply = client.get(url, params=params, headers=headers or {})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body[items], "a reply that says more must hold at least one item"
        # Over the budget only when one item alone is larger than it (progress is guaranteed).
        assert len(reply.content) <= budget + ENVELOPE_BYTES or len(body[items]) == 1
        replies.append([item[key] for item in body[items]])
        if not body["more"]:
            assert body.get(cursor_field) is None or cursor_field == "last_seq"
            return replies
        params[cursor_param] = body[cursor_field]
        assert len(replies) < 1000, "the cursor does not move"


def check(replies: list[list], expected: list, budget: int, replies_by_count: int) -> None:
    everything = [key for reply in replies for key in reply]
    assert sorted(everything) == sorted(expected), "each item exactly once"
    if budget == BUDGETS[0]:
        assert all(len(reply) == 1 for reply in replies)
    else:
        assert len(replies) >= replies_by_count
    if budget == BUDGETS[-1]:
        assert len(replies) == replies_by_count, "a budget nothing reaches changes nothing"


def with_budget(world: dict, budget: int) -> TestClient:
    client = world["client"]
    client.app.state.settings = dataclasses.replace(world["settings"], max_reply_bytes=budget)
    return client


CASES: dict[str, Callable[[TestClient, dict, int], tuple[list[list], list]]] = {
    "changes": lambda c, w, b: (
        follow(c, "/api/sync/changes", "changes", "slug", "since", "last_seq", b,
               {"since": 0, "limit": 1000, "include": "body,html"}), w["slugs"]),
    "conflicts": lambda c, w, b: (
        follow(c, "/api/sync/conflicts", "conflicts", "id", "after", "cursor", b, headers=bearer(w["author"])),
        w["conflicts"]),
    "checkpoints": lambda c, w, b: (
        follow(c, "/api/sync/checkpoints", "checkpoints", "device_id", "after", "cursor", b,
               headers=bearer(w["author"])), [f"device-{n:02d}" for n in range(40)]),
    "history": lambda c, w, b: (
        follow(c, "/api/pages/page-0/history", "revisions", "seq", "before", "cursor", b, {"limit": 500}),
        w["history"]),
    "bulk all": lambda c, w, b: (
        follow(c, "/api/bulk", "pages", "slug", "after", "cursor", b, {"limit": 500, "source": "true"}),
        w["slugs"]),
    "bulk changes": lambda c, w, b: (
        follow(c, "/api/bulk", "pages", "slug", "after", "cursor", b,
               {"scope": "changes", "limit": 500, "source": "true"}), w["slugs"]),
    "bulk slugs": lambda c, w, b: (
        follow(c, "/api/bulk", "pages", "slug", "after", "cursor", b,
               {"scope": "slugs", "limit": 10, "slugs": ",".join(w["slugs"][::-1] + ["no-such-page"])}),
        w["slugs"]),
}


@pytest.mark.parametrize("budget", BUDGETS)
@pytest.mark.parametrize("case", CASES)
def test_a_reply_stops_at_its_budget_and_its_cursor_yields_every_item_once(world: dict, case: str,
                                                                           budget: int) -> None:
    client = with_budget(world, budget)
    replies, expected = CASES[case](client, world, budget)
    assert len(expected) >= 7
    # Only `bulk slugs` asks for fewer items than there are (10 of 25 names a reply).
    check(replies, expected, budget, 3 if case == "bulk slugs" else 1)


def test_a_large_feed_reply_stops_early_and_says_more(world: dict) -> None:
    client = with_budget(world, 25_000)
    reply = client.get("/api/sync/changes", params={"since": 0, "limit": 1000, "include": "body,html"})
    body = reply.json()
    assert body["more"] and 1 <= len(body["changes"]) < len(world["slugs"])
    assert body["last_seq"] == body["changes"][-1]["seq"]
    assert len(reply.content) <= 25_000 + ENVELOPE_BYTES
