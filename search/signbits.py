"""Every chunk's sign bits in memory, for the first pass of semantic search.

sqlite-vec's `chunks_vec` stays the index of record; this is a copy of its bits (48 bytes a chunk at 384
dimensions) that numpy scans by Hamming distance in about 2 ms at 100k chunks, where sqlite-vec takes 16 ms
for the 120 candidates re-scored (tests/bench/README.md). The copy is used only while it is current: a
trigger counts every change to the chunk vectors (migration 5), and a query that finds the count moved uses
sqlite-vec and has the copy reloaded in the background. So an edit is never missed, it is only found the
slower way until the reload is done.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np

from search.index import VEC_TABLE, meta, vec_table_exists
from server.db import Conn, Database

log = logging.getLogger(__name__)
VERSION_KEY = "vectors_version"


@dataclass(frozen=True)
class Snapshot:
    version: str | None
    ids: np.ndarray | None    # chunk ids, int64; None: this version is left to sqlite-vec
    words: np.ndarray | None  # the bits, as uint64 words: one row a chunk


def load_snapshot(conn: Conn) -> Snapshot:
    """The bits of every chunk, read in one transaction with the version they belong to."""
    version = meta(conn, VERSION_KEY)
    if version is None or not vec_table_exists(conn):
        return Snapshot(version, None, None)
    rows = list(conn.execute(f"SELECT rowid, embedding FROM {VEC_TABLE}"))
    width = len(rows[0]["embedding"]) if rows else 8
    if width % 8:
        return Snapshot(version, None, None)  # not a whole number of 64-bit words: leave it to sqlite-vec
    ids = np.fromiter((r["rowid"] for r in rows), dtype=np.int64, count=len(rows))
    words = np.frombuffer(b"".join(r["embedding"] for r in rows), dtype=np.uint64).reshape(len(rows), width // 8)
    return Snapshot(version, ids, words)


class SignBits:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        self._loading = False
        self._thread: threading.Thread | None = None
        self._stopped = False

    def nearest(self, conn: Conn, vector: np.ndarray, k: int) -> list[int] | None:
        """Ids of the k chunks nearest `vector` by Hamming distance, or None when the copy is not current."""
        snapshot = self._snapshot
        version = meta(conn, VERSION_KEY)
        if snapshot is None or snapshot.version != version:
            self._reload_soon()
            return None
        if snapshot.ids is None or snapshot.words is None:
            return None
        if not len(snapshot.ids):
            return []
        query = next(iter(conn.execute("SELECT vec_quantize_binary(?) AS bits",
                                       (np.asarray(vector, dtype=np.float32).tobytes(),))))["bits"]
        if len(query) != snapshot.words.shape[1] * 8:
            return None
        distance = np.bitwise_count(snapshot.words ^ np.frombuffer(query, dtype=np.uint64)).sum(axis=1)
        k = min(k, len(distance))
        nearest = np.argpartition(distance, k - 1)[:k]
        return [int(i) for i in snapshot.ids[nearest]]

    def _reload_soon(self) -> None:
        with self._lock:
            if self._loading or self._stopped:
                return
            self._loading = True
            self._thread = threading.Thread(target=self._reload, name="search-signbits", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """No more reloads; waits for one in progress, so the database can be closed after."""
        with self._lock:
            self._stopped = True
            thread = self._thread
        if thread is not None:
            thread.join(timeout=60)

    def _reload(self) -> None:
        try:
            self._snapshot = self.db.read(load_snapshot)
        except Exception:  # the slower path keeps answering; the next query tries again
            log.exception("could not load the sign bits of the chunk vectors")
        finally:
            with self._lock:
                self._loading = False
