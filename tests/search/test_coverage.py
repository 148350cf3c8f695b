"""Index coverage: how many pages word search and search by meaning cover, counted from a real database."""

from __future__ import annotations

from pathlib import Path

import pytest

from search import index
from search.coverage import coverage, describe, recent_coverage
from search.embedder import LazyEmbedder
from search.indexer import Indexer
from server import pages
from server.db import Database
from server.users import Actor
from sync.apply import Policy, apply_op

WRITER = Actor(None, "tester")
POLICY = Policy(anonymous_edits=True)
LONG_BODY = "\n\n".join(f"## Part {n}\n\n" + f"Words about part {n}. " * 60 for n in range(4))


@pytest.fixture
def db(tmp_path: Path):
    database = Database(tmp_path / "c.db")
    yield database
    database.close()


def write(db: Database, op_id: str, **fields) -> dict:
    result = db.write(apply_op, {"op_id": op_id, **fields}, WRITER, POLICY)
    assert result["status"] == "applied", result
    return result


def create(db: Database, title: str, body: str = "Some words.") -> dict:
    return write(db, f"new-{title}", title=title, base_rev=None, body=body)


def indexer_without_model(db: Database) -> Indexer:
    """Chunks are written without vectors, as while the model loads."""
    return Indexer(db, LazyEmbedder("hashing"))


def with_model(indexer: Indexer) -> Indexer:
    indexer.embedder.start()
    assert indexer.embedder.get(timeout=30) is not None
    return indexer


def counts(db: Database) -> tuple[int, int, int]:
    found = db.read(coverage)
    return found["pages"], found["word_pages"], found["meaning_pages"]


def test_no_pages_is_full_coverage(db: Database) -> None:
    assert db.read(coverage) == {"pages": 0, "word_pages": 0, "meaning_pages": 0, "meaning_share": 1.0}


def test_queued_pages_are_in_neither_index(db: Database) -> None:
    for title in ("One", "Two", "Three"):
        create(db, title)
    assert db.read(coverage) == {"pages": 3, "word_pages": 0, "meaning_pages": 0, "meaning_share": 0.0}


def test_chunks_without_vectors_count_for_words_only_until_filled(db: Database) -> None:
    for title in ("One", "Two", "Three", "Four"):
        create(db, title)
    indexer = indexer_without_model(db)
    indexer.run_once()
    assert counts(db) == (4, 4, 0)
    with_model(indexer).fill_missing_vectors(limit=1)
    assert db.read(coverage) == {"pages": 4, "word_pages": 4, "meaning_pages": 1, "meaning_share": 0.25}
    indexer.drain()
    assert counts(db) == (4, 4, 4)


def test_a_page_with_one_chunk_left_without_a_vector_is_not_covered_by_meaning(db: Database) -> None:
    create(db, "Long", LONG_BODY)
    create(db, "Short")
    with_model(indexer_without_model(db)).drain()
    page_id = db.read(pages.get_page, "long")["page_id"]
    chunk_ids = [r["id"] for r in db.read(lambda c: list(c.execute("SELECT id FROM chunks WHERE page_id = ?",
                                                                      (page_id,))))]
    assert len(chunk_ids) > 1
    db.write(lambda c: c.execute("UPDATE chunks SET vector = NULL WHERE id = ?", (chunk_ids[-1],)))
    assert counts(db) == (2, 2, 1)


def test_an_edited_page_is_not_covered_until_its_new_text_is_indexed(db: Database) -> None:
    created = create(db, "Edited")
    create(db, "Kept")
    indexer = with_model(indexer_without_model(db))
    indexer.drain()
    write(db, "edit", slug="edited", base_rev=created["rev"], body="New words.")
    assert counts(db) == (2, 1, 1)
    indexer.drain()
    assert counts(db) == (2, 2, 2)


def test_a_page_queued_again_with_its_current_text_indexed_is_still_covered(db: Database) -> None:
    create(db, "One")
    create(db, "Two")
    with_model(indexer_without_model(db)).drain()
    assert db.write(index.enqueue_all) == 2  # what `commonplace reindex` does
    assert counts(db) == (2, 2, 2)


def test_a_page_that_failed_to_index_is_not_covered(db: Database) -> None:
    create(db, "Fails")
    page_id = db.read(pages.get_page, "fails")["page_id"]
    for _ in range(index.MAX_ATTEMPTS):
        db.write(index.record_failure, page_id, "embedding failed")
    assert db.read(index.pending) == []
    assert counts(db) == (1, 0, 0)


def test_recent_coverage_reuses_a_count_while_incomplete_but_sees_completion_at_once(db: Database) -> None:
    for title in ("One", "Two"):
        create(db, title)
    indexer = indexer_without_model(db)
    assert recent_coverage(db)["word_pages"] == 0
    indexer.run_once()
    assert recent_coverage(db, max_age=3600)["word_pages"] == 0, "a count taken just now is reused"
    assert recent_coverage(db, max_age=0)["word_pages"] == 2
    with_model(indexer).drain()
    assert recent_coverage(db, max_age=3600)["meaning_pages"] == 2


@pytest.mark.parametrize(("cover", "available", "sentence"), [
    ((10, 10, 10), True, None),
    ((0, 0, 0), True, None),
    ((20, 20, 9), True, "Search by meaning covers 45% of pages; word search covers all."),
    ((20, 20, 0), True, "Search by meaning covers no pages yet; word search covers all."),
    ((1000, 999, 999), True, "Search by meaning covers 99% of pages; word search covers 99%."),
    ((20, 16, 9), True, "Search by meaning covers 45% of pages; word search covers 80%."),
    ((20, 20, 0), False, None),
    ((20, 16, 0), False, "Word search covers 80% of pages so far."),
])
def test_describe_says_what_is_incomplete_and_never_rounds_up_to_all(cover, available, sentence) -> None:
    pages_, words, meaning = cover
    found = {"pages": pages_, "word_pages": words, "meaning_pages": meaning,
             "meaning_share": meaning / pages_ if pages_ else 1.0}
    assert describe(found, meaning_available=available) == sentence
