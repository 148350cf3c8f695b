"""How much of the wiki each half of search covers right now (issue 12 item 7), for /api/status and the search page.

A page is in the word index when its current head has been chunked: its chunks carry `seq` = the head's
revision id (a page's chunks are always replaced together, so chunk 0 stands for all). Only a queued page
can fall short of that, because every new revision queues its page (a trigger) and the indexer removes the
queue entry in the transaction that writes the head's chunks, and only if no newer revision queued the page
meanwhile. So only queued pages are checked; a page queued by `reindex` whose chunks are already current
counts as covered, and a page that failed to index counts as not covered until it succeeds.

A page is in the meaning index when it is in the word index and every one of its chunks has its vector
(chunks are written without one while the model is not ready, and filled in later).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from server.db import Conn, Database

# One statement, so the counts come from one snapshot. Pages outside the queue cost nothing, and a queued
# page not chunked yet costs one index probe; a queued page with chunks, and each chunk without a vector,
# cost a row read (about 3 µs each: a model switch at 100k chunks makes this ~0.3 s, hence `recent`).
_COVERAGE = """
WITH stale AS MATERIALIZED (
    SELECT q.page_id FROM index_queue q CROSS JOIN pages p ON p.id = q.page_id
    WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.page_id = q.page_id AND c.ord = 0 AND c.seq = p.head_id)
),
no_meaning AS (
    SELECT page_id FROM stale
    UNION
    SELECT page_id FROM chunks INDEXED BY chunks_missing_vector WHERE vector IS NULL
)
SELECT (SELECT count(*) FROM pages) AS pages,
       (SELECT count(*) FROM stale) AS stale,
       (SELECT count(*) FROM no_meaning) AS no_meaning
"""
_SETTLED = """SELECT NOT EXISTS (SELECT 1 FROM index_queue)
                     AND NOT EXISTS (SELECT 1 FROM chunks INDEXED BY chunks_missing_vector WHERE vector IS NULL)
                     AS settled, (SELECT count(*) FROM pages) AS pages"""
# The search page may show coverage this many seconds old while an index is being built; a complete index
# is seen at once (the check for it is two index probes).
RECENT_SECONDS = 5.0


def _complete(pages: int) -> dict[str, Any]:
    return {"pages": pages, "word_pages": pages, "meaning_pages": pages, "meaning_share": 1.0}


def coverage(conn: Conn) -> dict[str, Any]:
    """`{pages, word_pages, meaning_pages, meaning_share}`; the share is 1.0 when there are no pages."""
    settled = next(iter(conn.execute(_SETTLED)))
    if settled["settled"]:
        return _complete(settled["pages"])
    row = next(iter(conn.execute(_COVERAGE)))
    pages = row["pages"]
    meaning_pages = pages - row["no_meaning"]
    return {"pages": pages, "word_pages": pages - row["stale"], "meaning_pages": meaning_pages,
            "meaning_share": meaning_pages / pages if pages else 1.0}


_recent: dict[str, tuple[float, dict[str, Any]]] = {}
_recent_lock = threading.Lock()


def recent_coverage(db: Database, max_age: float = RECENT_SECONDS) -> dict[str, Any]:
    """`coverage`, reusing a count up to `max_age` seconds old while an index is incomplete (search as you
    type asks on every pause), but never once the index is complete."""
    settled = db.read(lambda conn: next(iter(conn.execute(_SETTLED))))
    if settled["settled"]:
        return _complete(settled["pages"])
    key = str(db.path)
    with _recent_lock:
        taken_at, found = _recent.get(key, (float("-inf"), {}))
    if time.monotonic() - taken_at <= max_age:
        return found
    found = db.read(coverage)
    with _recent_lock:
        _recent[key] = (time.monotonic(), found)
    return found


def _percent(part: int, whole: int) -> str:
    # Rounded down, so an index that is not complete never reads "100%".
    return f"{part * 100 // whole}%"


def describe(cover: dict[str, Any], meaning_available: bool = True) -> str | None:
    """The sentence the search page shows while an index is incomplete; None when there is nothing to say.

    Without a meaning model (it failed to load) the page already says search by meaning is unavailable, so
    only the word index is described.
    """
    pages, words, meaning = cover["pages"], cover["word_pages"], cover["meaning_pages"]
    word_part = "all" if words >= pages else _percent(words, pages)
    if not meaning_available:
        return None if words >= pages else f"Word search covers {word_part} of pages so far."
    if meaning >= pages and words >= pages:
        return None
    meaning_part = "no pages yet" if meaning == 0 else f"{_percent(meaning, pages)} of pages"
    return f"Search by meaning covers {meaning_part}; word search covers {word_part}."
