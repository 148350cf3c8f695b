"""Right after a model switch the vectors are rebuilt: search says so, and semantic search answers by words."""

from __future__ import annotations

from pathlib import Path

from search import index
from search.service import SearchService
from server.db import Database
from server.seed import seed_if_empty

QUERY = "conflict resolve merge"


def test_semantic_search_during_a_rebuild_says_so_and_answers_by_words(tmp_path: Path) -> None:
    """Issue 11, item 13: semantic search answered 0 results, without a notice, until the rebuild was done."""
    db = Database(tmp_path / "c.db")
    try:
        seed_if_empty(db)
        search = SearchService(db, "hashing")  # its indexer thread is not started: the test runs each step
        search.embedder.start()
        assert search.embedder.get(timeout=30) is not None
        search.indexer.drain()
        full = search.search(QUERY, 10, "semantic")
        assert full["mode"] == "semantic" and full["results"] and "notice" not in full

        # What a switch does at the indexer's next look (search/index.py): every vector goes.
        db.write(index.prepare_for_model, "previous-model", 384)
        semantic = search.search(QUERY, 10, "semantic")
        assert semantic["mode"] == "lexical" and semantic["results"]
        assert "being rebuilt" in semantic["notice"]
        assert semantic["results"] == search.search(QUERY, 10, "lexical")["results"]
        hybrid = search.search(QUERY, 10, "hybrid")
        assert hybrid["mode"] == "hybrid" and hybrid["results"] and "being rebuilt" in hybrid["notice"]

        search.indexer.drain()  # the rebuild is done
        after = search.search(QUERY, 10, "semantic")
        assert after["mode"] == "semantic" and after["results"] and "notice" not in after
    finally:
        search.stop()
        db.close()
