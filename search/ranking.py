"""Finding pages: lexical (FTS5 bm25), semantic (bit-quantised KNN re-scored with full vectors), hybrid.

Chunks are ranked, then grouped by page (a page's rank is its best chunk's); hybrid fuses the two
page rankings by their z-scored scores, weighted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import apsw
import numpy as np

from search import tokenizer
from search.index import VEC_TABLE, from_blob, vec_table_exists
from search.signbits import SignBits
from server.db import Conn
from server.slugs import TitleError, slugify

MODES = ("hybrid", "semantic", "lexical")
CANDIDATES = 100          # chunks taken from each ranking
# bit-KNN candidates re-scored with full vectors; sqlite-vec's cost grows with k (100k chunks: k=100
# 15 ms, k=400 60 ms), so the re-scoring pool stays small.
RESCORE = 120
# Equal weight: on SciFact train, z-score fusion at 0.5 beat every reciprocal-rank variant tried
# (tests/bench/README.md), and 0.5 needs no tuning.
LEXICAL_WEIGHT = 0.5
_WORD = re.compile(r"\w+", re.UNICODE)
# Words that match most chunks cost the most in FTS5 (every match is scored) and rank nothing:
# at 100k chunks "the" alone takes 44 ms, "protein" 7 ms.
STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below between both
but by can could did do does doing down during each few for from further had has have having he her here hers
him his how i if in into is it its itself just me more most my no nor not now of off on once only or other our
ours out over own same she should so some such than that the their theirs them then there these they this those
through to too under until up very was we were what when where which while who whom why will with would you your
""".split())
MAX_QUERY_WORDS = 24
# FTS5 scores every posting of every query word, so a query costs about the sum of its words' chunk counts. Words
# are taken rarest first up to this many postings; the common ones left out weigh little in bm25 anyway. At 100k
# chunks this halves the slowest word searches (p95 39 -> 19 ms of CPU); a collection of SciFact's 10k chunks is
# rarely pruned (tests/bench/README.md).
POSTINGS_BUDGET = 30_000
# The tokenizer of chunks_fts (server/migrations.py, migration 8), to count postings the way the index keeps them.
FTS_TOKENIZER = (tokenizer.NAME, ["porter", "unicode61", "remove_diacritics", "2"])


@dataclass
class Hit:
    chunk_id: int
    page_id: int
    score: float


def query_words(query: str) -> list[str]:
    """The query's distinct words, lower-cased, without stopwords (unless there is nothing else).

    A run of CJK characters gives its overlapping pairs, as the index keeps it (search/tokenizer.py), so that
    "数据库备份" looks for any of 数据, 据库, 库备, 备份 rather than for the whole run.
    """
    words: list[str] = []
    for is_cjk, piece in tokenizer.split_runs(query.lower()):
        words.extend(tokenizer.bigrams(piece) if is_cjk else _WORD.findall(piece))
    words = list(dict.fromkeys(words))
    return ([w for w in words if w not in STOPWORDS] or words)[:MAX_QUERY_WORDS]


def _is_lone_cjk(word: str) -> bool:
    return len(word) == 1 and tokenizer.CJK_RUN.fullmatch(word) is not None


def fts_query(words: list[str] | str) -> str:
    """Any of the words, each quoted so FTS5 syntax in the query is taken literally.

    A lone CJK character is asked as a prefix: the index holds it inside the pairs that start with it.
    """
    words = query_words(words) if isinstance(words, str) else words
    return " OR ".join(f'"{w}"*' if _is_lone_cjk(w) else f'"{w}"' for w in words)


def within_budget(words: list[str], postings: dict[str, int], budget: int = POSTINGS_BUDGET) -> list[str]:
    """The rarest words whose postings fit the budget (always at least the rarest one), in query order."""
    kept: set[str] = set()
    total = 0
    for word in sorted(words, key=lambda w: postings.get(w, 0)):
        if kept and total + postings.get(word, 0) > budget:
            break
        kept.add(word)
        total += postings.get(word, 0)
    return [w for w in words if w in kept]


def word_postings(conn: Conn, words: list[str]) -> dict[str, int]:
    """How many chunks hold each word, as FTS5 keeps it (stemmed, CJK in pairs); a word of several tokens sums
    them, and a lone CJK character (asked as a prefix) sums the pairs that start with it."""
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunks_vocab USING fts5vocab(main, chunks_fts, row)")
    split = conn.fts5_tokenizer(*FTS_TOKENIZER)
    out = {}
    for word in words:
        if _is_lone_cjk(word):
            out[word] = sum(row["doc"] for row in conn.execute(
                "SELECT doc FROM temp.chunks_vocab WHERE term >= ? AND term < ?", (word, chr(ord(word) + 1))))
            continue
        tokens = {t[2] for t in split(word.encode(), apsw.FTS5_TOKENIZE_QUERY, None)}
        out[word] = sum(row["doc"] for t in tokens for row in conn.execute(
            "SELECT doc FROM temp.chunks_vocab WHERE term = ?", (t,)))
    return out


def lexical_chunks(conn: Conn, query: str, limit: int = CANDIDATES, budget: int | None = None) -> list[Hit]:
    words = query_words(query)
    if len(words) > 1:
        words = within_budget(words, word_postings(conn, words), POSTINGS_BUDGET if budget is None else budget)
    if not words:
        return []
    # Only the best `limit` rows are joined to chunks (joining first would join every match).
    sql = """SELECT c.id, c.page_id, f.rank FROM (SELECT rowid, bm25(chunks_fts) AS rank FROM chunks_fts
             WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?) f JOIN chunks c ON c.id = f.rowid ORDER BY f.rank"""
    return [Hit(r["id"], r["page_id"], -r["rank"]) for r in conn.execute(sql, (fts_query(words), limit))]


def semantic_chunks(conn: Conn, vector: np.ndarray, limit: int = CANDIDATES, rescore: int = RESCORE,
                    bits: SignBits | None = None) -> list[Hit]:
    """Bit-quantised nearest chunks (from the in-memory `bits` when current, else sqlite-vec), re-scored exactly."""
    if not vec_table_exists(conn):
        return []
    query = np.asarray(vector, dtype=np.float32)
    nearest = bits.nearest(conn, query, rescore) if bits is not None else None
    if nearest is not None:
        marks = ",".join("?" * len(nearest))
        rows = list(conn.execute(f"SELECT id, page_id, vector FROM chunks WHERE id IN ({marks}) AND vector IS NOT NULL",
                                 nearest)) if nearest else []
    else:
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


def _zscores(hits: list[Hit]) -> dict[int, float]:
    if not hits:
        return {}
    values = np.array([h.score for h in hits], dtype=np.float64)
    spread = float(values.std()) or 1.0
    return {h.page_id: (h.score - float(values.mean())) / spread for h in hits}


def fuse(lexical: list[Hit], semantic: list[Hit], lexical_weight: float = LEXICAL_WEIGHT) -> list[Hit]:
    """Weighted sum of each ranking's z-scored page scores (bm25 and cosine live on different scales).

    A page missing from one ranking gets that ranking's lowest score. A page keeps the chunk that
    stood out most for it.
    """
    z_lex, z_sem = _zscores(lexical), _zscores(semantic)
    floor_lex, floor_sem = min(z_lex.values(), default=0.0), min(z_sem.values(), default=0.0)
    chunk_of: dict[int, tuple[float, int]] = {}
    for weight, ranking, z in ((lexical_weight, lexical, z_lex), (1 - lexical_weight, semantic, z_sem)):
        for hit in ranking:
            part = weight * z[hit.page_id]
            if hit.page_id not in chunk_of or part > chunk_of[hit.page_id][0]:
                chunk_of[hit.page_id] = (part, hit.chunk_id)
    fused = [Hit(chunk_of[p][1], p, lexical_weight * z_lex.get(p, floor_lex)
                 + (1 - lexical_weight) * z_sem.get(p, floor_sem)) for p in chunk_of]
    return sorted(fused, key=lambda h: -h.score)


def lexical_pages(conn: Conn, query: str) -> list[Hit]:
    return best_per_page(lexical_chunks(conn, query))


def semantic_pages(conn: Conn, vector: np.ndarray, bits: SignBits | None = None) -> list[Hit]:
    return best_per_page(semantic_chunks(conn, vector, bits=bits))


def rank_pages(conn: Conn, query: str, vector: np.ndarray | None, mode: str, limit: int,
               bits: SignBits | None = None) -> list[Hit]:
    """Pages for `query`, best first, as SearchService ranks them (benchmarks call it with vectors made in a
    batch). Without a vector every mode falls back to lexical."""
    if vector is None or mode == "lexical":
        hits = lexical_pages(conn, query)
    elif mode == "semantic":
        hits = semantic_pages(conn, vector, bits)
    else:
        from search import fusion  # fusion builds on this module

        lexical = lexical_chunks(conn, query, fusion.WORD_DEPTH)
        hits = fusion.hybrid_pages(conn, lexical, semantic_chunks(conn, vector, bits=bits), vector, bits)
    return title_first(conn, query, hits, limit)[0]


def title_first(conn: Conn, query: str, hits: list[Hit], limit: int) -> tuple[list[Hit], bool]:
    """The page whose title is the query comes first, whatever the rankings said: someone who types "grep" or
    "docker compose" means that page (in the tldr commons, meaning put ggrep, fgrep and rgrep above grep).
    Also says whether there was such a page."""
    try:
        slug = slugify(query) if query.strip() else ""
    except TitleError:  # longer than any title can be, or no letters a title could have
        slug = ""
    row = next(iter(conn.execute("""SELECT p.id, c.id AS chunk_id FROM pages p JOIN chunks c ON c.page_id = p.id
                                    WHERE p.slug = ? ORDER BY c.ord LIMIT 1""", (slug,))), None) if slug else None
    if row is None:
        return hits[:limit], False
    own = next((h for h in hits if h.page_id == row["id"]), None)
    top = max((h.score for h in hits), default=1.0)
    first = Hit(own.chunk_id if own else row["chunk_id"], row["id"], max(top, own.score if own else top))
    return [first] + [h for h in hits if h.page_id != row["id"]][: limit - 1], True


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


def related_pages(conn: Conn, page_id: int, limit: int = 5, bits: SignBits | None = None) -> list[dict[str, Any]]:
    """Nearest pages to this page's mean chunk vector."""
    vectors = [from_blob(r["vector"]) for r in conn.execute(
        "SELECT vector FROM chunks WHERE page_id = ? AND vector IS NOT NULL", (page_id,))]
    if not vectors:
        return []
    centre = np.mean(vectors, axis=0)
    centre = centre / (np.linalg.norm(centre) or 1.0)
    hits = [h for h in best_per_page(semantic_chunks(conn, centre, limit=60, bits=bits)) if h.page_id != page_id]
    return describe(conn, hits[:limit])
