"""Fault injection: SIGKILL the server during a burst of pushes; every acknowledged op survives exactly once."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import httpx
from conftest import LiveServer, start_server, stop_server, wait_for_index

from server.db import connect

OPS = 120
BATCH = 4
KILL_AFTER = 40  # acknowledged ops before the kill: mid-burst


def drain(server: LiveServer) -> None:
    """Read the child's output so that a full pipe never blocks the server."""
    threading.Thread(target=lambda: server.process.stdout.read(), daemon=True).start()


def signed_up(url: str) -> str:
    reply = httpx.post(url + "/api/users", json={"username": "u" + uuid.uuid4().hex[:8], "password": "long enough"})
    return reply.json()["token"]


def make_ops(shared_rev: str) -> list[dict]:
    """Page creations, and edits of one shared page on the same (soon stale) base: applied, merged, conflicts."""
    ops = []
    for i in range(OPS):
        if i % 3:
            ops.append({"op_id": f"fault-{i}", "title": f"Fault page {i}", "base_rev": None, "body": f"Body {i}.\n"})
        else:
            body = "\n\n".join(f"Paragraph {p}." + (f" Edit {i}." if p == i % 5 else "") for p in range(5)) + "\n"
            ops.append({"op_id": f"fault-{i}", "slug": "shared", "base_rev": shared_rev, "body": body})
    return ops


def burst(url: str, token: str, ops: list[dict], acked: dict[str, dict], stop: threading.Event) -> None:
    """Push in small batches until the server dies or the ops run out; record every acknowledged result."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        for start in range(0, len(ops), BATCH):
            if stop.is_set():
                return
            batch = ops[start : start + BATCH]
            try:
                reply = client.post("/api/sync/push", json={"device_id": "burst", "ops": batch})
            except httpx.HTTPError:
                return  # the server is gone: what was not acknowledged is retried later
            if reply.status_code != 200:
                return
            for result in reply.json()["results"]:
                acked[result["op_id"]] = result


def test_acknowledged_ops_survive_sigkill_exactly_once(tmp_path: Path) -> None:
    data = tmp_path / "fault-data"
    server = start_server(data)
    drain(server)
    token = signed_up(server.url)
    auth = {"Authorization": f"Bearer {token}"}
    body = "\n\n".join(f"Paragraph {p}." for p in range(5)) + "\n"
    shared = httpx.post(server.url + "/api/sync/push", headers=auth, json={"ops": [
        {"op_id": "shared", "title": "Shared", "base_rev": None, "body": body}]}).json()["results"][0]
    ops = make_ops(shared["rev"])
    acked: dict[str, dict] = {}
    stop = threading.Event()
    client = threading.Thread(target=burst, args=(server.url, token, ops, acked, stop))
    client.start()
    for _ in range(600):  # bounded wait for the kill point
        if len(acked) >= KILL_AFTER or not client.is_alive():
            break
        threading.Event().wait(0.01)
    server.process.kill()
    server.process.wait(timeout=10)
    stop.set()
    client.join(timeout=30)
    assert KILL_AFTER <= len(acked) < OPS, "the kill did not land mid-burst"

    server = start_server(data)
    drain(server)
    try:
        with httpx.Client(base_url=server.url, headers=auth, timeout=30) as retry:
            for start in range(0, len(ops), 50):  # everything again: unacknowledged ops land, the rest are duplicates
                results = retry.post("/api/sync/push", json={"device_id": "burst", "ops": ops[start : start + 50]})
                assert results.status_code == 200
                for result in results.json()["results"]:
                    assert result["status"] != "rejected", result
                    if result["op_id"] in acked:
                        first = acked[result["op_id"]]
                        assert result["status"] == "duplicate" and result["first_status"] == first["status"]
                        assert result.get("rev") == first.get("rev")
        # The search index catches up by itself after the crash: its queue lives in the database.
        status = wait_for_index(lambda: httpx.get(server.url + "/api/status").json(), timeout=120)
        assert status["index"]["pending"] == 0 and status["index"]["chunks"] >= status["pages"]
    finally:
        stop_server(server)

    conn = connect(data / "commonplace.db", readonly=True)
    try:
        assert [row["integrity_check"] for row in conn.execute("PRAGMA integrity_check")] == ["ok"]
        unindexed = next(iter(conn.execute(
            "SELECT count(*) AS n FROM pages WHERE id NOT IN (SELECT page_id FROM chunks)")))["n"]
        assert unindexed == 0
        stored = {row["op_id"]: row["status"] for row in conn.execute("SELECT op_id, status FROM ops")}
        revisions = {row["op_id"]: row["n"] for row in conn.execute(
            "SELECT op_id, count(*) AS n FROM revisions WHERE op_id IS NOT NULL GROUP BY op_id")}
        conflicts = {row["op_id"]: row["n"] for row in conn.execute(
            "SELECT op_id, count(*) AS n FROM conflicts GROUP BY op_id")}
    finally:
        conn.close()
    for op in ops:
        status = stored[op["op_id"]]
        if op["op_id"] in acked:
            assert status == acked[op["op_id"]]["status"]
        if status == "conflict":
            assert conflicts[op["op_id"]] == 1 and op["op_id"] not in revisions
        else:
            assert revisions.get(op["op_id"], 0) <= 1 and op["op_id"] not in conflicts
            assert revisions.get(op["op_id"]) == 1 or acked.get(op["op_id"], {}).get("unchanged")
