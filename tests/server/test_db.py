"""The database: WAL, versioned migrations, append-only revisions, one writer, readers, sqlite-vec."""

from __future__ import annotations

import threading
from pathlib import Path

import apsw
import pytest

from server.db import Database, connect
from server.migrations import MIGRATIONS, schema_version
from server.users import Actor
from sync.apply import Policy, apply_op


@pytest.fixture
def db(tmp_path: Path):
    database = Database(tmp_path / "c.db")
    yield database
    database.close()


def test_file_is_wal_and_migrated(db: Database) -> None:
    mode = db.read(lambda c: next(iter(c.execute("PRAGMA journal_mode")))["journal_mode"])
    assert mode == "wal"
    assert db.read(schema_version) == len(MIGRATIONS)


def test_reopening_does_not_migrate_twice(tmp_path: Path) -> None:
    Database(tmp_path / "c.db").close()
    again = Database(tmp_path / "c.db")
    assert again.read(schema_version) == len(MIGRATIONS)
    again.close()


def test_sqlite_vec_is_loaded(db: Database) -> None:
    version = db.read(lambda c: next(iter(c.execute("SELECT vec_version() AS v")))["v"])
    assert version.startswith("v0.1")


def test_revisions_are_append_only(db: Database) -> None:
    db.write(apply_op, {"op_id": "a", "title": "T", "base_rev": None, "body": "x"}, Actor(None, "w"),
             Policy(anonymous_edits=True))
    with pytest.raises(apsw.ConstraintError, match="append-only"):
        db.write(lambda c: c.execute("UPDATE revisions SET body = 'changed'"))
    with pytest.raises(apsw.ConstraintError, match="append-only"):
        db.write(lambda c: c.execute("DELETE FROM revisions"))


def test_failed_write_rolls_back_and_writer_carries_on(db: Database) -> None:
    def half_then_fail(conn: apsw.Connection) -> None:
        conn.execute("INSERT INTO users (uid, username, password_hash, created_at) VALUES ('u', 'x', 'h', 't')")
        raise ValueError("boom")

    with pytest.raises(ValueError):
        db.write(half_then_fail)
    assert db.read(lambda c: next(iter(c.execute("SELECT count(*) AS n FROM users")))["n"]) == 0
    assert db.write(lambda c: 42) == 42


def test_read_connections_are_read_only(db: Database) -> None:
    with pytest.raises(apsw.ReadOnlyError):
        db.read(lambda c: c.execute("INSERT INTO users (uid, username, password_hash, created_at) "
                                    "VALUES ('u', 'x', 'h', 't')"))


def test_concurrent_writers_are_serialised(db: Database) -> None:
    policy, actor = Policy(anonymous_edits=True), Actor(None, "w")

    def create(i: int) -> None:
        db.write(apply_op, {"op_id": f"o{i}", "title": f"P{i}", "base_rev": None, "body": "x"}, actor, policy)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert db.read(lambda c: next(iter(c.execute("SELECT count(*) AS n FROM pages")))["n"]) == 40


def test_connect_sets_durable_pragmas(tmp_path: Path) -> None:
    conn = connect(tmp_path / "x.db")
    assert next(iter(conn.execute("PRAGMA synchronous")))["synchronous"] == 2  # FULL
    assert next(iter(conn.execute("PRAGMA foreign_keys")))["foreign_keys"] == 1
    conn.close()
