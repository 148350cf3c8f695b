"""Storage of the search index: chunks (FTS5 via triggers), vectors (sqlite-vec), the queue, the cache.

Vectors are kept twice: full float32 in `chunks.vector` for exact re-scoring, and one bit per
dimension in the `chunks_vec` vec0 table for a fast first pass (hamming distance).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from server.db import Conn

Row = dict[str, Any]
VEC_TABLE = "chunks_vec"


def meta(conn: Conn, key: str) -> str | None:
    row = next(iter(conn.execute("SELECT value FROM search_meta WHERE key = ?", (key,))), None)
    return row["value"] if row else None


def set_meta(conn: Conn, key: str, value: str) -> None:
    conn.execute("INSERT INTO search_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = ?",
                 (key, value, value))


def vec_table_exists(conn: Conn) -> bool:
    sql = "SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = ?"
    return next(iter(conn.execute(sql, (VEC_TABLE,))), None) is not None


def prepare_for_model(conn: Conn, model: str, dim: int) -> bool:
    """Make the vector table fit `model`; when the model changed, drop every vector. True if it changed."""
    if meta(conn, "model") == model and meta(conn, "dim") == str(dim) and vec_table_exists(conn):
        return False
    conn.execute(f"DROP TABLE IF EXISTS {VEC_TABLE}")
    conn.execute(f"CREATE VIRTUAL TABLE {VEC_TABLE} USING vec0(embedding bit[{dim}])")
    conn.execute("UPDATE chunks SET vector = NULL WHERE vector IS NOT NULL")
    set_meta(conn, "model", model)
    set_meta(conn, "dim", str(dim))
    return True


def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)


MAX_ATTEMPTS = 5


def pending(conn: Conn, limit: int = 16) -> list[Row]:
    """Queued pages, fewest failures first; a page that failed MAX_ATTEMPTS times waits for `reindex`."""
    sql = """SELECT page_id, enqueued_at, attempts FROM index_queue WHERE attempts < ?
             ORDER BY attempts, rowid LIMIT ?"""
    return list(conn.execute(sql, (MAX_ATTEMPTS, limit)))


def reset_failures(conn: Conn) -> None:
    conn.execute("UPDATE index_queue SET attempts = 0, last_error = NULL WHERE attempts > 0")


def last_error(conn: Conn) -> str | None:
    row = next(iter(conn.execute("SELECT last_error FROM index_queue WHERE last_error IS NOT NULL LIMIT 1")), None)
    return row["last_error"] if row else None


def pending_count(conn: Conn) -> int:
    return next(iter(conn.execute("SELECT count(*) AS n FROM index_queue")))["n"]


def chunk_count(conn: Conn) -> int:
    return next(iter(conn.execute("SELECT count(*) AS n FROM chunks")))["n"]


def missing_vector_count(conn: Conn) -> int:
    return next(iter(conn.execute("SELECT count(*) AS n FROM chunks WHERE vector IS NULL")))["n"]


def enqueue_all(conn: Conn) -> int:
    conn.execute("""INSERT INTO index_queue (page_id, enqueued_at) SELECT id, 'reindex' FROM pages WHERE true
                    ON CONFLICT(page_id) DO NOTHING""")
    return pending_count(conn)


def page_text(conn: Conn, page_id: int) -> Row | None:
    sql = """SELECT p.id AS page_id, p.title, r.id AS seq, r.body FROM pages p
             JOIN revisions r ON r.id = p.head_id WHERE p.id = ?"""
    return next(iter(conn.execute(sql, (page_id,))), None)


def page_chunk_hashes(conn: Conn, page_id: int) -> list[str]:
    return [r["hash"] for r in conn.execute("SELECT hash FROM chunks WHERE page_id = ? ORDER BY ord", (page_id,))]


def cached_vectors(conn: Conn, hashes: list[str], model: str) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for start in range(0, len(hashes), 500):
        part = hashes[start : start + 500]
        marks = ",".join("?" * len(part))
        sql = f"SELECT hash, vector FROM embedding_cache WHERE model = ? AND hash IN ({marks})"
        found.update({r["hash"]: r["vector"] for r in conn.execute(sql, (model, *part))})
    return found


def replace_page_chunks(conn: Conn, page_id: int, seq: int, chunks: list[Row], model: str | None,
                        queued_as: str | None) -> None:
    """Swap a page's chunks for new ones (vectors may be None) and settle its queue entry."""
    delete_page_chunks(conn, page_id)
    has_vec = vec_table_exists(conn)
    for chunk in chunks:
        conn.execute("""INSERT INTO chunks (page_id, seq, ord, heading, text, hash, vector)
                        VALUES (?, ?, ?, ?, ?, ?, ?)""",
                     (page_id, seq, chunk["ord"], chunk["heading"], chunk["text"], chunk["hash"], chunk["vector"]))
        if chunk["vector"] is not None:
            chunk_id = conn.last_insert_rowid()
            if has_vec:
                conn.execute(f"INSERT INTO {VEC_TABLE} (rowid, embedding) VALUES (?, vec_quantize_binary(?))",
                             (chunk_id, chunk["vector"]))
            if model:
                conn.execute("INSERT OR IGNORE INTO embedding_cache (hash, model, vector) VALUES (?, ?, ?)",
                             (chunk["hash"], model, chunk["vector"]))
    settle(conn, page_id, queued_as)


def settle(conn: Conn, page_id: int, queued_as: str | None) -> None:
    """Drop the queue entry unless the page changed again meanwhile (then it stays for the next pass)."""
    if queued_as is not None:
        conn.execute("DELETE FROM index_queue WHERE page_id = ? AND enqueued_at = ?", (page_id, queued_as))


def delete_page_chunks(conn: Conn, page_id: int) -> None:
    if vec_table_exists(conn):
        conn.execute(f"DELETE FROM {VEC_TABLE} WHERE rowid IN (SELECT id FROM chunks WHERE page_id = ?)", (page_id,))
    conn.execute("DELETE FROM chunks WHERE page_id = ?", (page_id,))


def record_failure(conn: Conn, page_id: int, error: str) -> None:
    conn.execute("UPDATE index_queue SET attempts = attempts + 1, last_error = ? WHERE page_id = ?",
                 (error[:500], page_id))


def chunks_missing_vectors(conn: Conn, limit: int = 64) -> list[Row]:
    return list(conn.execute("SELECT id, hash, text FROM chunks WHERE vector IS NULL ORDER BY id LIMIT ?", (limit,)))


def set_chunk_vectors(conn: Conn, rows: list[tuple[int, str, bytes]], model: str) -> None:
    has_vec = vec_table_exists(conn)
    for chunk_id, chunk_hash, blob in rows:
        conn.execute("UPDATE chunks SET vector = ? WHERE id = ?", (blob, chunk_id))
        if has_vec:
            conn.execute(f"DELETE FROM {VEC_TABLE} WHERE rowid = ?", (chunk_id,))
            conn.execute(f"INSERT INTO {VEC_TABLE} (rowid, embedding) VALUES (?, vec_quantize_binary(?))",
                         (chunk_id, blob))
        conn.execute("INSERT OR IGNORE INTO embedding_cache (hash, model, vector) VALUES (?, ?, ?)",
                     (chunk_hash, model, blob))
