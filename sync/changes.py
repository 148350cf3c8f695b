"""The changes feed: pages whose head moved past a cursor, oldest first, in pages of `limit`."""

from __future__ import annotations

from typing import Any

from server.db import Conn

MAX_LIMIT = 1000
# Extra columns a device may ask for, so that one compressed reply refreshes its saved pages.
EXTRA_FIELDS = {"body": "r.body", "html": "r.html"}


def changes_since(conn: Conn, since: int, limit: int = 100, include: tuple[str, ...] = ()) -> dict[str, Any]:
    """Each changed page appears once, at its current head; the head's revision id is the cursor."""
    limit = max(1, min(limit, MAX_LIMIT))
    extra = "".join(f", {EXTRA_FIELDS[name]} AS {name}" for name in include if name in EXTRA_FIELDS)
    # With the body a device can hash it itself; 64 hex digits a page do not compress and cost phones ~10%.
    digest = "" if "body" in include else ", r.sha256"
    sql = f"""
        SELECT p.head_id AS seq, p.slug, p.title, r.uid AS rev, r.author, r.created_at AS updated_at,
               r.summary, r.size{digest}{extra}
        FROM pages p JOIN revisions r ON r.id = p.head_id
        WHERE p.head_id > ? ORDER BY p.head_id LIMIT ?"""
    rows = list(conn.execute(sql, (min(since, 2**62), limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    last_seq = rows[-1]["seq"] if rows else since
    return {"changes": rows, "last_seq": last_seq, "more": more}
