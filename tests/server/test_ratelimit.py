"""Rate limits: a sliding window per address and per account, clear 429s, and addresses forgotten in time."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from conftest import bearer, new_op, push, sign_up, start_server, stop_server
from litestar.exceptions import TooManyRequestsException
from litestar.testing import TestClient

from server.app import create_app
from server.ratelimit import EDIT, LOGIN, SEARCH, Rate, RateLimiter, SlidingWindow, limit_for
from server.settings import Settings
from server.users import ROLE_MODERATOR, set_role, username_key


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


def test_a_hit_can_cost_more_than_one_and_waits_until_enough_has_slid_out() -> None:
    clock = FakeClock()
    window = SlidingWindow(Rate(10, 60), clock)
    assert window.hit("a", 6) is None
    clock.now += 20
    assert window.hit("a", 3) is None
    assert window.hit("a", 2) == pytest.approx(40)  # the 6 leave at 60 s; nothing was counted
    assert window.hit("a", 1) is None
    clock.now += 40
    assert window.hit("a", 6) is None  # 3 + 1 left, 6 more fit
    assert window.hit("b", 500) is None  # more than the budget counts as the whole budget, so it can pass
    assert window.hit("b", 1) == pytest.approx(60)


def test_a_refused_request_counts_against_neither_the_address_nor_the_account() -> None:
    limiter = RateLimiter({EDIT: Rate(5, 60)}, FakeClock())
    limiter.check(EDIT, account="alice", cost=4)
    with pytest.raises(TooManyRequestsException) as caught:
        limiter.check(EDIT, address="10.0.0.1", account="alice", cost=2)
    assert "this account" in caught.value.detail
    limiter.check(EDIT, address="10.0.0.1", cost=5)  # the address spent nothing on the refused push


@pytest.fixture
def edit_budget(settings: Settings) -> TestClient:
    """Three edits a minute on a clock the test moves."""
    with TestClient(create_app(replace(settings, rate_edit="3/60"))) as client:
        client.clock = FakeClock()
        client.app.state.ratelimiter = RateLimiter({EDIT: Rate(3, 60), SEARCH: Rate(3, 60)}, client.clock)
        yield client


def revisions(client: TestClient) -> int:
    return client.get("/api/status").json()["revisions"]


def test_a_push_costs_one_edit_per_op(edit_budget: TestClient) -> None:
    token = sign_up(edit_budget)
    ops = [new_op(title=f"Page {n}", base_rev=None, body="x") for n in range(2)]
    assert edit_budget.post("/api/sync/push", json={"ops": ops}, headers=bearer(token)).status_code == 200
    two_more = [new_op(title=f"More {n}", base_rev=None, body="x") for n in range(2)]
    assert_429(edit_budget.post("/api/sync/push", json={"ops": two_more}, headers=bearer(token)), "edits")


def test_every_write_path_answers_429_once_the_edit_budget_is_spent(edit_budget: TestClient) -> None:
    """After a push met 429, 30 reverts all wrote (issue 11 item 4): every way of writing shares the budget."""
    token = sign_up(edit_budget)
    welcome = edit_budget.get("/api/pages/welcome").json()
    ops = [new_op(slug="welcome", base_rev=welcome["rev"], body=f"spam {n}") for n in range(3)]
    push(edit_budget, token, *ops)
    before = revisions(edit_budget)
    form = {"body": "more", "summary": "", "base_rev": welcome["rev"], "rev": welcome["rev"]}
    attempts = {
        "push": edit_budget.post("/api/sync/push", json={"ops": [new_op(slug="welcome", body="x")]},
                                 headers=bearer(token)),
        "edit form": edit_budget.post("/wiki/welcome/edit", data=form, headers=bearer(token)),
        "create form": edit_budget.post("/wiki/a-new-page/edit", data={"body": "new", "title": "A new page"},
                                        headers=bearer(token)),
        "revert": edit_budget.post("/wiki/welcome/revert", data=form, headers=bearer(token)),
        "resolve": edit_budget.post("/api/sync/conflicts/c1/resolve", json={"body": "x"}, headers=bearer(token)),
        "discard": edit_budget.post("/api/sync/conflicts/c1/discard", headers=bearer(token)),
        "resolve form": edit_budget.post("/conflicts/c1/resolve", data={"body": "x"}, headers=bearer(token)),
        "discard form": edit_budget.post("/conflicts/c1/discard", data={}, headers=bearer(token)),
    }
    for path, reply in attempts.items():
        assert reply.status_code == 429, (path, reply.status_code)
        assert_429(reply, "edits")
    assert revisions(edit_budget) == before


def test_a_moderator_can_still_protect_and_roll_back_when_the_address_budget_is_spent(
        edit_budget: TestClient) -> None:
    """A flood from a shared address (or the proxy everyone sits behind) must not lock out who stops it."""
    vandal = sign_up(edit_budget, "vandal")
    welcome = edit_budget.get("/api/pages/welcome").json()
    push(edit_budget, vandal, *[new_op(slug="welcome", base_rev=welcome["rev"], body=f"spam {n}") for n in range(3)])
    moderator = sign_up(edit_budget, "mod")
    edit_budget.app.state.db.write(set_role, "mod", ROLE_MODERATOR)
    assert edit_budget.post("/wiki/welcome/protect", data={"protected": "1"}, headers=bearer(moderator),
                            follow_redirects=False).status_code == 303
    rolled_back = edit_budget.post("/users/vandal/rollback", data={"hours": "1"}, headers=bearer(moderator))
    assert rolled_back.status_code == 200 and "Restored 1 page" in rolled_back.text


def test_a_refused_push_records_nothing_and_its_replay_applies(edit_budget: TestClient) -> None:
    """A 429 must never cost a queued edit: the phone keeps the ops and sends them again later."""
    token = sign_up(edit_budget)
    push(edit_budget, token, *[new_op(title=f"First {n}", base_rev=None, body="x") for n in range(3)])
    outbox = [new_op(title=f"Offline {n}", base_rev=None, body="written offline") for n in range(2)]
    refused = edit_budget.post("/api/sync/push", json={"ops": outbox}, headers=bearer(token))
    assert_429(refused, "edits")
    assert edit_budget.get("/api/pages/offline-0").status_code == 404
    edit_budget.clock.now += int(refused.headers["retry-after"])
    results = push(edit_budget, token, *outbox)
    assert [r["status"] for r in results] == ["applied", "applied"]  # not `duplicate`: nothing was kept


def test_every_search_path_answers_429_once_the_search_budget_is_spent(edit_budget: TestClient) -> None:
    """After /api/search met 429, bulk search and related pages still answered (issue 11 item 4)."""
    for _ in range(3):
        assert edit_budget.get("/api/search?q=tea").status_code == 200
    for path in ["/api/search?q=tea", "/search?q=tea", "/api/bulk?scope=search&q=tea", "/wiki/welcome/related"]:
        assert_429(edit_budget.get(path), "searches")
    # What searches nothing costs nothing: the empty search form, a bulk batch of all pages, a page.
    for path in ["/search", "/api/bulk?scope=all&limit=1", "/api/bulk?scope=search", "/wiki/welcome"]:
        assert edit_budget.get(path).status_code == 200, path


def test_a_phone_back_from_a_day_offline_sends_its_outbox_under_the_default_limit(client: TestClient) -> None:
    """The browser pushes 50 ops at a time; 120 edits a minute takes a 50-op outbox at once."""
    token = sign_up(client)
    outbox = [new_op(title=f"Offline {n}", base_rev=None, body="x") for n in range(150)]
    for start in (0, 50):
        assert client.post("/api/sync/push", json={"ops": outbox[start:start + 50]},
                           headers=bearer(token)).status_code == 200
    later = client.post("/api/sync/push", json={"ops": outbox[100:]}, headers=bearer(token))
    assert_429(later, "edits")


@pytest.mark.parametrize(("method", "path", "query", "limit"), [
    ("GET", "/api/search", b"q=tea", SEARCH), ("HEAD", "/api/search", b"q=tea", SEARCH),
    ("HEAD", "/wiki/tea/related", b"", SEARCH), ("GET", "/api/bulk", b"scope=search&q=tea&after=3", SEARCH),
    ("GET", "/api/bulk", b"scope=all&q=tea", None), ("GET", "/search", b"q=+", None),
    ("POST", "/wiki/tea/revert", b"", EDIT), ("POST", "/conflicts/c1/discard", b"", EDIT),
    ("POST", "/api/sync/push", b"", None),  # counted per op by its handler
    ("POST", "/wiki/tea/protect", b"", None), ("POST", "/users/x/rollback", b"", None),
])
def test_which_requests_count_against_which_limit(method: str, path: str, query: bytes, limit: str | None) -> None:
    assert limit_for(method, path, query) == limit
