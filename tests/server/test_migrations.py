"""Migrations that reshape a table keep its rows."""

from __future__ import annotations

from pathlib import Path

from server.db import connect
from server.migrations import MIGRATIONS, migrate


def test_the_embedding_cache_moves_to_a_rowid_table_with_its_rows(tmp_path: Path) -> None:
    conn = connect(tmp_path / "old.db")
    try:
        for number, sql in enumerate(MIGRATIONS[:3], start=1):  # a database as migration 3 left it
            conn.execute(sql)
            conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("INSERT INTO embedding_cache (hash, model, vector) VALUES ('h', 'm', x'00112233')")
        assert migrate(conn) == len(MIGRATIONS) >= 4
        assert list(conn.execute("SELECT hash, model, vector FROM embedding_cache")) == [
            {"hash": "h", "model": "m", "vector": b"\x00\x11\x22\x33"}]
        sql = next(iter(conn.execute("SELECT sql FROM sqlite_master WHERE name = 'embedding_cache'")))["sql"]
        assert "WITHOUT ROWID" not in sql.upper()
        conn.execute("INSERT OR IGNORE INTO embedding_cache (hash, model, vector) VALUES ('h', 'm', x'ff')")
        assert next(iter(conn.execute("SELECT count(*) AS n FROM embedding_cache")))["n"] == 1  # still unique
    finally:
        conn.close()
