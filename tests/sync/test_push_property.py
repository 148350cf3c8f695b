"""Property: random ops from several devices, with duplicates, reordering, stale bases and restarts.

Each scenario edits one fresh page from 2 to 4 devices (two accounts may share one). Every inserted
word is unique (`w<scenario>x<n>`), so "both sides' inserted text" can be checked exactly. Each device
names its previous op on the page (`after_op`), as the browser does; in a scenario with one device, a
conflict would be its author's own edits conflicting with each other, which must never happen. Such a
device sends its waiting ops in order, as the browser's outbox does (replays and lost replies in any
order); several devices send them in any order. Pushes go
through `apply_ops`, the function behind `POST /api/sync/push`, on a real SQLite file that is closed
and opened again between steps ("server restarts").
"""

from __future__ import annotations

import itertools
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from server import pages
from server.db import Database
from server.users import Actor, create_user
from sync.apply import Policy, apply_ops
from sync.vocabulary import APPLIED, CONFLICT, DUPLICATE, MERGED, REJECTED, STATUSES

POLICY = Policy()
SCENARIOS = 1000
MARKER = re.compile(r"\bw\d+x\d+\b")
COMMON = ["the", "river", "runs", "past", "old", "mills", "and", "fields", "in", "spring"]


def markers(text: str) -> set[str]:
    return set(MARKER.findall(text))


@dataclass
class Store:
    """The database file, re-opened on "restart", and the accounts that edit in every scenario."""

    path: Path
    db: Database
    actors: list[Actor]
    counter: Iterator[int] = field(default_factory=itertools.count)

    def restart(self) -> None:
        self.db.close()
        self.db = Database(self.path)


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    # tmpfs when there is one: synchronous=FULL makes every push an fsync, and 1,000 scenarios push a lot.
    folder = Path(tempfile.mkdtemp(dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    db = Database(folder / "property.db")
    actors = [Actor(db.write(create_user, name, "not-a-real-hash")["id"], name) for name in ("ann", "ben", "cai")]
    holder = Store(folder / "property.db", db, actors)
    yield holder
    holder.db.close()
    shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Device:
    actor: Actor
    base_rev: str
    body: str  # what the device shows: the base plus its own pending edits
    last_op: str | None = None  # its latest op on the page, sent with the next one as `after_op`
    outbox: list[dict] = field(default_factory=list)
    sent: list[dict] = field(default_factory=list)
    pushed: list[dict] = field(default_factory=list)  # what reached the server at least once


def edit_text(data: st.DataObject, body: str, new_word) -> str:
    """One to three small changes: insert unique words, replace a word, delete a word, add a paragraph."""
    paragraphs = body.split("\n\n")
    for _ in range(data.draw(st.integers(1, 3))):
        index = data.draw(st.integers(0, len(paragraphs) - 1))
        words = paragraphs[index].split(" ")
        kind = data.draw(st.sampled_from(["insert", "replace", "delete", "paragraph"]))
        at = data.draw(st.integers(0, len(words) - 1))
        if kind == "insert":
            words.insert(at, " ".join(new_word() for _ in range(data.draw(st.integers(1, 3)))))
        elif kind == "replace":
            words[at] = new_word()
        elif kind == "delete" and len(words) > 1:
            del words[at]
        elif kind == "paragraph":
            paragraphs.insert(index + 1, f"{new_word()} {new_word()}.")
        paragraphs[index] = " ".join(words)
    return "\n\n".join(paragraphs)


def revision_body(store: Store, page_id: int, rev: str) -> str:
    return store.db.read(pages.get_revision, page_id, rev)["body"]


def check_result(store: Store, page_id: int, op: dict, result: dict, firsts: dict[str, dict], solo: bool) -> None:
    assert result["status"] in STATUSES and result["op_id"] == op["op_id"]
    event(result["status"])  # `pytest --hypothesis-show-statistics` shows how often each status occurs
    if result["status"] == REJECTED:
        assert result["reason"] and result["message"]
        assert op["base_rev"] == "bogus" and result["reason"] == "unknown_base"
        return
    assert not (solo and result.get("first_status", result["status"]) == CONFLICT), "a chain conflicted with itself"
    if result["status"] == DUPLICATE:
        first = firsts[op["op_id"]]
        assert result["first_status"] == first["status"] and result.get("rev") == first.get("rev")
        assert result.get("conflict_id") == first.get("conflict_id")
        return
    assert op["op_id"] not in firsts, "an op was applied twice"
    firsts[op["op_id"]] = result
    if "superseded_by" in result:  # a later op of the same chain, which holds this op's text, came first
        assert result["superseded_by"] in firsts and result["rev"] == firsts[result["superseded_by"]]["rev"]
    elif result["status"] == APPLIED:
        assert revision_body(store, page_id, result["rev"]) == op["body"]
    elif result["status"] == MERGED:
        base = revision_body(store, page_id, result["base_rev"])
        theirs = revision_body(store, page_id, result["head_rev"])
        merged = revision_body(store, page_id, result["rev"])
        assert (markers(op["body"]) | markers(theirs)) - markers(base) <= markers(merged)
    elif result["status"] == CONFLICT:
        kept = store.db.read(lambda c: list(c.execute("SELECT body FROM conflicts WHERE op_id = ?", (op["op_id"],))))
        assert [row["body"] for row in kept] == [op["body"]]


@settings(max_examples=SCENARIOS, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          database=None)
@given(data=st.data())
def test_every_op_lands_once_and_merges_keep_both_sides(store: Store, data: st.DataObject) -> None:
    scenario = next(store.counter)
    words = itertools.count()

    def new_word() -> str:
        return f"w{scenario}x{next(words)}"

    owner = store.actors[0]
    paragraphs = data.draw(st.integers(1, 4))
    text = "\n\n".join(" ".join(data.draw(st.lists(st.sampled_from(COMMON), min_size=3, max_size=12)))
                       + "." for _ in range(paragraphs))
    [created] = store.db.write(apply_ops, [{"op_id": f"p{scenario}", "title": f"Page {scenario}", "base_rev": None,
                                            "body": text}], owner, POLICY)
    page_id = store.db.read(pages.get_page, created["slug"])["page_id"]
    devices = [Device(store.actors[data.draw(st.integers(0, 2))], created["rev"], text)
               for _ in range(data.draw(st.integers(1, 4)))]
    solo = len(devices) == 1
    firsts: dict[str, dict] = {}
    op_ids = itertools.count()

    def deliver(device: Device, ops: list[dict]) -> None:
        device.pushed.extend(op for op in ops if op not in device.pushed)
        for op, result in zip(ops, store.db.write(apply_ops, ops, device.actor, POLICY, "dev"), strict=True):
            check_result(store, page_id, op, result, firsts, solo)
            if op in device.outbox:
                device.outbox.remove(op)

    for _ in range(data.draw(st.integers(2, 10))):
        device = data.draw(st.sampled_from(devices))
        step = data.draw(st.sampled_from(["edit", "edit", "push", "refresh", "replay", "restart"]))
        if step == "edit":
            device.body = edit_text(data, device.body, new_word)
            base = "bogus" if data.draw(st.integers(0, 30)) == 0 else device.base_rev
            op = {"op_id": f"o{scenario}-{next(op_ids)}", "slug": created["slug"], "base_rev": base,
                  "after_op": device.last_op, "body": device.body, "summary": "edit"}
            device.last_op = op["op_id"]
            device.outbox.append(op)
            device.sent.append(op)
        elif step == "push" and device.outbox:
            waiting = device.outbox if solo else data.draw(st.permutations(device.outbox))
            batch = waiting[: data.draw(st.integers(1, len(device.outbox)))]
            deliver(device, batch + data.draw(st.lists(st.sampled_from(batch), max_size=2)))
        elif step == "refresh" and not device.outbox:
            page = store.db.read(pages.get_page, created["slug"])
            device.base_rev, device.body = page["rev"], page["body"]
        elif step == "replay" and (device.pushed if solo else device.sent):
            again = device.pushed if solo else device.sent
            deliver(device, data.draw(st.lists(st.sampled_from(again), min_size=1, max_size=3)))
        elif step == "restart":
            store.restart()
            event("restart")
    for device in devices:
        if device.outbox:
            deliver(device, list(device.outbox) if solo else data.draw(st.permutations(device.outbox)))

    every_op = [op for device in devices for op in device.sent]
    for op in every_op:
        assert op["op_id"] in firsts or op["base_rev"] == "bogus", "an op never landed"
    if solo and not any(op["base_rev"] == "bogus" for op in every_op):
        last = store.db.read(pages.get_page, created["slug"])["body"]
        assert last == devices[0].body, "the author's last edit is not the page"
    counts = store.db.read(lambda c: list(c.execute(
        "SELECT op_id, count(*) AS n FROM revisions WHERE page_id = ? GROUP BY op_id HAVING n > 1", (page_id,))))
    assert counts == [], "an op made more than one revision"
    head = store.db.read(pages.get_page, created["slug"])
    landed = [r for r in firsts.values() if r["status"] in (APPLIED, MERGED) and not r.get("unchanged")]
    if landed:
        assert head["rev"] == max(landed, key=lambda r: r["seq"])["rev"]
