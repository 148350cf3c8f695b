"""Per-device checkpoints of the changes feed: how far each of an account's devices has read.

A device stores the feed's `last_seq` here after it has saved every change up to it, and reads it back
when its own storage says nothing (a reinstall, a new profile) so that it resumes instead of starting
over. Checkpoints only move forward unless the device asks for a reset: a delayed retry of an old
write must not wind a device back.
"""

from __future__ import annotations

from typing import Any

from server.clock import now_iso
from server.db import Conn
from server.reply_budget import DEFAULT_MAX_REPLY_BYTES, take_within_budget

MAX_DEVICE_ID_CHARS = 100
MAX_LISTED = 1000


def get_checkpoint(conn: Conn, user_id: int, device_id: str) -> dict[str, Any]:
    sql = "SELECT last_seq, updated_at FROM device_checkpoints WHERE user_id = ? AND device_id = ?"
    row = next(iter(conn.execute(sql, (user_id, device_id))), None)
    return {"device_id": device_id, "last_seq": row["last_seq"] if row else 0,
            "updated_at": row["updated_at"] if row else None}


def save_checkpoint(conn: Conn, user_id: int, device_id: str, last_seq: int, reset: bool = False) -> dict[str, Any]:
    """Record `last_seq` for this device (the larger of old and new, or exactly `last_seq` on reset)."""
    keep = "excluded.last_seq" if reset else "max(last_seq, excluded.last_seq)"
    conn.execute(
        f"""INSERT INTO device_checkpoints (user_id, device_id, last_seq, updated_at) VALUES (?, ?, ?, ?)
            ON CONFLICT(user_id, device_id) DO UPDATE SET last_seq = {keep}, updated_at = excluded.updated_at""",
        (user_id, device_id, last_seq, now_iso()),
    )
    return get_checkpoint(conn, user_id, device_id)


def list_checkpoints(conn: Conn, user_id: int) -> list[dict[str, Any]]:
    sql = "SELECT device_id, last_seq, updated_at FROM device_checkpoints WHERE user_id = ? ORDER BY device_id"
    return list(conn.execute(sql, (user_id,)))


def checkpoints_after(conn: Conn, user_id: int, after: str = "",
                      budget: int = DEFAULT_MAX_REPLY_BYTES) -> dict[str, Any]:
    """The caller's devices after the device id `after`, in order, within `budget` bytes of JSON.

    An account may name any number of devices, so the list pages like every other list reply (issue 11);
    `cursor` (the last device id) is null when nothing is left.
    """
    sql = """SELECT device_id, last_seq, updated_at FROM device_checkpoints
             WHERE user_id = ? AND device_id > ? ORDER BY device_id LIMIT ?"""
    taken = take_within_budget(conn.execute(sql, (user_id, after, MAX_LISTED + 1)), budget, MAX_LISTED)
    return {"checkpoints": taken.items, "more": taken.more,
            "cursor": taken.last_row["device_id"] if taken.more and taken.last_row else None}
