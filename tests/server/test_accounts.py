"""Accounts: sign-up, log-in, log-out, cookies, CSRF, bearer tokens, moderators."""

from __future__ import annotations

import re
import time
from dataclasses import replace

from conftest import bearer, new_op, push, sign_up
from litestar.testing import TestClient

from server.app import create_app
from server.settings import Settings
from server.users import ROLE_MODERATOR, set_role


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def form_post(client: TestClient, page: str, action: str, fields: dict[str, str]):
    token = csrf_from(client.get(page).text)
    return client.post(action, data={"csrf_token": token, **fields}, follow_redirects=False)


def test_signup_form_sets_a_safe_session_cookie(client: TestClient) -> None:
    reply = form_post(client, "/signup", "/signup", {"username": "ana", "password": "long enough"})
    assert reply.status_code == 303
    cookie = next(h for h in reply.headers.get_list("set-cookie") if h.startswith("cp_session="))
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert "ana" in client.get("/").text


def test_password_is_hashed_with_argon2id(client: TestClient) -> None:
    sign_up(client, "hashed", "s3cret-password")
    stored = client.app.state.db.read(
        lambda c: next(iter(c.execute("SELECT password_hash FROM users WHERE username = 'hashed'")))
    )["password_hash"]
    assert stored.startswith("$argon2id$") and "s3cret" not in stored


def test_forms_without_csrf_token_are_refused(client: TestClient) -> None:
    client.get("/signup")
    reply = client.post("/signup", data={"username": "mallory", "password": "long enough"})
    assert reply.status_code == 403 and "expired" in reply.text
    reply = client.post("/signup", data={"username": "mallory", "password": "long enough", "csrf_token": "forged"})
    assert reply.status_code == 403


def test_cookie_authenticated_api_calls_need_the_csrf_header(client: TestClient) -> None:
    form_post(client, "/signup", "/signup", {"username": "cookie", "password": "long enough"})
    op = {"ops": [new_op(title="Via cookie", base_rev=None, body="x")]}
    assert client.post("/api/sync/push", json=op).status_code == 403
    token = csrf_from(client.get("/wiki/welcome/edit").text)
    reply = client.post("/api/sync/push", json=op, headers={"X-CSRF-Token": token})
    assert reply.status_code == 200 and reply.json()["results"][0]["status"] == "applied"


def test_bearer_token_needs_no_csrf_and_stops_working_after_logout(client: TestClient) -> None:
    token = sign_up(client, "apiuser")
    [result] = push(client, token, new_op(title="By token", base_rev=None, body="x"))
    assert result["status"] == "applied"
    assert client.delete("/api/session", headers=bearer(token)).status_code == 204
    reply = client.post("/api/sync/push", json={"ops": [new_op(title="After", base_rev=None, body="x")]},
                        headers=bearer(token))
    assert reply.status_code == 401


def test_login_does_not_reveal_whether_an_account_exists(client: TestClient) -> None:
    sign_up(client, "known", "right password")
    wrong = client.post("/api/session", json={"username": "known", "password": "wrong password"})
    unknown = client.post("/api/session", json={"username": "nobody-here", "password": "wrong password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert client.post("/api/session", json={"username": "known", "password": "right password"}).status_code == 200


def test_login_takes_about_as_long_for_a_missing_account(settings: Settings) -> None:
    """A missing account is checked against a dummy argon2 hash, so timing does not tell it apart."""
    with TestClient(create_app(replace(settings, rate_login="off"))) as client:
        sign_up(client, "timed", "right password")
        times: dict[str, list[float]] = {"timed": [], "nobody-at-all": []}
        for _ in range(7):  # interleaved, so that load from other processes hits both alike
            for username, seconds in times.items():
                started = time.perf_counter()
                reply = client.post("/api/session", json={"username": username, "password": "wrong one"})
                seconds.append(time.perf_counter() - started)
                assert reply.status_code == 401
    known, missing = (sorted(seconds)[3] for seconds in times.values())
    assert 0.4 < missing / known < 2.5, (known, missing)


def test_login_form_and_logout(client: TestClient) -> None:
    sign_up(client, "formuser", "right password")
    bad = form_post(client, "/login", "/login", {"username": "formuser", "password": "nope nope"})
    assert bad.status_code == 401 and "do not match" in bad.text
    good = form_post(client, "/login?next=/changes", "/login",
                     {"username": "formuser", "password": "right password", "next": "/changes"})
    assert good.status_code == 303 and good.headers["location"] == "/changes"
    assert form_post(client, "/", "/logout", {}).status_code == 303
    assert "Log in" in client.get("/").text


def test_login_next_cannot_leave_the_site(client: TestClient) -> None:
    sign_up(client, "redirected", "right password")
    reply = form_post(client, "/login", "/login",
                      {"username": "redirected", "password": "right password", "next": "//evil.example/"})
    assert reply.headers["location"] == "/"


def test_signup_errors_are_plain_and_4xx(client: TestClient) -> None:
    sign_up(client, "taken", "long enough")
    for username, password, message in [("taken", "long enough", "taken"), ("a b", "long enough", "letters"),
                                        ("ok", "short", "8 characters")]:
        reply = client.post("/api/users", json={"username": username, "password": password})
        assert reply.status_code == 400 and message in reply.json()["detail"]


def test_moderator_protects_a_page_and_rolls_back_a_user(client: TestClient) -> None:
    db = client.app.state.db
    vandal = sign_up(client, "vandal")
    page = client.get("/api/pages/welcome").json()
    push(client, vandal, new_op(slug="welcome", base_rev=page["rev"], body="spam"))
    assert client.get("/api/pages/welcome").json()["body"] == "spam"
    form_post(client, "/signup", "/signup", {"username": "mod", "password": "long enough"})
    db.write(set_role, "mod", ROLE_MODERATOR)
    reply = form_post(client, "/users/vandal", "/users/vandal/rollback", {"hours": "24"})
    assert reply.status_code == 200 and "Restored 1 page" in reply.text
    restored = client.get("/api/pages/welcome").json()
    assert restored["body"] == page["body"]
    form_post(client, "/wiki/welcome", "/wiki/welcome/protect", {"protected": "1"})
    [refused] = push(client, vandal, new_op(slug="welcome", base_rev=restored["rev"], body="more spam"))
    assert refused["status"] == "rejected" and refused["reason"] == "protected"


def test_editors_cannot_use_moderator_actions(client: TestClient) -> None:
    form_post(client, "/signup", "/signup", {"username": "plain", "password": "long enough"})
    assert form_post(client, "/wiki/welcome", "/wiki/welcome/protect", {"protected": "1"}).status_code == 403
    assert form_post(client, "/users/plain", "/users/plain/rollback", {"hours": "1"}).status_code == 403


def test_log_in_and_sign_up_replace_the_csrf_token(client: TestClient) -> None:
    """Issue 11, item 13: the token from before log-in (a shared phone, a page left open) kept working."""
    sign_up(client, "rotor", "long enough")
    for action, fields in (("/signup", {"username": "rotor2", "password": "long enough"}),
                           ("/login", {"username": "rotor", "password": "long enough"})):
        client.cookies.clear()
        before = csrf_from(client.get(action).text)
        reply = form_post(client, action, action, fields)
        assert reply.status_code == 303, action
        after = client.cookies.get("cp_csrf")
        assert after and after != before, action
        page = client.get("/wiki/welcome/edit").text
        assert csrf_from(page) == after
        # The old token no longer passes; the new one does.
        stale = client.post("/wiki/welcome/protect", data={"csrf_token": before, "protected": "1"},
                            follow_redirects=False)
        assert stale.status_code == 403, action
        fresh = client.post("/logout", data={"csrf_token": after}, follow_redirects=False)
        assert fresh.status_code == 303, action
    for path, body in (("/api/users", {"username": "rotor3", "password": "long enough"}),
                       ("/api/session", {"username": "rotor", "password": "long enough"})):
        client.cookies.clear()
        before = csrf_from(client.get("/signup").text)
        reply = client.post(path, json=body)
        assert reply.status_code in (200, 201), reply.text
        assert reply.json()["csrf_token"] == client.cookies.get("cp_csrf") != before


def test_a_form_field_passes_even_when_the_header_is_stale(client: TestClient) -> None:
    """htmx sends the first page's <meta> token as a header; the form's own field is the current one."""
    form_post(client, "/signup", "/signup", {"username": "boosted", "password": "long enough"})
    token = csrf_from(client.get("/wiki/welcome").text)
    reply = client.post("/logout", data={"csrf_token": token}, headers={"X-CSRF-Token": "stale"},
                        follow_redirects=False)
    assert reply.status_code == 303
    forged = client.post("/logout", data={"csrf_token": "wrong"}, headers={"X-CSRF-Token": "stale"},
                         follow_redirects=False)
    assert forged.status_code == 403
