"""Storage functions for downloading many pages at once (the browser's "download the commons").

A batch holds head revisions with their rendered HTML (and, when asked, the Markdown source) and a `cursor`
to continue after the last row, so that a download cut off by a dropped connection resumes where it
stopped. Rows are read one at a time and the batch ends at the reply's byte budget (issue 11): 500 pages of
200 kB with their source would otherwise be one reply of about 200 MB.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from server.db import Conn
from server.pages import MAX_CURSOR
from server.render import mark_missing_links
from server.reply_budget import take_within_budget

Row = dict[str, Any]

_COLUMNS = """p.id AS page_id, p.slug, p.title, r.uid AS rev, p.head_id AS seq, r.html, r.body, p.updated_at"""
_FROM = "FROM pages p JOIN revisions r ON r.id = p.head_id"


def pages_after(conn: Conn, after: int, limit: int) -> Iterator[Row]:
    """Every page, in the order they were created: new pages land at the end, so a cursor stays valid."""
    sql = f"SELECT {_COLUMNS}, p.id AS cursor {_FROM} WHERE p.id > ? ORDER BY p.id LIMIT ?"
    return conn.execute(sql, (min(after, MAX_CURSOR), limit))


def pages_changed_before(conn: Conn, before: int | None, limit: int) -> Iterator[Row]:
    """The most recently changed pages first; the cursor is the head revision's sequence number."""
    sql = f"SELECT {_COLUMNS}, p.head_id AS cursor {_FROM} WHERE p.head_id < ? ORDER BY p.head_id DESC LIMIT ?"
    return conn.execute(sql, (MAX_CURSOR if before is None else min(before, MAX_CURSOR), limit))


def pages_named(conn: Conn, names: list[str], start: int) -> Iterator[Row]:
    """The named pages that exist, in the order named, from position `start`; the cursor is a position."""
    sql = f"SELECT {_COLUMNS} {_FROM} WHERE p.slug = ?"
    for position, slug in enumerate(names[start:], start):
        row = next(iter(conn.execute(sql, (slug,))), None)
        if row is not None:
            yield {**row, "cursor": position + 1}


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


def read_batch(conn: Conn, scope: str, after: int | None, limit: int, names: list[str],
               fields: tuple[str, ...], budget: int) -> Row:
    """One batch of `scope` (`all`, `changes`, or the pages of `names`) within `budget` bytes of JSON.

    Replies `{pages, cursor, more, total, last_seq}`, all read in one snapshot; `cursor` is null at the end.
    """
    last_seq = changes_cursor(conn)

    def shape(row: Row) -> Row:
        page = {k: row[k] for k in fields}
        missing = missing_links(conn, [row["page_id"]]).get(row["page_id"])
        if missing:
            page["html"] = mark_missing_links(page["html"], missing)
        return page

    if scope in ("all", "changes"):
        rows = pages_after(conn, after or 0, limit + 1) if scope == "all" else \
            pages_changed_before(conn, after, limit + 1)
        taken = take_within_budget(rows, budget, limit, shape)
        cursor, total = (taken.last_row["cursor"] if taken.more else None), page_count(conn)
    else:
        # The cursor is a position in the list of names; names without a page are skipped.
        start = after or 0
        end = start + limit
        taken = take_within_budget(pages_named(conn, names[:end], start), budget, limit, shape)
        if taken.more:
            cursor = taken.last_row["cursor"]
        else:
            cursor = end if end < len(names) else None
        total = len(names)
    return {"pages": taken.items, "cursor": cursor, "more": cursor is not None, "total": total,
            "last_seq": last_seq}
