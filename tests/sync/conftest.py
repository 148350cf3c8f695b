"""Fixtures for the sync tests: a real SQLite file behind the storage's Database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from server.db import Database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "c.db")
    yield database
    database.close()
