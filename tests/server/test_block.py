"""Moderators block an account: its sessions and tokens stop at once, from the user page or the CLI."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import bearer, new_op, push, sign_up
from litestar.testing import TestClient

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
    from server.db import connect

    conn = connect(data / "commonplace.db", readonly=True)
    assert next(iter(conn.execute("SELECT blocked FROM users WHERE username = 'troll'")))["blocked"] == 1
    conn.close()
    assert "no longer blocked" in run("user", "unblock", "troll").stdout
    missing = run("user", "block", "ghost")
    assert missing.returncode == 1 and "no account called ghost" in missing.stderr
