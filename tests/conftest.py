"""Shared fixtures: a real temporary data directory, the app on a real SQLite file, a live server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient

from server.app import create_app
from server.settings import Settings

ROOT = Path(__file__).resolve().parent.parent

def _shared_data() -> Path:
    """`../shared/data` beside the checkout, wherever the checkout is (COMMONPLACE_SHARED_DATA overrides)."""
    candidates = [os.environ.get("COMMONPLACE_SHARED_DATA"), ROOT.parent / "shared" / "data", "/work/shared/data"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "tldr" / "pages.jsonl").exists():
            return Path(candidate)
    return ROOT.parent / "shared" / "data"


SHARED_DATA = _shared_data()


def pytest_configure(config: pytest.Config) -> None:
    if not (SHARED_DATA / "xss" / "xss-payloads.txt").exists():
        raise pytest.UsageError(
            f"The shared test data is missing at {SHARED_DATA}. Put the checkout beside shared/ "
            "or set COMMONPLACE_SHARED_DATA to the data folder."
        )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data=tmp_path / "data", model="hashing")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def sign_up(client: TestClient, username: str | None = None, password: str = "correct horse") -> str:
    """Create an account through the API and return its bearer token."""
    username = username or "u" + uuid.uuid4().hex[:10]
    reply = client.post("/api/users", json={"username": username, "password": password})
    assert reply.status_code == 201, reply.text
    client.cookies.clear()
    return reply.json()["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def push(client: TestClient, token: str, *ops: dict, device_id: str = "test-device") -> list[dict]:
    reply = client.post("/api/sync/push", json={"device_id": device_id, "ops": list(ops)}, headers=bearer(token))
    assert reply.status_code == 200, reply.text
    return reply.json()["results"]


def new_op(**fields: object) -> dict:
    op = {"op_id": str(uuid.uuid4()), "type": "edit", "summary": "test edit"}
    op.update(fields)
    return op


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    data: Path
    process: subprocess.Popen


def start_server(data: Path, port: int | None = None, env: dict[str, str] | None = None) -> LiveServer:
    """`commonplace serve` in a child process on a free loopback port; waits until it answers."""
    port = port or free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--data", str(data)],
        cwd=ROOT, env={**os.environ, "COMMONPLACE_MODEL": "hashing", **(env or {})},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stdout.read().decode(errors='replace')}")
        try:
            if httpx.get(url + "/api/status", timeout=1).status_code == 200:
                return LiveServer(url, data, process)
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start within 60 s")


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(tmp_path / "live-data")
    yield server
    stop_server(server)


def wait_for_index(get_status, timeout: float = 60, vectors: bool = True) -> dict:
    """Poll `/api/status` (through `get_status()`) until the index has nothing pending (and, with
    `vectors`, every chunk has its vector)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = get_status()
        if status["index"]["pending"] == 0 and (not vectors or status["index"].get("missing_vectors", 0) == 0):
            return status
        time.sleep(0.1)
    raise AssertionError(f"the search index did not catch up within {timeout} s: {status}")


@contextmanager
def server_with_meaning_on_one_page_in_four(data: Path) -> Iterator[tuple[LiveServer, object]]:
    """A live server over four pages indexed for words while no model was ready, one given its vector since.

    A writer holding the database (yielded: roll it back to let go) keeps the server's indexer from filling the
    other vectors meanwhile; the server still reads (WAL). Used by the coverage tests of the search page.
    """
    from search.embedder import LazyEmbedder
    from search.indexer import Indexer
    from server.db import Database, connect
    from server.users import Actor
    from sync.apply import Policy, apply_op

    db = Database(Settings(data=data).db_path)
    try:
        for title in ("Alpha", "Beta", "Gamma", "Delta"):
            result = db.write(apply_op, {"op_id": f"new-{title}", "title": title, "base_rev": None,
                                         "body": f"Words about {title}."}, Actor(None, "tester"),
                              Policy(anonymous_edits=True))
            assert result["status"] == "applied"
        indexer = Indexer(db, LazyEmbedder("hashing"))
        indexer.run_once()
        indexer.embedder.start()
        assert indexer.embedder.get(timeout=30) is not None
        assert indexer.fill_missing_vectors(limit=1) == 1
    finally:
        db.close()
    holder = connect(Settings(data=data).db_path)
    holder.execute("BEGIN IMMEDIATE")
    server = start_server(data)
    try:
        yield server, holder
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()
        stop_server(server)
