"""Storage functions for downloading many pages at once (the browser's "download the commons").

Each function returns head revisions with their rendered HTML and Markdown source, and a `cursor` to continue after the
last row, so that a download cut off by a dropped connection resumes where it stopped.
"""

from __future__ import annotations

from typing import Any

from server.db import Conn
from server.pages import MAX_CURSOR

Row = dict[str, Any]

_COLUMNS = """p.id AS page_id, p.slug, p.title, r.uid AS rev, p.head_id AS seq, r.html, r.body, p.updated_at"""
_FROM = "FROM pages p JOIN revisions r ON r.id = p.head_id"


def pages_after(conn: Conn, after: int, limit: int) -> list[Row]:
    """Every page, in the order they were created: new pages land at the end, so a cursor stays valid."""
    sql = f"SELECT {_COLUMNS}, p.id AS cursor {_FROM} WHERE p.id > ? ORDER BY p.id LIMIT ?"
    return list(conn.execute(sql, (min(after, MAX_CURSOR), limit)))


def pages_changed_before(conn: Conn, before: int | None, limit: int) -> list[Row]:
    """The most recently changed pages first; the cursor is the head revision's sequence number."""
    sql = f"SELECT {_COLUMNS}, p.head_id AS cursor {_FROM} WHERE p.head_id < ? ORDER BY p.head_id DESC LIMIT ?"
    return list(conn.execute(sql, (MAX_CURSOR if before is None else min(before, MAX_CURSOR), limit)))


def pages_by_slugs(conn: Conn, slugs: list[str]) -> list[Row]:
    """The named pages that exist, in the order named."""
    if not slugs:
        return []
    marks = ",".join("?" * len(slugs))
    rows = {row["slug"]: row for row in conn.execute(f"SELECT {_COLUMNS} {_FROM} WHERE p.slug IN ({marks})", slugs)}
    return [rows[slug] for slug in slugs if slug in rows]


def missing_links(conn: Conn, page_ids: list[int]) -> dict[int, set[str]]:
    """For each page, the slugs it links to that have no page yet (shown as 'new' links)."""
    if not page_ids:
        return {}
    marks = ",".join("?" * len(page_ids))
    sql = f"""SELECT l.page_id, l.target_slug FROM links l WHERE l.page_id IN ({marks})
              AND NOT EXISTS (SELECT 1 FROM pages p WHERE p.slug = l.target_slug)"""
    found: dict[int, set[str]] = {}
    for row in conn.execute(sql, page_ids):
        found.setdefault(row["page_id"], set()).add(row["target_slug"])
    return found


def changes_cursor(conn: Conn) -> int:
    """The changes feed's current position: a download that starts here misses no later edit."""
    return next(iter(conn.execute("SELECT coalesce(max(id), 0) AS seq FROM revisions")))["seq"]


def page_count(conn: Conn) -> int:
    return next(iter(conn.execute("SELECT count(*) AS n FROM pages")))["n"]
