"""Storage functions for pages and their append-only revisions. All SQL about pages lives here."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from ulid import ULID

from server.confusables import looks_alike, title_skeleton
from server.db import Conn
from server.render import render
from server.slugs import legacy_slug, slug_text, slugify

Row = dict[str, Any]

_PAGE_COLUMNS = """
    p.id AS page_id, p.uid AS page_uid, p.slug, p.title, p.protected, p.created_at,
    p.updated_at, r.id AS seq, r.uid AS rev, r.body, r.html, r.author, r.size, r.sha256
"""


def content_hash(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()


def new_uid() -> str:
    return str(ULID())


def get_page(conn: Conn, slug: str) -> Row | None:
    sql = f"SELECT {_PAGE_COLUMNS} FROM pages p JOIN revisions r ON r.id = p.head_id WHERE p.slug = ?"
    return next(iter(conn.execute(sql, (slug,))), None)


def get_revision(conn: Conn, page_id: int, rev: str) -> Row | None:
    """A revision of one page by its global id (or its local number, for short URLs)."""
    by_number = re.fullmatch(r"[0-9]{1,18}", rev) is not None
    column = "id" if by_number else "uid"
    sql = f"""SELECT id AS seq, uid AS rev, page_id, parent_id, author, created_at, summary, title,
                     body, html, size, sha256 FROM revisions WHERE page_id = ? AND {column} = ?"""
    return next(iter(conn.execute(sql, (page_id, int(rev) if by_number else rev))), None)


def revision_uid(conn: Conn, revision_id: int) -> str:
    return next(iter(conn.execute("SELECT uid FROM revisions WHERE id = ?", (revision_id,))))["uid"]


MAX_CURSOR = 2**62


def _cursor(value: int | None) -> int:
    """Cursors from URLs are clamped into SQLite's integer range (huge numbers mean 'from the end')."""
    return MAX_CURSOR if value is None else max(0, min(value, MAX_CURSOR))


def page_history(conn: Conn, page_id: int, limit: int = 50, before: int | None = None) -> list[Row]:
    """Revisions newest first, each with the size change against its parent."""
    sql = """
        SELECT r.id AS seq, r.uid AS rev, r.author, r.created_at, r.summary, r.size, r.title,
               r.size - COALESCE(parent.size, 0) AS size_change, r.sha256
        FROM revisions r LEFT JOIN revisions parent ON parent.id = r.parent_id
        WHERE r.page_id = ? AND r.id < ? ORDER BY r.id DESC LIMIT ?"""
    return list(conn.execute(sql, (page_id, _cursor(before), limit)))


def recent_changes(conn: Conn, limit: int = 50, before: int | None = None) -> list[Row]:
    sql = """
        SELECT r.id AS seq, r.uid AS rev, p.slug, r.title, r.author, r.created_at, r.summary, r.size,
               r.size - COALESCE(parent.size, 0) AS size_change
        FROM revisions r JOIN pages p ON p.id = r.page_id
        LEFT JOIN revisions parent ON parent.id = r.parent_id
        WHERE r.id < ? ORDER BY r.id DESC LIMIT ?"""
    return list(conn.execute(sql, (_cursor(before), limit)))


def list_pages(conn: Conn, limit: int = 200, after: str = "") -> list[Row]:
    sql = """SELECT slug, title, updated_at FROM pages WHERE title > ? COLLATE NOCASE
             ORDER BY title COLLATE NOCASE LIMIT ?"""
    return list(conn.execute(sql, (after, limit)))


def missing_link_slugs(conn: Conn, page_id: int) -> set[str]:
    sql = """SELECT target_slug FROM links l WHERE l.page_id = ?
             AND NOT EXISTS (SELECT 1 FROM pages p WHERE p.slug = l.target_slug)"""
    return {row["target_slug"] for row in conn.execute(sql, (page_id,))}


def counts(conn: Conn) -> Row:
    pages = next(iter(conn.execute("SELECT count(*) AS n FROM pages")))["n"]
    revisions = next(iter(conn.execute("SELECT count(*) AS n FROM revisions")))["n"]
    return {"pages": pages, "revisions": revisions}


def slug_exists(conn: Conn, slug: str) -> bool:
    return next(iter(conn.execute("SELECT 1 AS x FROM pages WHERE slug = ?", (slug,))), None) is not None


def slug_for_title(conn: Conn, title: str) -> str:
    """The address a page of this title has or will have: its slug, or the cut slug an older server gave a
    long title (`slugs.legacy_slug`) when the page there was started under this same title."""
    slug = slugify(title)
    legacy = legacy_slug(title)
    if legacy is None or slug_exists(conn, slug):
        return slug
    sql = """SELECT r.title FROM pages p JOIN revisions r ON r.page_id = p.id WHERE p.slug = ?
             ORDER BY r.id LIMIT 1"""
    first = next(iter(conn.execute(sql, (legacy,))), None)
    return legacy if first is not None and slug_text(first["title"]) == slug_text(title) else slug


def look_alike_page(conn: Conn, title: str, slug: str) -> Row | None:
    """Another page (not `slug`) whose title reads the same as `title`: `Café` for `Сafé` (issue 11 item 12)."""
    key = title_skeleton(title)
    if key is None:
        return None
    sql = "SELECT slug, title FROM pages WHERE skeleton = ? AND slug != ? ORDER BY id LIMIT 20"
    return next((row for row in conn.execute(sql, (key, slug)) if looks_alike(title, row["title"])), None)


def create_page(conn: Conn, slug: str, title: str, now: str) -> Row:
    uid = new_uid()
    conn.execute(
        "INSERT INTO pages (uid, slug, title, skeleton, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        (uid, slug, title, title_skeleton(title), now, now),
    )
    row = next(iter(conn.execute("SELECT id AS page_id, slug FROM pages WHERE uid = ?", (uid,))))
    return row


def add_revision(
    conn: Conn,
    *,
    page_id: int,
    parent_id: int | None,
    user_id: int | None,
    author: str,
    title: str,
    body: str,
    summary: str,
    op_id: str | None,
    now: str,
) -> Row:
    """Append a revision (rendered once, here), make it the page's head and refresh its links."""
    html, links = render(body, title)
    uid = new_uid()
    conn.execute(
        """INSERT INTO revisions (uid, page_id, parent_id, user_id, author, created_at, summary,
                                  title, body, size, sha256, html, op_id)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (uid, page_id, parent_id, user_id, author, now, summary, title, body,
         len(body.encode("utf-8", "surrogatepass")), content_hash(body), html, op_id),
    )
    seq = conn.last_insert_rowid()
    conn.execute(
        "UPDATE pages SET head_id = ?, title = ?, skeleton = ?, updated_at = ? WHERE id = ?",
        (seq, title, title_skeleton(title), now, page_id),
    )
    conn.execute("DELETE FROM links WHERE page_id = ?", (page_id,))
    conn.executemany(
        "INSERT INTO links (page_id, target_slug) VALUES (?, ?)", [(page_id, s) for s in links]
    )
    return {"seq": seq, "rev": uid}


def set_protected(conn: Conn, page_id: int, protected: bool) -> None:
    conn.execute("UPDATE pages SET protected = ? WHERE id = ?", (int(protected), page_id))


def user_recent_edits(conn: Conn, user_id: int, since: str) -> list[Row]:
    """Pages whose latest revisions since `since` are by this user, with the revision to go back to."""
    sql = """
        SELECT p.id AS page_id, p.slug, p.title, p.head_id,
               (SELECT max(o.id) FROM revisions o WHERE o.page_id = p.id
                  AND (o.user_id IS NOT ? OR o.created_at < ?)) AS restore_id
        FROM pages p JOIN revisions h ON h.id = p.head_id
        WHERE h.user_id = ? AND h.created_at >= ?"""
    return list(conn.execute(sql, (user_id, since, user_id, since)))


def get_revision_by_id(conn: Conn, revision_id: int) -> Row | None:
    sql = "SELECT id AS seq, uid AS rev, page_id, title, body FROM revisions WHERE id = ?"
    return next(iter(conn.execute(sql, (revision_id,))), None)


def user_contributions(conn: Conn, user_id: int, limit: int = 100) -> list[Row]:
    sql = """SELECT r.id AS seq, r.uid AS rev, p.slug, r.title, r.created_at, r.summary, r.size
             FROM revisions r JOIN pages p ON p.id = r.page_id
             WHERE r.user_id = ? ORDER BY r.id DESC LIMIT ?"""
    return list(conn.execute(sql, (user_id, limit)))

