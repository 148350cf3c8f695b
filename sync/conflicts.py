"""Storage of conflicts: an unclean merge kept whole for its author until they resolve or discard it.

A conflict holds the author's op (title, body, summary), the revision it started from, the head it
met, and the merge proposal (sync rule 3). Resolving and discarding live in sync/resolve.py.
"""

from __future__ import annotations

import json
from typing import Any

from server import pages
from server.clock import now_iso
from server.db import Conn
from server.reply_budget import DEFAULT_MAX_REPLY_BYTES, take_within_budget
from server.users import Actor
from sync.merge import MergeResult, merge_three_way
from sync.vocabulary import CONFLICT_OPEN

MAX_LISTED = 200


class ConflictError(Exception):
    """A resolve or discard that cannot happen; `kind` says why (not_found, not_owner, closed, rejected)."""

    def __init__(self, kind: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.kind = kind
        self.extra = extra


def store_conflict(
    conn: Conn, *, op: dict[str, Any], actor: Actor, device_id: str | None, page: dict[str, Any],
    base_seq: int, title: str, summary: str, merge: MergeResult, now: str,
) -> str:
    uid = pages.new_uid()
    conn.execute(
        """INSERT INTO conflicts (uid, op_id, user_id, device_id, page_id, base_id, head_id, title, body,
                                  summary, proposal, parts, status, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (uid, op["op_id"], actor.user_id, device_id, page["page_id"], base_seq, page["seq"], title, op["body"],
         summary, merge.proposal, json.dumps([p.as_dict() for p in merge.parts]), CONFLICT_OPEN, now),
    )
    return uid


def authors_since(conn: Conn, page_id: int, after_seq: int, upto_seq: int) -> list[str]:
    """Who wrote the revisions between the op's base and the head it is merged into, oldest first."""
    sql = """SELECT author FROM revisions WHERE page_id = ? AND id > ? AND id <= ?
             GROUP BY author ORDER BY min(id)"""
    return [row["author"] for row in conn.execute(sql, (page_id, after_seq, upto_seq))]


def conflict_status(conn: Conn, op_id: str) -> str | None:
    row = next(iter(conn.execute("SELECT status FROM conflicts WHERE op_id = ?", (op_id,))), None)
    return row["status"] if row else None


_SELECT = """
    SELECT c.id, c.uid, c.op_id, c.user_id, c.device_id, c.page_id, c.base_id, c.head_id, c.title, c.body,
           c.summary, c.proposal, c.parts, c.status, c.created_at, c.resolved_at, c.resolved_id,
           p.slug, p.head_id AS current_head_id
    FROM conflicts c JOIN pages p ON p.id = c.page_id"""


def _revision(conn: Conn, revision_id: int | None) -> dict[str, Any] | None:
    if revision_id is None:
        return None
    sql = """SELECT id AS seq, uid AS rev, author, created_at, summary, title, body FROM revisions
             WHERE id = ?"""
    return next(iter(conn.execute(sql, (revision_id,))), None)


def _describe(conn: Conn, row: dict[str, Any]) -> dict[str, Any]:
    """The conflict as the author sees it: base, current head, their version and a proposal against the head.

    When the head moved since the conflict was stored, the proposal is made again against the new head.
    """
    base, head = _revision(conn, row["base_id"]), _revision(conn, row["current_head_id"])
    proposal, parts = row["proposal"], json.loads(row["parts"])
    if row["current_head_id"] != row["head_id"] and row["status"] == CONFLICT_OPEN:
        again = merge_three_way(base["body"], head["body"], row["body"])
        proposal, parts = again.proposal, [p.as_dict() for p in again.parts]
    resolved = _revision(conn, row["resolved_id"])
    return {
        "id": row["uid"], "op_id": row["op_id"], "device_id": row["device_id"], "slug": row["slug"],
        "status": row["status"], "created_at": row["created_at"], "resolved_at": row["resolved_at"],
        "resolved_rev": resolved["rev"] if resolved else None,
        "base": base, "head": head, "head_rev_at_conflict": pages.revision_uid(conn, row["head_id"]),
        "ours": {"title": row["title"], "body": row["body"], "summary": row["summary"]},
        "proposal": proposal, "parts": parts,
    }


def list_conflicts(conn: Conn, user_id: int, status: str = CONFLICT_OPEN) -> list[dict[str, Any]]:
    rows = conn.execute(f"{_SELECT} WHERE c.user_id = ? AND c.status = ? ORDER BY c.id LIMIT ?",
                        (user_id, status, MAX_LISTED))
    return [_describe(conn, row) for row in list(rows)]


def conflicts_after(conn: Conn, user_id: int, after: int = 0,
                    budget: int = DEFAULT_MAX_REPLY_BYTES) -> dict[str, Any]:
    """The caller's open conflicts after the cursor `after`, oldest first, within `budget` bytes of JSON.

    Each conflict carries up to four copies of a page (base, head, ours, proposal), so one account's list
    reached 69 MB (issue 11); `cursor` (the last conflict's row id) is null when nothing is left.
    """
    sql = f"{_SELECT} WHERE c.user_id = ? AND c.status = ? AND c.id > ? ORDER BY c.id LIMIT ?"
    rows = conn.execute(sql, (user_id, CONFLICT_OPEN, min(after, pages.MAX_CURSOR), MAX_LISTED + 1))
    taken = take_within_budget(rows, budget, MAX_LISTED, lambda row: _describe(conn, row))
    return {"conflicts": taken.items, "more": taken.more,
            "cursor": taken.last_row["id"] if taken.more and taken.last_row else None}


def count_open(conn: Conn, user_id: int) -> int:
    sql = "SELECT count(*) AS n FROM conflicts WHERE user_id = ? AND status = ?"
    return next(iter(conn.execute(sql, (user_id, CONFLICT_OPEN))))["n"]


def _owned(conn: Conn, uid: str, actor: Actor) -> dict[str, Any]:
    row = next(iter(conn.execute(f"{_SELECT} WHERE c.uid = ?", (uid,))), None)
    if row is None:
        raise ConflictError("not_found", "There is no conflict with that id.")
    if not actor.signed_in or row["user_id"] != actor.user_id:
        raise ConflictError("not_owner", "Only the author of a conflicting edit can resolve it.")
    return row


def get_conflict(conn: Conn, uid: str, actor: Actor) -> dict[str, Any]:
    return _describe(conn, _owned(conn, uid, actor))


def open_conflict(conn: Conn, uid: str, actor: Actor) -> dict[str, Any]:
    """The caller's conflict, still open; a ConflictError says why not."""
    row = _owned(conn, uid, actor)
    if row["status"] != CONFLICT_OPEN:
        resolved = _revision(conn, row["resolved_id"])
        raise ConflictError("closed", f"This conflict was {row['status']} already.", status=row["status"],
                            resolved_rev=resolved["rev"] if resolved else None)
    return {**row, "head": _revision(conn, row["current_head_id"])}


def close_conflict(conn: Conn, conflict_id: int, status: str, resolved_id: int | None = None) -> None:
    conn.execute("UPDATE conflicts SET status = ?, resolved_at = ?, resolved_id = ? WHERE id = ?",
                 (status, now_iso(), resolved_id, conflict_id))
