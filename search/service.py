"""Search as the app uses it: one object holding the database, the (lazily loaded) model and the indexer."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from search import fusion, index, judge, language, ranking, spelling
from search.embedder import LazyEmbedder
from search.indexer import Indexer
from search.signbits import SignBits
from server.db import Database

SNIPPET_CHARS = 200
MAX_QUERY_CHARS = 500
MAX_LIMIT = 50
_WORD = re.compile(r"\w+", re.UNICODE)


def make_snippet(text: str, query: str, width: int = SNIPPET_CHARS) -> str:
    """The chunk's text without its title line, cut around the first query word found."""
    body = text.split("\n\n", 1)[1] if "\n\n" in text else text
    body = " ".join(body.split())
    words = [w for w in ranking.query_words(query) if len(w) > 1]
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
        self.vocabulary = spelling.Vocabulary()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="search-lexical")

    def start(self) -> None:
        self.embedder.start()
        self.indexer.start()

    def stop(self) -> None:
        self.indexer.stop()
        self.bits.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)

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
        """The reply of /api/search: results, the mode used, and what the reader should know about them.

        The mode is decided once: meaning needs a loaded model, a query in English (search/language.py) and
        words; otherwise the word search answers and `notice` says why. A word that no page holds is replaced by
        its closest word that pages hold (`corrected_query`), and a weak best answer sets `no_good_match`.
        """
        started = time.perf_counter()
        query = " ".join(query.split())[:MAX_QUERY_CHARS]
        limit = max(1, min(limit, MAX_LIMIT))
        reply: dict[str, Any] = {"results": [], "mode": mode, "no_good_match": False}
        if not _WORD.search(query):
            return {**reply, "took_ms": round((time.perf_counter() - started) * 1000, 2)}
        corrected = self.db.read(spelling.correct, query, self.vocabulary)
        text = corrected or query
        english = language.meaning_applies(text)
        model = self.embedder.get(timeout=0) if self.embedder.ready and mode != "lexical" and english else None
        found = self._rank(text, limit, mode if model is not None else "lexical", model)
        found.hits, found.exact_title = self.db.read(ranking.title_first, text, found.hits, limit)
        rows = self.db.read(ranking.describe, found.hits)
        reply["results"] = [{"slug": r["slug"], "title": r["title"], "snippet": make_snippet(r["text"], text),
                             "score": r["score"]} for r in rows]
        reply["mode"] = found.mode
        reply["no_good_match"] = self.db.read(judge.no_good_match, found)
        if corrected:
            reply["corrected_query"] = corrected
        if not english:
            reply["language"] = "other"
        notice = (language.OTHER_LANGUAGE_NOTICE if not english and mode != "lexical" else None) or found.notice
        if notice or (found.mode != mode and mode != "lexical"):
            reply["notice"] = notice or self.notice
        reply["took_ms"] = round((time.perf_counter() - started) * 1000, 2)
        return reply

    def _rank(self, text: str, limit: int, mode: str, model) -> judge.Found:
        """Pages for `text` in `mode` (which needs `model` unless lexical), with the evidence for the judge."""
        if mode == "lexical":
            lexical = self.db.read(ranking.lexical_pages, text)
            return judge.Found("lexical", lexical[:limit], lexical=lexical, words=ranking.query_words(text))
        if mode == "hybrid":
            # The word search runs while the model embeds the query: both release the GIL, so on two cores a
            # hybrid query costs about the slower of the two rather than their sum.
            pending = self._pool.submit(self.db.read, ranking.lexical_chunks, text, fusion.WORD_DEPTH)
            vector = model.encode_query(text)
            semantic_chunks = self.db.read(ranking.semantic_chunks, vector, ranking.CANDIDATES, ranking.RESCORE,
                                           self.bits)
            lexical_chunks = pending.result()
            hits = self.db.read(fusion.hybrid_pages, lexical_chunks, semantic_chunks, vector, self.bits)[:limit]
            lexical = ranking.best_per_page(lexical_chunks)
            semantic = ranking.best_per_page(semantic_chunks)
            notice = self._rebuild_notice(len(semantic), limit, "results lean on word matches")
            return judge.Found("hybrid", hits, lexical=lexical, semantic=semantic, words=ranking.query_words(text),
                               notice=notice)
        semantic = self.db.read(ranking.semantic_pages, model.encode_query(text), self.bits)
        notice = self._rebuild_notice(len(semantic[:limit]), limit, "showing word matches")
        if notice:
            found = self._rank(text, limit, "lexical", None)
            found.notice = notice
            return found
        return judge.Found("semantic", semantic[:limit], semantic=semantic, words=ranking.query_words(text))

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
