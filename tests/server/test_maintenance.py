"""`commonplace maintain` gives back the space of deleted search rows and keeps search working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import bearer, new_op, push, sign_up, wait_for_index
from litestar.testing import TestClient

from server.app import create_app
from server.db import connect
from server.maintenance import database_bytes, maintain
from server.settings import Settings

PAGES = 40
ROUNDS = 6


def count(path: Path, sql: str) -> int:
    conn = connect(path, readonly=True)
    try:
        return next(iter(conn.execute(sql)))["n"]
    finally:
        conn.close()


def build_churned_database(data: Path) -> Path:
    """Pages re-indexed again and again: each round deletes every chunk and its vec0 row."""
    settings = Settings(data=data, model="hashing", rate_edit="off")
    with TestClient(create_app(settings)) as client:
        token = sign_up(client)
        text = "\n\n".join(f"Paragraph {p} about kettles, tea and water number {p}." for p in range(12))
        heads = {r["slug"]: r["rev"] for r in push(client, token, *[
            new_op(title=f"Churn {i}", base_rev=None, body=text) for i in range(PAGES)])}
        for round_ in range(ROUNDS):
            wait_for_index(lambda: client.get("/api/status").json())
            body = text.replace("tea", f"tea{round_}")
            ops = [new_op(slug=slug, base_rev=rev, body=body) for slug, rev in heads.items()]
            heads = {r["slug"]: r["rev"] for r in push(client, token, *ops)}
        wait_for_index(lambda: client.get("/api/status").json())
        assert client.get("/api/search?q=kettles&mode=semantic", headers=bearer(token)).json()["results"]
    return settings.db_path


def test_maintain_reclaims_space_and_search_still_works(tmp_path: Path) -> None:
    path = build_churned_database(tmp_path / "data")
    chunks = count(path, "SELECT count(*) AS n FROM chunks WHERE vector IS NOT NULL")
    report = maintain(path)
    print(f"maintain: {report.bytes_before / 1e6:.2f} MB -> {report.bytes_after / 1e6:.2f} MB")
    assert report.vectors == chunks > 0
    assert report.bytes_after < report.bytes_before and report.reclaimed > 0
    assert database_bytes(path) == report.bytes_after
    conn = connect(path, readonly=True)
    try:
        assert [r["integrity_check"] for r in conn.execute("PRAGMA integrity_check")] == ["ok"]
    finally:
        conn.close()
    with TestClient(create_app(Settings(data=path.parent, model="hashing"))) as client:
        for mode in ("semantic", "lexical"):
            assert client.get(f"/api/search?q=kettles&mode={mode}").json()["results"], mode


def test_maintain_command(tmp_path: Path) -> None:
    data = tmp_path / "data"
    build_churned_database(data)
    result = subprocess.run([sys.executable, "-m", "server.cli", "maintain", "--data", str(data)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "reclaimed" in result.stdout, result.stderr
    pruned = subprocess.run([sys.executable, "-m", "server.cli", "maintain", "--prune-cache", "--data", str(data)],
                            capture_output=True, text=True, timeout=120)
    assert pruned.returncode == 0 and "Dropped" in pruned.stdout and "Dropped 0 " not in pruned.stdout, pruned.stdout
    used = count(data / "commonplace.db", "SELECT count(DISTINCT hash) AS n FROM chunks")
    assert count(data / "commonplace.db", "SELECT count(*) AS n FROM embedding_cache") == used
    missing = subprocess.run([sys.executable, "-m", "server.cli", "maintain", "--data", str(tmp_path / "none")],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and "no database" in missing.stderr
