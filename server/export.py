"""Everything one account contributed, for its owner to download (issue 6: privacy)."""

from __future__ import annotations

from typing import Any

from server.db import Conn

EXPORT_FORMAT = 1


def user_export(conn: Conn, user_id: int) -> dict[str, Any]:
    """The account, every revision it wrote (with full text), its conflicts and its device checkpoints."""
    account = next(iter(conn.execute(
        "SELECT username, role, created_at FROM users WHERE id = ?", (user_id,))))
    revisions = list(conn.execute(
        """SELECT r.id AS seq, r.uid AS rev, p.slug, p.uid AS page_uid, r.title, r.created_at, r.summary,
                  r.body, r.size, r.sha256, r.op_id
           FROM revisions r JOIN pages p ON p.id = r.page_id WHERE r.user_id = ? ORDER BY r.id""", (user_id,)))
    conflicts = list(conn.execute(
        """SELECT c.uid AS id, c.op_id, p.slug, c.status, c.title, c.body, c.summary, c.created_at, c.resolved_at
           FROM conflicts c JOIN pages p ON p.id = c.page_id WHERE c.user_id = ? ORDER BY c.id""", (user_id,)))
    checkpoints = list(conn.execute(
        "SELECT device_id, last_seq, updated_at FROM device_checkpoints WHERE user_id = ? ORDER BY device_id",
        (user_id,)))
    return {"format": EXPORT_FORMAT, "account": account, "revisions": revisions, "conflicts": conflicts,
            "checkpoints": checkpoints}
