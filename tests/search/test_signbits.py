"""The in-memory sign bits: same candidates as sqlite-vec, used only while current, reloaded after changes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from search.embedder import HashingEmbedder, LazyEmbedder
from search.indexer import Indexer
from search.ranking import semantic_chunks
from search.signbits import SignBits
from server.db import Database
from server.users import Actor
from sync.apply import Policy, apply_ops

TOPICS = ["sourdough bread and its starter", "tar archives and gzip", "mountain rivers in spring",
          "the history of the printing press", "planting tomatoes on a balcony", "ssh keys and agents"]


@pytest.fixture
def db(tmp_path: Path):
    database = Database(tmp_path / "b.db")
    yield database
    database.close()


def index_pages(db: Database, pages: dict[str, str]) -> list[dict]:
    ops = [{"op_id": f"op-{title}", "title": title, "base_rev": None, "body": body} for title, body in pages.items()]
    results = db.write(apply_ops, ops, Actor(None, "tester"), Policy(anonymous_edits=True))
    embedder = LazyEmbedder("hashing")
    embedder.start()
    assert embedder.get(timeout=30) is not None
    Indexer(db, embedder).drain()
    return results


def settled(bits: SignBits, db: Database, vector) -> list[int]:
    """Asks until the copy is current (the first ask starts the reload); bounded."""
    for _ in range(100):
        found = db.read(bits.nearest, vector, 5)
        if found is not None:
            return found
        time.sleep(0.05)
    raise AssertionError("the sign bits never became current")


def test_same_candidates_as_sqlite_vec_and_edits_are_never_missed(db: Database) -> None:
    index_pages(db, {f"Page {n}": f"All about {topic}." for n, topic in enumerate(TOPICS)})
    bits = SignBits(db)
    query = HashingEmbedder().encode(["tar archives and gzip"])[0]
    assert db.read(bits.nearest, query, 5) is None  # not loaded yet: the caller uses sqlite-vec
    settled(bits, db, query)
    fast = db.read(lambda c: [h.chunk_id for h in semantic_chunks(c, query, limit=3, rescore=6, bits=bits)])
    slow = db.read(lambda c: [h.chunk_id for h in semantic_chunks(c, query, limit=3, rescore=6)])
    assert fast == slow

    [created] = index_pages(db, {"Knots": "Bowline and clove hitch knots for sailors."})
    knots = HashingEmbedder().encode(["Knots\n\nBowline and clove hitch knots for sailors."])[0]
    assert db.read(bits.nearest, knots, 5) is None  # the vectors changed: not current any more
    # Meanwhile the answer comes from sqlite-vec, so the new page is found at once...
    hits = db.read(lambda c: semantic_chunks(c, knots, limit=1, bits=bits))
    assert hits[0].page_id == db.read(lambda c: next(iter(c.execute(
        "SELECT id FROM pages WHERE slug = ?", (created["slug"],))))["id"])
    # ...and once reloaded, the copy holds it too.
    assert hits[0].chunk_id in settled(bits, db, knots)
