"""`commonplace maintain`: give back the space that deleted search rows keep.

sqlite-vec's vec0 table does not reuse the slots of deleted rows, and every re-indexed page deletes its old
chunks, so the vector table only grows. Rebuilding it from the float vectors kept in `chunks` drops the
dead slots; FTS5 `optimize` merges the word index's segments; VACUUM returns the freed pages to the disk.

The embedding cache keeps the vector of every chunk text ever indexed, so that a revert costs no embedding; it
is the largest part of the growth under edits (tests/bench/README.md, Hardening). `prune_cache` drops the
vectors no current chunk uses: the most space back, paid for by embedding again when old text returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from search import index
from server.db import connect


@dataclass(frozen=True)
class MaintenanceReport:
    bytes_before: int
    bytes_after: int
    vectors: int
    cache_rows_dropped: int = 0

    @property
    def reclaimed(self) -> int:
        return self.bytes_before - self.bytes_after


def database_bytes(path: Path) -> int:
    """The database file and its write-ahead log, as they take up the disk."""
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def rebuild_vectors(conn) -> int:
    """Recreate the vec0 table holding only the live chunks' vectors; returns how many it holds."""
    dim = index.meta(conn, "dim")
    if not dim or not index.vec_table_exists(conn):
        return 0
    conn.execute(f"DROP TABLE {index.VEC_TABLE}")
    conn.execute(f"CREATE VIRTUAL TABLE {index.VEC_TABLE} USING vec0(embedding bit[{int(dim)}])")
    conn.execute(f"""INSERT INTO {index.VEC_TABLE} (rowid, embedding)
                     SELECT id, vec_quantize_binary(vector) FROM chunks WHERE vector IS NOT NULL""")
    return next(iter(conn.execute(f"SELECT count(*) AS n FROM {index.VEC_TABLE}")))["n"]


def prune_embedding_cache(conn) -> int:
    """Drop cached vectors that no current chunk uses (old texts, other models); returns rows dropped."""
    before = next(iter(conn.execute("SELECT count(*) AS n FROM embedding_cache")))["n"]
    conn.execute("""DELETE FROM embedding_cache WHERE model IS NOT (SELECT value FROM search_meta WHERE key = 'model')
                    OR hash NOT IN (SELECT hash FROM chunks)""")
    return before - next(iter(conn.execute("SELECT count(*) AS n FROM embedding_cache")))["n"]


def maintain(path: Path, prune_cache: bool = False) -> MaintenanceReport:
    """Rebuild the vector table, optimize the word index and VACUUM. Writers wait while it runs."""
    before = database_bytes(path)
    conn = connect(path)
    dropped = 0
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            vectors = rebuild_vectors(conn)
            if prune_cache:
                dropped = prune_embedding_cache(conn)
            conn.execute("INSERT INTO chunks_fts (chunks_fts) VALUES ('optimize')")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return MaintenanceReport(before, database_bytes(path), vectors, dropped)
