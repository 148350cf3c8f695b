"""Hybrid ranking: every candidate scored by meaning and by words, the query nudged toward its best answers.

Issue 12: the z-score fusion of two page lists (tuned on SciFact, where words are strong) dragged good answers by
meaning down on questions people type (tldr development set: semantic 0.675, hybrid 0.611). Three changes, chosen
on the tldr set and SciFact train together (tests/bench/README.md, "Fusion"):

1. Complete scores. A candidate found by one side only used to get that side's lowest score; now every candidate
   chunk has its cosine (its vector is at hand) and its bm25 (from a deeper word search), so nothing is guessed.
2. Query-dependent word weight. A chunk scores cosine + w * bm25 / best bm25. Words deserve more weight when the
   best word match is strong (rare words matched, as in SciFact's claims) and little when it is weak (common
   words of a described task): w grows from WORD_WEIGHT_LOW to WORD_WEIGHT_HIGH as the best bm25 goes from
   BM25_WEAK to BM25_STRONG.
3. One round of pseudo-relevance feedback: the query vector moves toward the mean of its three best chunks
   (weight FEEDBACK) and a second nearest-neighbour pass adds what that finds.
"""

from __future__ import annotations

import numpy as np

from search import ranking
from search.index import from_blob
from search.ranking import Hit
from search.signbits import SignBits
from server.db import Conn

WORD_WEIGHT_LOW = 0.1
WORD_WEIGHT_HIGH = 0.4
BM25_WEAK = 15.0
BM25_STRONG = 30.0
FEEDBACK = 0.4
FEEDBACK_CHUNKS = 3
WORD_DEPTH = 1000  # word-search chunks whose bm25 is known (FTS5 scores every match anyway; returning more is cheap)


def word_weight(best_bm25: float) -> float:
    share = min(1.0, max(0.0, (best_bm25 - BM25_WEAK) / (BM25_STRONG - BM25_WEAK)))
    return WORD_WEIGHT_LOW + (WORD_WEIGHT_HIGH - WORD_WEIGHT_LOW) * share


def _vectors(conn: Conn, ids: list[int], dim: int) -> tuple[list[int], np.ndarray]:
    """Page ids and vectors of these chunks, in order (a chunk without a vector counts as orthogonal). Ids of
    chunks gone meanwhile are dropped from `ids` itself, so the caller's list stays aligned with the result."""
    rows: dict[int, dict] = {}
    for start in range(0, len(ids), 500):
        part = ids[start:start + 500]
        marks = ",".join("?" * len(part))
        rows.update({r["id"]: r for r in conn.execute(
            f"SELECT id, page_id, vector FROM chunks WHERE id IN ({marks})", part)})
    ids[:] = [i for i in ids if i in rows]
    if not ids:
        return [], np.zeros((0, dim), dtype=np.float32)
    matrix = np.vstack([from_blob(rows[i]["vector"]) if rows[i]["vector"] is not None
                        else np.zeros(dim, dtype=np.float32) for i in ids])
    return [rows[i]["page_id"] for i in ids], matrix


def hybrid_pages(conn: Conn, lexical: list[Hit], semantic: list[Hit], vector: np.ndarray,
                 bits: SignBits | None = None) -> list[Hit]:
    """Pages best first from the two chunk rankings of one query (lexical to WORD_DEPTH, semantic as usual)."""
    query = np.asarray(vector, dtype=np.float32)
    bm25 = {h.chunk_id: h.score for h in lexical}
    ids = list(dict.fromkeys([h.chunk_id for h in lexical[:ranking.CANDIDATES]] + [h.chunk_id for h in semantic]))
    pages, matrix = _vectors(conn, ids, len(query))
    if not ids:
        return []
    words = np.array([bm25.get(i, 0.0) for i in ids])
    best = float(words.max())
    weight = word_weight(best)
    words = words / (best or 1.0)
    first = matrix @ query + weight * words
    centre = matrix[np.argsort(-first)[:FEEDBACK_CHUNKS]].mean(axis=0)
    moved = query + FEEDBACK * centre
    known = set(ids)
    more = [h.chunk_id for h in ranking.semantic_chunks(conn, moved / (np.linalg.norm(moved) or 1.0), bits=bits)
            if h.chunk_id not in known]
    if more:
        more_pages, more_matrix = _vectors(conn, more, len(query))
        pages, ids = pages + more_pages, ids + more
        matrix = np.vstack([matrix, more_matrix])
        words = np.concatenate([words, np.array([bm25.get(i, 0.0) for i in more]) / (best or 1.0)])
    scores = matrix @ moved + weight * words
    return ranking.best_per_page([Hit(i, p, float(s)) for i, p, s in zip(ids, pages, scores, strict=True)])
