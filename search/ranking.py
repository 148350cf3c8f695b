"""Finding pages: lexical (FTS5 bm25), semantic (bit-quantised KNN re-scored with full vectors), hybrid.

Chunks are ranked, then grouped by page (a page's rank is its best chunk's); hybrid fuses the two
page rankings with reciprocal-rank fusion, weighted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from search.index import VEC_TABLE, from_blob, vec_table_exists
from server.db import Conn

MODES = ("hybrid", "semantic", "lexical")
CANDIDATES = 100          # chunks taken from each ranking
RESCORE = 400             # bit-KNN candidates re-scored with full vectors
RRF_K = 60
LEXICAL_WEIGHT = 1.0
SEMANTIC_WEIGHT = 1.0
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class Hit:
    chunk_id: int
    page_id: int
    score: float


def fts_query(query: str) -> str:
    """Any of the words, each quoted so FTS5 syntax in the query is taken literally."""
    words = _WORD.findall(query.lower())[:32]
    return " OR ".join(f'"{w}"' for w in words)


def lexical_chunks(conn: Conn, query: str, limit: int = CANDIDATES) -> list[Hit]:
    match = fts_query(query)
    if not match:
        return []
    sql = """SELECT c.id, c.page_id, bm25(chunks_fts) AS rank FROM chunks_fts
             JOIN chunks c ON c.id = chunks_fts.rowid WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?"""
    return [Hit(r["id"], r["page_id"], -r["rank"]) for r in conn.execute(sql, (match, limit))]


def semantic_chunks(conn: Conn, vector: np.ndarray, limit: int = CANDIDATES, rescore: int = RESCORE) -> list[Hit]:
    if not vec_table_exists(conn):
        return []
    query = np.asarray(vector, dtype=np.float32)
    sql = f"""SELECT v.rowid AS id, c.page_id, c.vector FROM {VEC_TABLE} v JOIN chunks c ON c.id = v.rowid
              WHERE v.embedding MATCH vec_quantize_binary(?) AND k = ?"""
    rows = [r for r in conn.execute(sql, (query.tobytes(), rescore)) if r["vector"] is not None]
    if not rows:
        return []
    matrix = np.vstack([from_blob(r["vector"]) for r in rows])
    scores = matrix @ query
    order = np.argsort(-scores)[:limit]
    return [Hit(rows[i]["id"], rows[i]["page_id"], float(scores[i])) for i in order]


def best_per_page(hits: list[Hit]) -> list[Hit]:
    seen: dict[int, Hit] = {}
    for hit in hits:
        if hit.page_id not in seen or hit.score > seen[hit.page_id].score:
            seen[hit.page_id] = hit
    return sorted(seen.values(), key=lambda h: -h.score)


def fuse(lexical: list[Hit], semantic: list[Hit], k: int = RRF_K, lexical_weight: float = LEXICAL_WEIGHT,
         semantic_weight: float = SEMANTIC_WEIGHT) -> list[Hit]:
    """Weighted reciprocal-rank fusion of two page rankings; a page keeps the chunk that ranked best."""
    scores: dict[int, float] = {}
    chunk_of: dict[int, tuple[float, int]] = {}
    for weight, ranking in ((lexical_weight, lexical), (semantic_weight, semantic)):
        for rank, hit in enumerate(ranking):
            contribution = weight / (k + rank + 1)
            scores[hit.page_id] = scores.get(hit.page_id, 0.0) + contribution
            if hit.page_id not in chunk_of or contribution > chunk_of[hit.page_id][0]:
                chunk_of[hit.page_id] = (contribution, hit.chunk_id)
    fused = [Hit(chunk_of[p][1], p, s) for p, s in scores.items()]
    return sorted(fused, key=lambda h: -h.score)


def rank_pages(conn: Conn, query: str, vector: np.ndarray | None, mode: str, limit: int) -> list[Hit]:
    """Pages for `query`, best first. Without a vector every mode falls back to lexical."""
    lexical = best_per_page(lexical_chunks(conn, query)) if mode != "semantic" or vector is None else []
    if vector is None or mode == "lexical":
        return lexical[:limit]
    semantic = best_per_page(semantic_chunks(conn, vector))
    if mode == "semantic":
        return semantic[:limit]
    return fuse(lexical, semantic)[:limit]


def describe(conn: Conn, hits: list[Hit]) -> list[dict[str, Any]]:
    """Slug, title and the matching chunk's text for each hit, in order."""
    out = []
    for hit in hits:
        sql = """SELECT p.slug, p.title, c.text, c.heading FROM chunks c JOIN pages p ON p.id = c.page_id
                 WHERE c.id = ?"""
        row = next(iter(conn.execute(sql, (hit.chunk_id,))), None)
        if row:
            out.append({**row, "score": round(hit.score, 6), "page_id": hit.page_id})
    return out


def related_pages(conn: Conn, page_id: int, limit: int = 5) -> list[dict[str, Any]]:
    """Nearest pages to this page's mean chunk vector."""
    vectors = [from_blob(r["vector"]) for r in conn.execute(
        "SELECT vector FROM chunks WHERE page_id = ? AND vector IS NOT NULL", (page_id,))]
    if not vectors:
        return []
    centre = np.mean(vectors, axis=0)
    centre = centre / (np.linalg.norm(centre) or 1.0)
    hits = [h for h in best_per_page(semantic_chunks(conn, centre, limit=60)) if h.page_id != page_id]
    return describe(conn, hits[:limit])
