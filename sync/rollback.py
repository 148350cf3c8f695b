"""Moderator rollback: undo an account's recent edits, each undo a new revision through apply_op."""

from __future__ import annotations

import uuid
from typing import Any

from server import pages
from server.db import Conn
from server.users import Actor
from sync.apply import Policy, apply_op
from sync.vocabulary import REJECTED


def roll_back_user(conn: Conn, user: dict[str, Any], since: str, actor: Actor, policy: Policy) -> int:
    """Restore every page whose latest edits since `since` are by `user`; returns pages restored.

    Pages the user created in that window have nothing to go back to and are left for a person to judge.
    """
    restored = 0
    for row in pages.user_recent_edits(conn, user["id"], since):
        if row["restore_id"] is None:
            continue
        target = pages.get_revision_by_id(conn, row["restore_id"])
        op = {"op_id": f"rollback:{uuid.uuid4()}", "type": "edit", "slug": row["slug"],
              "base_rev": pages.revision_uid(conn, row["head_id"]), "body": target["body"],
              "title": target["title"],
              "summary": f"Rolled back edits by {user['username']} to revision {target['seq']}"}
        if apply_op(conn, op, actor, policy)["status"] != REJECTED:
            restored += 1
    return restored
