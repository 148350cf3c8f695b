"""Resolving a conflict: the author's chosen text becomes a new revision, through `apply_op`.

The resolution is based on whatever the head is when the author saves, even if it moved again after the
conflict page was shown: the author has seen the versions and chosen, and every overwritten revision stays
in the history. Discarding keeps the author's version stored, marked discarded.
"""

from __future__ import annotations

import uuid
from typing import Any

from server.db import Conn
from server.users import Actor
from sync.apply import Policy, apply_op
from sync.conflicts import ConflictError, close_conflict, open_conflict
from sync.vocabulary import CONFLICT_DISCARDED, CONFLICT_RESOLVED, REJECTED


def resolve_conflict(conn: Conn, uid: str, actor: Actor, policy: Policy, body: str,
                     title: str | None = None) -> dict[str, Any]:
    """Write `body` on top of the current head and close the conflict, in one transaction."""
    row = open_conflict(conn, uid, actor)
    summary = row["summary"] or "Resolved an edit conflict"
    op = {"op_id": f"resolve:{uid}:{uuid.uuid4()}", "type": "edit", "slug": row["slug"],
          "base_rev": row["head"]["rev"], "body": body, "title": title or row["title"],
          "summary": f"{summary} (resolved an edit conflict)"}
    result = apply_op(conn, op, actor, policy)
    if result["status"] == REJECTED:
        raise ConflictError("rejected", result["message"], reason=result["reason"])
    close_conflict(conn, row["id"], CONFLICT_RESOLVED, result["seq"])
    return {"id": uid, "status": CONFLICT_RESOLVED, "slug": row["slug"], "rev": result["rev"],
            "seq": result["seq"], "unchanged": bool(result.get("unchanged"))}


def discard_conflict(conn: Conn, uid: str, actor: Actor) -> dict[str, Any]:
    """The author's deliberate choice to drop their version."""
    row = open_conflict(conn, uid, actor)
    close_conflict(conn, row["id"], CONFLICT_DISCARDED)
    return {"id": uid, "status": CONFLICT_DISCARDED, "slug": row["slug"]}
