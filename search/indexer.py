"""The background indexer: turns queued pages into chunks, vectors and FTS rows, off the request path.

The queue lives in the database (pages are queued by a trigger on every new revision), so pending
work survives restarts and a failed batch is retried. Text whose vector is already known (same
chunk text, same model) is never embedded again. Without a model the index is lexical only, and
the missing vectors are filled in once a model loads.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from search import index
from search.chunking import chunk_page
from search.embedder import Embedder, HashingEmbedder, LazyEmbedder
from server.db import Database

log = logging.getLogger("commonplace.indexer")
# One model.encode call per batch. Big batches let sentence-transformers sort many texts by length, so little
# padding is computed: 16 pages a batch ran at 0.77x of bare encode, 256 at 0.94x (tests/bench/README.md). A
# lone edit is still taken at once: a batch is whatever is queued, up to this many.
PAGES_PER_BATCH = 256
VECTOR_FILL_BATCH = 256


@dataclass
class IndexStats:
    pages: int = 0
    chunks: int = 0
    embedded: int = 0
    reused: int = 0


class Indexer:
    def __init__(self, db: Database, embedder: LazyEmbedder, interval: float = 0.5) -> None:
        self.db = db
        self.embedder = embedder
        self.interval = interval
        self.stats = IndexStats()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._prepared_for: str | None = None
        self._estimator = HashingEmbedder()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="commonplace-indexer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once() or self.fill_missing_vectors()
            except Exception:  # the loop must outlive any one failure; the queue keeps the work
                log.exception("indexing pass failed; retrying shortly")
                busy = 0
            if not busy:
                self._wake.wait(self.interval)
                self._wake.clear()

    def _model(self) -> Embedder | None:
        model = self.embedder.get(timeout=0) if self.embedder.ready else None
        if model is not None and self._prepared_for != model.name:
            if self.db.write(index.prepare_for_model, model.name, model.dim):
                log.info("search model is now %s; vectors will be rebuilt", model.name)
            self._prepared_for = model.name
        return model

    def run_once(self, limit: int = PAGES_PER_BATCH) -> int:
        """Index up to `limit` queued pages in one batch; returns how many were taken."""
        queued = [q for q in self.db.read(index.pending, limit)]
        if not queued:
            return 0
        model = self._model()
        counter = model or self._estimator
        max_tokens = model.max_tokens if model else 256
        plans = []
        for item in queued:
            page = self.db.read(index.page_text, item["page_id"])
            chunks = chunk_page(page["title"], page["body"], counter.count_tokens, max_tokens) if page else []
            plans.append((item, page, chunks))
        try:
            vectors = self._vectors_for([c for _, _, cs in plans for c in cs], model)
        except Exception as exc:
            log.exception("embedding failed for %d pages", len(plans))
            for item, _, _ in plans:
                self.db.write(index.record_failure, item["page_id"], f"embedding failed: {exc}")
            return 0

        def write(conn) -> None:
            for item, page, chunks in plans:
                if page is None:
                    index.delete_page_chunks(conn, item["page_id"])
                    index.settle(conn, item["page_id"], item["enqueued_at"])
                    continue
                rows = [{"ord": c.ord, "heading": c.heading, "text": c.text, "hash": c.hash,
                         "vector": vectors.get(c.hash)} for c in chunks]
                index.replace_page_chunks(conn, page["page_id"], page["seq"], rows, model.name if model else None,
                                          item["enqueued_at"])

        self.db.write(write)
        self.stats.pages += len(plans)
        self.stats.chunks += sum(len(cs) for _, _, cs in plans)
        return len(plans)

    def _vectors_for(self, chunks: list, model: Embedder | None) -> dict[str, bytes]:
        if model is None or not chunks:
            return {}
        hashes = list(dict.fromkeys(c.hash for c in chunks))
        known = self.db.read(index.cached_vectors, hashes, model.name)
        todo = {c.hash: c.text for c in chunks if c.hash not in known}
        self.stats.reused += len(hashes) - len(todo)
        if todo:
            encoded = model.encode(list(todo.values()))
            known.update({h: index.to_blob(v) for h, v in zip(todo, encoded, strict=True)})
            self.stats.embedded += len(todo)
        return known

    def fill_missing_vectors(self, limit: int = VECTOR_FILL_BATCH) -> int:
        """Embed chunks indexed while no model was available; returns how many were filled."""
        model = self._model()
        if model is None:
            return 0
        rows = self.db.read(index.chunks_missing_vectors, limit)
        if not rows:
            return 0
        known = self.db.read(index.cached_vectors, [r["hash"] for r in rows], model.name)
        todo = [r for r in rows if r["hash"] not in known]
        if todo:
            for row, vector in zip(todo, model.encode([r["text"] for r in todo]), strict=True):
                known[row["hash"]] = index.to_blob(vector)
            self.stats.embedded += len(todo)
        self.db.write(index.set_chunk_vectors, [(r["id"], r["hash"], known[r["hash"]]) for r in rows], model.name)
        return len(rows)

    def drain(self, progress=lambda pages: None) -> IndexStats:
        """Index everything queued, in the caller's thread (used by `commonplace reindex`)."""
        while True:
            done = self.run_once()
            if not done:
                break
            progress(done)
        while self.fill_missing_vectors():
            pass
        return self.stats
