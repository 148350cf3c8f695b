"""The changes feed: each changed page once, at its head, in cursor order, with paging."""

from __future__ import annotations

from pathlib import Path

from server.db import Database
from server.users import Actor
from sync.apply import Policy, apply_op
from sync.changes import changes_since

WRITER = Actor(None, "importer")
POLICY = Policy(anonymous_edits=True)


def test_feed_pages_and_moves_edited_pages_to_the_end(tmp_path: Path) -> None:
    db = Database(tmp_path / "c.db")
    try:
        revs = {}
        for i in range(5):
            r = db.write(apply_op, {"op_id": f"c{i}", "title": f"P{i}", "base_rev": None, "body": "x"}, WRITER, POLICY)
            revs[r["slug"]] = r["rev"]
        first = db.read(changes_since, 0, 2)
        assert [c["slug"] for c in first["changes"]] == ["p0", "p1"] and first["more"]
        edited = db.write(apply_op, {"op_id": "e", "slug": "p0", "base_rev": revs["p0"], "body": "y"}, WRITER, POLICY)
        rest = db.read(changes_since, first["last_seq"], 10)
        assert [c["slug"] for c in rest["changes"]] == ["p2", "p3", "p4", "p0"] and not rest["more"]
        assert rest["changes"][-1]["rev"] == edited["rev"] and rest["last_seq"] == edited["seq"]
        empty = db.read(changes_since, rest["last_seq"], 10)
        assert empty == {"changes": [], "last_seq": rest["last_seq"], "more": False}
    finally:
        db.close()


def test_a_feed_over_its_budget_stops_early_and_resumes_with_every_page_once(tmp_path: Path) -> None:
    db = Database(tmp_path / "c.db")
    try:
        for i in range(12):
            body = f"Page {i}. " + "word " * (200 * (i % 4 + 1))
            db.write(apply_op, {"op_id": f"b{i}", "title": f"B{i}", "base_rev": None, "body": body}, WRITER, POLICY)
        everything = db.read(changes_since, 0, 1000, ("body", "html"))["changes"]
        # Each page is 2 to 8 kB of JSON: 1 byte gives one page a reply, 10**9 all of them in one.
        for budget in (1, 9_000, 30_000, 10**9):
            since, seen, replies = 0, [], 0
            while True:
                reply = db.read(changes_since, since, 1000, ("body", "html"), budget)
                replies += 1
                assert reply["changes"] and reply["last_seq"] == reply["changes"][-1]["seq"]
                seen += [c["slug"] for c in reply["changes"]]
                if not reply["more"]:
                    break
                since = reply["last_seq"]
            assert seen == [c["slug"] for c in everything], budget
            assert replies == {1: 12, 10**9: 1}.get(budget, replies) and (budget in (1, 10**9) or 1 < replies < 12)
    finally:
        db.close()
