"""`commonplace backup` under write load, then the README's restore: the copy opens, checks and serves."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
from conftest import LiveServer, bearer, start_server, stop_server

from server.db import connect


def test_a_backup_taken_under_load_restores_and_serves(live_server: LiveServer, tmp_path: Path) -> None:
    token = httpx.post(live_server.url + "/api/users", json={"username": "bk", "password": "long enough"}
                       ).json()["token"]
    acked: list[tuple[float, str]] = []  # (time acknowledged, op_id)
    stop = threading.Event()

    def write_pages() -> None:
        with httpx.Client(base_url=live_server.url, headers=bearer(token), timeout=30) as client:
            for i in range(2000):
                if stop.is_set():
                    return
                op = {"op_id": str(uuid.uuid4()), "title": f"Load {i}", "base_rev": None, "body": f"Text {i}. " * 50}
                reply = client.post("/api/sync/push", json={"ops": [op]})
                if reply.status_code == 200 and reply.json()["results"][0]["status"] == "applied":
                    acked.append((time.monotonic(), op["op_id"]))

    writer = threading.Thread(target=write_pages)
    writer.start()
    try:
        while len(acked) < 30:
            time.sleep(0.05)
        started = time.monotonic()
        dest = tmp_path / "backup.db"
        result = subprocess.run([sys.executable, "-m", "server.cli", "backup", str(dest), "--data",
                                 str(live_server.data)], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0 and "integrity check ok" in result.stdout, result.stderr
        time.sleep(0.3)  # writes carry on after the backup
    finally:
        stop.set()
        writer.join()
    before_backup = {op_id for at, op_id in acked if at < started}
    assert len(acked) > len(before_backup)  # the load went on during and after the backup

    # Restore as README says: a fresh data directory whose commonplace.db is the backup file.
    restored = tmp_path / "restored"
    restored.mkdir()
    shutil.copy(dest, restored / "commonplace.db")
    conn = connect(restored / "commonplace.db", readonly=True)
    try:
        assert [r["integrity_check"] for r in conn.execute("PRAGMA integrity_check")] == ["ok"]
        in_copy = {r["op_id"] for r in conn.execute("SELECT op_id FROM revisions WHERE op_id IS NOT NULL")}
    finally:
        conn.close()
    assert before_backup <= in_copy  # every edit acknowledged before the backup began is in it
    server = start_server(restored)
    try:
        status = httpx.get(server.url + "/api/status").json()
        assert status["pages"] >= len(before_backup)
        assert httpx.get(server.url + "/wiki/load-0").status_code == 200
        login = httpx.post(server.url + "/api/session", json={"username": "bk", "password": "long enough"})
        assert login.status_code == 200  # accounts come back too
        op = {"op_id": str(uuid.uuid4()), "title": "After restore", "base_rev": None, "body": "Still works."}
        reply = httpx.post(server.url + "/api/sync/push", json={"ops": [op]}, headers=bearer(login.json()["token"]))
        assert reply.json()["results"][0]["status"] == "applied"
    finally:
        stop_server(server)
