"""A consistent copy of a live database (VACUUM INTO reads one snapshot; writers carry on)."""

from __future__ import annotations

from pathlib import Path

from server.db import connect


class BackupProblem(RuntimeError):
    """The backup could not be made; the message says what to do."""


def backup_database(source: Path, dest: Path) -> int:
    """Copy `source` to `dest`, check the copy's integrity and return its size in bytes."""
    if not source.exists():
        raise BackupProblem(f"There is no database at {source}; check --data.")
    if dest.exists():
        raise BackupProblem(f"{dest} exists already; choose a new file name (nothing was overwritten).")
    dest.parent.mkdir(parents=True, exist_ok=True)
    conn = connect(source, readonly=True)
    try:
        conn.execute("VACUUM INTO ?", (str(dest),))
    finally:
        conn.close()
    copy = connect(dest, readonly=True)
    try:
        result = next(iter(copy.execute("PRAGMA integrity_check")))["integrity_check"]
    finally:
        copy.close()
    if result != "ok":
        raise BackupProblem(f"The copy at {dest} failed its integrity check ({result}); keep the old backup.")
    return dest.stat().st_size
