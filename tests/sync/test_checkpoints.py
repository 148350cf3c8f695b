"""Device checkpoints: per account and device, forward only unless reset."""

from __future__ import annotations

from pathlib import Path

from server.db import Database
from server.users import create_user
from sync.checkpoints import get_checkpoint, list_checkpoints, save_checkpoint


def test_checkpoints_are_per_account_and_device_and_move_forward(tmp_path: Path) -> None:
    db = Database(tmp_path / "c.db")
    try:
        alice, bob = (db.write(create_user, name, "not-a-real-hash")["id"] for name in ("alice", "bob"))
        assert db.write(save_checkpoint, alice, "phone", 7)["last_seq"] == 7
        assert db.write(save_checkpoint, alice, "phone", 3)["last_seq"] == 7
        assert db.write(save_checkpoint, alice, "phone", 3, reset=True)["last_seq"] == 3
        assert db.read(get_checkpoint, bob, "phone")["last_seq"] == 0
        assert db.read(get_checkpoint, alice, "laptop") == {"device_id": "laptop", "last_seq": 0, "updated_at": None}
        assert [row["device_id"] for row in db.read(list_checkpoints, alice)] == ["phone"]
    finally:
        db.close()
    reopened = Database(tmp_path / "c.db")
    try:
        assert reopened.read(get_checkpoint, alice, "phone")["last_seq"] == 3
    finally:
        reopened.close()
