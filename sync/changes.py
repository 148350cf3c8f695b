"""The changes feed: pages whose head moved past a cursor, oldest first, in pages of `limit`."""

from __future__ import annotations

from typing import Any

from server.db import Conn

MAX_LIMIT = 1000


def changes_since(conn: Conn, since: int, limit: int = 100) -> dict[str, Any]:
    """Each changed page appears once, at its current head; the head's revision id is the cursor."""
    limit = max(1, min(limit, MAX_LIMIT))
    sql = """
        SELECT p.head_id AS seq, p.slug, p.title, r.uid AS rev, r.author, r.created_at AS updated_at,
               r.summary, r.size, r.sha256
        FROM pages p JOIN revisions r ON r.id = p.head_id
        WHERE p.head_id > ? ORDER BY p.head_id LIMIT ?"""
    rows = list(conn.execute(sql, (min(since, 2**62), limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    last_seq = rows[-1]["seq"] if rows else since
    return {"changes": rows, "last_seq": last_seq, "more": more}
