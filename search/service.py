"""Search as the app uses it: one object holding the database, the (lazily loaded) model and the indexer."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from search import index, ranking
from search.embedder import LazyEmbedder
from search.indexer import Indexer
from search.signbits import SignBits
from server.db import Database

SNIPPET_CHARS = 200
MAX_QUERY_CHARS = 500
MAX_LIMIT = 50
_WORD = re.compile(r"\w+", re.UNICODE)
_LEXICAL_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="search-lexical")


def make_snippet(text: str, query: str, width: int = SNIPPET_CHARS) -> str:
    """The chunk's text without its title line, cut around the first query word found."""
    body = text.split("\n\n", 1)[1] if "\n\n" in text else text
    body = " ".join(body.split())
    words = [w for w in _WORD.findall(query.lower()) if len(w) > 1]
    lower = body.lower()
    hits = [lower.find(w) for w in words if lower.find(w) >= 0]
    start = max(0, min(hits) - width // 4) if hits else 0
    if start:
        space = body.find(" ", start)
        start = space + 1 if 0 <= space < start + 20 else start
    piece = body[start : start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(body) else "")


class SearchService:
    def __init__(self, db: Database, model: str) -> None:
        self.db = db
        self.embedder = LazyEmbedder(model)
        self.indexer = Indexer(db, self.embedder)
        self.bits = SignBits(db)

    def start(self) -> None:
        self.embedder.start()
        self.indexer.start()

    def stop(self) -> None:
        self.indexer.stop()
        self.bits.stop()

    @property
    def notice(self) -> str | None:
        """What a reader should know about search quality right now, in plain words."""
        if self.embedder.error:
            return "Search by meaning is unavailable (" + self.embedder.error + "); showing word matches only."
        if not self.embedder.ready:
            return "The search model is still loading; showing word matches for now."
        return None

    def model_status(self) -> str:
        if self.embedder.error:
            return f"{self.embedder.name} (unavailable: lexical only)"
        return self.embedder.name if self.embedder.ready else f"{self.embedder.name} (loading)"

    def status(self) -> dict[str, Any]:
        pending = self.db.read(index.pending_count)
        return {"pending": pending, "chunks": self.db.read(index.chunk_count),
                "missing_vectors": self.db.read(index.missing_vector_count), "model": self.model_status(),
                "last_error": self.db.read(index.last_error)}

    def search(self, query: str, limit: int = 10, mode: str = "hybrid") -> dict[str, Any]:
        started = time.perf_counter()
        query = " ".join(query.split())[:MAX_QUERY_CHARS]
        limit = max(1, min(limit, MAX_LIMIT))
        model = self.embedder.get(timeout=0) if self.embedder.ready and mode != "lexical" else None
        has_words = bool(_WORD.search(query))
        notice = None
        if model is not None and has_words and mode == "hybrid":
            # The word search runs while the model embeds the query: both release the GIL, so on two cores a
            # hybrid query costs about the slower of the two rather than their sum.
            lexical = _LEXICAL_POOL.submit(self.db.read, ranking.lexical_pages, query)
            vector = model.encode_query(query)
            semantic = self.db.read(ranking.semantic_pages, vector, self.bits)
            used, hits = mode, ranking.fuse(lexical.result(), semantic)[:limit]
            notice = self._rebuild_notice(len(semantic), limit, "results lean on word matches")
        else:
            vector = model.encode_query(query) if model is not None and has_words else None
            used = mode if vector is not None or mode == "lexical" else "lexical"
            hits = self.db.read(ranking.rank_pages, query, vector, used, limit, self.bits) if query else []
            if used == "semantic":
                notice = self._rebuild_notice(len(hits), limit, "showing word matches")
                if notice:
                    used, hits = "lexical", self.db.read(ranking.rank_pages, query, None, "lexical", limit, self.bits)
        rows = self.db.read(ranking.describe, hits)
        results = [{"slug": r["slug"], "title": r["title"], "snippet": make_snippet(r["text"], query),
                    "score": r["score"]} for r in rows]
        reply: dict[str, Any] = {"results": results, "took_ms": round((time.perf_counter() - started) * 1000, 2),
                                 "mode": used}
        if notice or used != mode:
            reply["notice"] = notice or self.notice
        return reply

    def _rebuild_notice(self, found: int, limit: int, meanwhile: str) -> str | None:
        """Said while chunks wait for their vectors, as after a model switch (issue 11, item 13: semantic search
        answered nothing, without a word, until the rebuild was done). A full answer needs no check, so the
        count is paid only by a short one."""
        if found >= limit:
            return None
        missing = self.db.read(index.missing_vector_count)
        if not missing:
            return None
        total = self.db.read(index.chunk_count)
        return (f"The meaning index is being rebuilt for the search model ({missing:,} of {total:,} passages "
                f"left); {meanwhile} until it is done.")

    def related(self, page_id: int, limit: int = 5) -> list[dict[str, Any]]:
        rows = self.db.read(ranking.related_pages, page_id, limit, self.bits)
        return [{"slug": r["slug"], "title": r["title"]} for r in rows]
