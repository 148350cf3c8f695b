"""The changes feed: pages whose head moved past a cursor, oldest first, in pages of `limit`."""

from __future__ import annotations

from typing import Any

from server.db import Conn
from server.reply_budget import DEFAULT_MAX_REPLY_BYTES, take_within_budget

MAX_LIMIT = 1000
# Extra columns a device may ask for, so that one compressed reply refreshes its saved pages.
EXTRA_FIELDS = {"body": "r.body", "html": "r.html"}


def changes_since(conn: Conn, since: int, limit: int = 100, include: tuple[str, ...] = (),
                  budget: int = DEFAULT_MAX_REPLY_BYTES) -> dict[str, Any]:
    """Each changed page appears once, at its current head; the head's revision id is the cursor.

    The reply ends early, with `more`, once its JSON would pass `budget` bytes (issue 11): with bodies,
    1,000 pages of 190 kB made one reply of 110 MB.
    """
    limit = max(1, min(limit, MAX_LIMIT))
    extra = "".join(f", {EXTRA_FIELDS[name]} AS {name}" for name in include if name in EXTRA_FIELDS)
    # With the body a device can hash it itself; 64 hex digits a page do not compress and cost phones ~10%.
    digest = "" if "body" in include else ", r.sha256"
    sql = f"""
        SELECT p.head_id AS seq, p.slug, p.title, r.uid AS rev, r.author, r.created_at AS updated_at,
               r.summary, r.size{digest}{extra}
        FROM pages p JOIN revisions r ON r.id = p.head_id
        WHERE p.head_id > ? ORDER BY p.head_id LIMIT ?"""
    taken = take_within_budget(conn.execute(sql, (min(since, 2**62), limit + 1)), budget, limit)
    last_seq = taken.last_row["seq"] if taken.last_row else since
    return {"changes": taken.items, "last_seq": last_seq, "more": taken.more}
