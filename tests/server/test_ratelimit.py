"""Rate limits: a sliding window per address and per account, clear 429s, and addresses forgotten in time."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from conftest import bearer, new_op, sign_up, start_server, stop_server
from litestar.exceptions import TooManyRequestsException
from litestar.testing import TestClient

from server.app import create_app
from server.ratelimit import LOGIN, Rate, RateLimiter, SlidingWindow
from server.settings import Settings
from server.users import username_key


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_window_allows_the_count_then_names_the_wait() -> None:
    clock = FakeClock()
    window = SlidingWindow(Rate(3, 60), clock)
    assert [window.hit("a") for _ in range(3)] == [None, None, None]
    clock.now += 20
    assert window.hit("a") == pytest.approx(40)
    assert window.hit("b") is None  # another key has its own count
    clock.now += 40
    assert window.hit("a") is None  # the first hits slid out of the window


def test_addresses_are_forgotten_once_their_window_has_passed() -> None:
    clock = FakeClock()
    limiter = RateLimiter({LOGIN: Rate(5, 60)}, clock)
    for i in range(50):
        limiter.check(LOGIN, address=f"10.0.0.{i}", account=f"user{i}")
    assert limiter.remembered() == 100
    clock.now += 59
    assert limiter.remembered() == 100
    clock.now += 1.5
    assert limiter.remembered() == 0
    assert limiter.windows[LOGIN]._hits == {}


def test_an_account_is_limited_across_addresses() -> None:
    limiter = RateLimiter({LOGIN: Rate(2, 60)}, FakeClock())
    limiter.check(LOGIN, address="10.0.0.1", account="alice")
    limiter.check(LOGIN, address="10.0.0.2", account="alice")
    with pytest.raises(TooManyRequestsException) as caught:
        limiter.check(LOGIN, address="10.0.0.3", account="alice")
    assert caught.value.headers["Retry-After"] == "60" and "this account" in caught.value.detail


@pytest.mark.parametrize("text", ["ten", "10", "10/0", "-1/60"])
def test_bad_rate_settings_are_refused_in_plain_words(text: str) -> None:
    with pytest.raises(ValueError, match="COUNT/SECONDS"):
        Rate.parse(text)


def test_off_means_no_limit() -> None:
    window = SlidingWindow(Rate.parse("off"))
    assert all(window.hit("a") is None for _ in range(1000))


@pytest.fixture
def strict_client(settings: Settings) -> TestClient:
    strict = replace(settings, rate_login="3/60", rate_signup="2/60", rate_edit="3/60", rate_search="3/60")
    with TestClient(create_app(strict)) as client:
        yield client


def assert_429(reply, action: str) -> None:
    assert reply.status_code == 429, reply.text
    assert 1 <= int(reply.headers["retry-after"]) <= 60
    text = reply.json()["detail"] if reply.headers["content-type"].startswith("application/json") else reply.text
    assert re.search(rf"Too many {action} from this (address|account)\. Wait \d+ seconds? and try again\.", text)


def test_login_is_limited_with_a_clear_429(strict_client: TestClient) -> None:
    for _ in range(3):
        assert strict_client.post("/api/session", json={"username": "x", "password": "wrong one"}).status_code == 401
    assert_429(strict_client.post("/api/session", json={"username": "x", "password": "wrong one"}), "log-in attempts")
    html = strict_client.post("/login", data={"username": "x", "password": "y"})
    assert_429(html, "log-in attempts")
    assert html.headers["content-type"].startswith("text/html") and "Too many requests" in html.text
    assert "content-security-policy" in html.headers


def test_signup_push_and_search_are_limited(strict_client: TestClient) -> None:
    token = sign_up(strict_client)
    sign_up(strict_client)
    assert_429(strict_client.post("/api/users", json={"username": "third", "password": "long enough"}), "sign-ups")
    for _ in range(3):
        reply = strict_client.post("/api/sync/push", json={"ops": [new_op(title="T", base_rev=None, body="x")]},
                                   headers=bearer(token))
        assert reply.status_code == 200
    assert_429(strict_client.post("/api/sync/push", json={"ops": []}, headers=bearer(token)), "edits")
    for _ in range(3):
        assert strict_client.get("/api/search?q=tea").status_code == 200
    assert_429(strict_client.get("/api/search?q=tea"), "searches")
    assert_429(strict_client.get("/search?q=tea"), "searches")
    assert strict_client.get("/wiki/welcome").status_code == 200  # reading is never limited


def test_the_default_limits_leave_normal_use_alone(client: TestClient) -> None:
    token = sign_up(client)
    for _ in range(50):
        assert client.get("/api/search?q=tea").status_code == 200
    for _ in range(50):
        assert client.post("/api/sync/push", json={"ops": []}, headers=bearer(token)).status_code == 200


def test_every_spelling_of_a_name_shares_one_log_in_budget(tmp_path: Path) -> None:
    """`name.lower()` gave `josé` composed and decomposed a budget each (issue 11 item 7).

    A real server, and each attempt from its own loopback address, so only the per-account limit can refuse.
    """
    server = start_server(tmp_path / "data", env={"COMMONPLACE_RATE_LOGIN": "4/60"})
    spellings = ["jos\u00e9", "jose\u0301", "JOS\u00c9", "JOSE\u0301", " Jos\u00e9 "]
    try:
        replies = []
        for n, name in enumerate(spellings, start=2):
            transport = httpx.HTTPTransport(local_address=f"127.0.0.{n}")
            with httpx.Client(transport=transport, timeout=60) as http:
                replies.append(http.post(server.url + "/api/session", json={"username": name, "password": "x" * 8}))
    finally:
        stop_server(server)
    assert [r.status_code for r in replies] == [401, 401, 401, 401, 429]
    assert "from this account" in replies[-1].json()["detail"]


def test_the_log_in_key_folds_case_beyond_ascii_and_normalises() -> None:
    assert len({username_key(name) for name in ["STRASSE", "straße", "Strasse "]}) == 1
    assert username_key("jose\u0301") == username_key("JOS\u00c9") == "jos\u00e9"
    assert username_key("josé") != username_key("jose")
