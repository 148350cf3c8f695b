"""The background indexer: queue by trigger, edits re-embed only changed chunks, no stale hits, restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from search import index
from search.embedder import LazyEmbedder
from search.indexer import Indexer
from search.ranking import lexical_chunks
from server import pages
from server.db import Database
from server.users import Actor
from sync.apply import Policy, apply_op

WRITER = Actor(None, "tester")
POLICY = Policy(anonymous_edits=True)
LONG_PAGE = "\n\n".join(
    f"## Section {n}\n\nParagraph {n} talks about topic{n} in some detail, with words of its own." for n in range(12)
)


@pytest.fixture
def db(tmp_path: Path):
    database = Database(tmp_path / "c.db")
    yield database
    database.close()


def ready_indexer(db: Database) -> Indexer:
    embedder = LazyEmbedder("hashing")
    embedder.start()
    assert embedder.get(timeout=30) is not None
    return Indexer(db, embedder)


def write(db: Database, op_id: str, **fields) -> dict:
    result = db.write(apply_op, {"op_id": op_id, **fields}, WRITER, POLICY)
    assert result["status"] == "applied", result
    return result


def found(db: Database, word: str) -> set[int]:
    return {hit.page_id for hit in db.read(lexical_chunks, word)}


def test_every_revision_queues_its_page(db: Database) -> None:
    created = write(db, "a", title="Queued", base_rev=None, body="x")
    write(db, "b", slug="queued", base_rev=created["rev"], body="y")
    assert db.read(index.pending_count) == 1


def test_edit_reembeds_only_changed_chunks_and_leaves_no_stale_hits(db: Database) -> None:
    indexer = ready_indexer(db)
    created = write(db, "a", title="Long page", base_rev=None, body=LONG_PAGE)
    indexer.drain()
    first = indexer.stats.embedded
    assert first >= 12 and db.read(index.pending_count) == 0
    page_id = db.read(pages.get_page, "long-page")["page_id"]
    assert found(db, "topic5") == {page_id}
    edited = LONG_PAGE.replace("Paragraph 5 talks about topic5", "Paragraph 5 now discusses zebra5")
    write(db, "b", slug="long-page", base_rev=created["rev"], body=edited)
    indexer.drain()
    assert indexer.stats.embedded - first == 1  # only the chunk holding the edited paragraph
    assert found(db, "topic5") == set() and found(db, "zebra5") == {page_id}


def test_revert_reuses_cached_vectors(db: Database) -> None:
    indexer = ready_indexer(db)
    created = write(db, "a", title="Revert me", base_rev=None, body="Alpha words here.")
    indexer.drain()
    second = write(db, "b", slug="revert-me", base_rev=created["rev"], body="Beta words here.")
    indexer.drain()
    before = indexer.stats.embedded
    write(db, "c", slug="revert-me", base_rev=second["rev"], body="Alpha words here.")
    indexer.drain()
    assert indexer.stats.embedded == before and found(db, "beta") == set() and found(db, "alpha")


def test_queue_survives_a_restart(tmp_path: Path) -> None:
    db = Database(tmp_path / "c.db")
    write(db, "a", title="Before restart", base_rev=None, body="persistent words")
    db.close()
    again = Database(tmp_path / "c.db")
    try:
        assert again.read(index.pending_count) == 1
        ready_indexer(again).drain()
        assert again.read(index.pending_count) == 0 and found(again, "persistent")
    finally:
        again.close()


def test_without_a_model_the_index_is_lexical_and_vectors_come_later(db: Database, tmp_path: Path) -> None:
    broken = LazyEmbedder(str(tmp_path / "no-such-model"))
    broken.start()
    broken.get(timeout=30)
    assert broken.error
    write(db, "a", title="Words only", base_rev=None, body="lexical fallback works")
    Indexer(db, broken).drain()
    assert found(db, "fallback") and db.read(index.missing_vector_count) >= 1
    ready_indexer(db).drain()
    assert db.read(index.missing_vector_count) == 0


def test_a_failing_model_is_retried_then_parked(db: Database) -> None:
    indexer = ready_indexer(db)
    write(db, "a", title="Fails", base_rev=None, body="text")

    class Broken:
        name, dim, max_tokens = "hashing-384", 384, 256

        def count_tokens(self, text: str) -> int:
            return len(text.split())

        def encode(self, texts: list[str]):
            raise RuntimeError("model crashed")

    indexer._model = lambda: Broken()  # a model that fails on every batch
    for _ in range(index.MAX_ATTEMPTS):
        assert indexer.run_once() == 0
    assert db.read(index.pending) == [] and db.read(index.pending_count) == 1
    assert "model crashed" in db.read(index.last_error)
    db.write(index.reset_failures)
    fresh = ready_indexer(db)
    fresh.drain()
    assert db.read(index.pending_count) == 0
