"""Moderators block an account: its sessions and tokens stop at once, from the user page or the CLI."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import LiveServer, bearer, new_op, push, sign_up, start_server, stop_server
from litestar.testing import TestClient

from server.db import connect
from server.users import ROLE_MODERATOR, set_role


def form_post(client: TestClient, page: str, action: str, fields: dict[str, str]):
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(page).text).group(1)
    return client.post(action, data={"csrf_token": token, **fields}, follow_redirects=False)


def test_a_moderator_blocks_and_unblocks_from_the_user_page(client: TestClient) -> None:
    spammer = sign_up(client, "spammer", "long enough")
    push(client, spammer, new_op(title="Spam", base_rev=None, body="buy now"))
    form_post(client, "/signup", "/signup", {"username": "mod", "password": "long enough"})
    client.app.state.db.write(set_role, "mod", ROLE_MODERATOR)
    assert 'action="/users/spammer/block"' in client.get("/users/spammer").text

    assert form_post(client, "/users/spammer", "/users/spammer/block", {"blocked": "1"}).status_code == 303
    assert "blocked" in client.get("/users/spammer").text
    refused = client.post("/api/sync/push", json={"ops": [new_op(title="More", base_rev=None, body="x")]},
                          headers=bearer(spammer))
    assert refused.status_code == 401  # the token stopped working at once
    moderator_cookies = dict(client.cookies)
    client.cookies.clear()  # a session cookie would make the JSON log-in need a CSRF token
    login = client.post("/api/session", json={"username": "spammer", "password": "long enough"})
    assert login.status_code == 401
    assert client.get("/api/pages/spam").status_code == 200  # what they wrote stays in history

    client.cookies.update(moderator_cookies)
    form_post(client, "/users/spammer", "/users/spammer/block", {"blocked": "0"})
    client.cookies.clear()
    again = client.post("/api/session", json={"username": "spammer", "password": "long enough"})
    assert again.status_code == 200
    old_token = client.post("/api/sync/push", json={"ops": []}, headers=bearer(spammer))
    assert old_token.status_code == 401  # blocking ended it for good


def test_editors_cannot_block_and_moderators_cannot_block_themselves(client: TestClient) -> None:
    sign_up(client, "victim", "long enough")
    form_post(client, "/signup", "/signup", {"username": "plain", "password": "long enough"})
    assert form_post(client, "/users/victim", "/users/victim/block", {"blocked": "1"}).status_code == 403
    assert 'action="/users/victim/block"' not in client.get("/users/victim").text
    client.app.state.db.write(set_role, "plain", ROLE_MODERATOR)
    assert form_post(client, "/users/plain", "/users/plain/block", {"blocked": "1"}).status_code == 403
    assert form_post(client, "/users/nobody", "/users/nobody/block", {"blocked": "1"}).status_code in (403, 404)


def test_cli_block_and_unblock(tmp_path: Path) -> None:
    data = tmp_path / "data"
    secret = tmp_path / "pw"
    secret.write_text("a good long password\n")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "server.cli", *args, "--data", str(data)],
                              capture_output=True, text=True, timeout=120)

    assert run("user", "create", "troll", "--password-file", str(secret)).returncode == 0
    blocked = run("user", "block", "troll")
    assert blocked.returncode == 0 and "troll is blocked" in blocked.stdout
    conn = connect(data / "commonplace.db", readonly=True)
    assert next(iter(conn.execute("SELECT blocked FROM users WHERE username = 'troll'")))["blocked"] == 1
    conn.close()
    assert "no longer blocked" in run("user", "unblock", "troll").stdout
    missing = run("user", "block", "ghost")
    assert missing.returncode == 1 and "no account called ghost" in missing.stderr


@pytest.fixture
def unlimited_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A live server without an edit limit: the flood must reach the writer, not stop at a 429."""
    server = start_server(tmp_path / "live-data", env={"COMMONPLACE_RATE_EDIT": "off"})
    yield server
    stop_server(server)


def test_no_edit_lands_once_the_block_has_answered(unlimited_server: LiveServer) -> None:
    """Six devices push 100-op batches while a moderator blocks the account (issue 11 item 3).

    A push authenticated before the block used to write after it: each op now reads the flag in the
    transaction that writes. Revisions are compared by seq, the order the one writer committed them in.
    """
    url = unlimited_server.url
    db_path = unlimited_server.data / "commonplace.db"
    spammer = http_sign_up(url, "spammer")
    moderator = http_sign_up(url, "mod")
    conn = connect(db_path)
    set_role(conn, "mod", ROLE_MODERATOR)
    conn.close()
    stop = threading.Event()
    first_batch = threading.Event()
    refusals: list[str] = []

    def keep_pushing(device: int) -> None:
        with httpx.Client(base_url=url, headers=bearer(spammer), timeout=60) as http:
            while not stop.is_set():
                ops = [new_op(title=f"Spam {device} {uuid.uuid4().hex}", base_rev=None, body="buy now")
                       for _ in range(100)]
                reply = http.post("/api/sync/push", json={"device_id": f"phone-{device}", "ops": ops})
                if reply.status_code == 401:
                    return  # the token ended with the block
                assert reply.status_code == 200, reply.text
                first_batch.set()
                refusals.extend(r["reason"] for r in reply.json()["results"] if r["status"] == "rejected")

    threads = [threading.Thread(target=keep_pushing, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    try:
        assert first_batch.wait(120), "no push was answered"
        blocked = httpx.post(url + "/users/spammer/block", data={"blocked": "1"}, headers=bearer(moderator),
                             follow_redirects=False, timeout=60)
        assert blocked.status_code == 303, blocked.text
        last_seq_at_block = revision_seq(db_path, "SELECT max(id) AS n FROM revisions")
    finally:
        stop.set()
        for thread in threads:
            thread.join(120)
    spammer_id = revision_seq(db_path, "SELECT id AS n FROM users WHERE username = 'spammer'")
    assert revision_seq(db_path, f"SELECT count(*) AS n FROM revisions WHERE user_id = {spammer_id}") >= 100
    late = revision_seq(db_path, f"SELECT count(*) AS n FROM revisions WHERE user_id = {spammer_id} "
                                 f"AND id > {last_seq_at_block}")
    assert late == 0, f"{late} revisions by the blocked account were written after the block answered"
    assert set(refusals) <= {"blocked"}


def http_sign_up(url: str, username: str) -> str:
    reply = httpx.post(url + "/api/users", json={"username": username, "password": "long enough"}, timeout=60)
    assert reply.status_code == 201, reply.text
    return reply.json()["token"]


def revision_seq(db_path: Path, sql: str) -> int:
    conn = connect(db_path, readonly=True)
    try:
        return next(iter(conn.execute(sql)))["n"]
    finally:
        conn.close()


@pytest.mark.parametrize("hours", ["²", "٣", "0", "721", "-1", "1.5", "24 hours", "9" * 50])
def test_a_rollback_period_that_is_not_plain_digits_in_range_is_a_plain_400(client: TestClient, hours: str) -> None:
    """`"²".isdigit()` is true and `int("²")` raised: a 500 (issue 11 item 6)."""
    vandal = sign_up(client, "vandal", "long enough")
    page = client.get("/api/pages/welcome").json()
    push(client, vandal, new_op(slug="welcome", base_rev=page["rev"], body="spam"))
    form_post(client, "/signup", "/signup", {"username": "mod", "password": "long enough"})
    client.app.state.db.write(set_role, "mod", ROLE_MODERATOR)
    reply = form_post(client, "/users/vandal", "/users/vandal/rollback", {"hours": hours})
    assert reply.status_code == 400, reply.text
    assert "Hours must be a whole number from 1 to 720" in reply.text and "Traceback" not in reply.text
    assert client.get("/api/pages/welcome").json()["body"] == "spam"
    assert "Restored 1 page" in form_post(client, "/users/vandal", "/users/vandal/rollback", {"hours": "720"}).text
