"""The Big List of Naughty Strings as titles, bodies, usernames, search queries and slugs.

Each string must give either a correct round-trip or a clear refusal (a 4xx with a message, or an op
`rejected` with a reason and words for a person) — never a server error.
One app and one account serve the whole module, for speed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from conftest import SHARED_DATA, bearer, new_op, push, sign_up
from litestar.testing import TestClient

from server.app import create_app
from server.settings import Settings
from server.slugs import TitleError, clean_title
from sync.vocabulary import APPLIED, DUPLICATE, MERGED, REASONS, REJECTED

NAUGHTY_FILE = SHARED_DATA / "xss" / "naughty-strings.txt"


_TAG_LIKE = re.compile(r"<[A-Za-z!/?]")
_DOTS_ONLY = re.compile(r"\.+")
BATCH = 100


def load_strings() -> list[str]:
    # split("\n"), not splitlines(): several strings hold \u2028, \u2029, \x0b or \x1c, which splitlines() cuts.
    lines = NAUGHTY_FILE.read_text(encoding="utf-8").split("\n")
    return [line for line in lines if line and not line.startswith("#")]


STRINGS = load_strings() if NAUGHTY_FILE.exists() else []


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    # Rate limits off: the module signs up, logs in and searches hundreds of times from one address.
    settings = Settings(data=tmp_path_factory.mktemp("naughty") / "data", model="hashing", rate_login="off",
                        rate_signup="off", rate_edit="off", rate_search="off")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def token(app_client: TestClient) -> str:
    return sign_up(app_client, "naughty-tester")


def check_result(result: dict, what: str, failures: list[str]) -> bool:
    """True when applied (or, for a title whose page exists, added to it); a rejection must carry a known
    reason and a message."""
    if result.get("status") == APPLIED or (result.get("status") == MERGED and result.get("page_existed")):
        return True
    if result.get("status") != REJECTED:
        failures.append(f"{what}: status {result.get('status')!r} is neither applied nor rejected: {result}")
    elif result.get("reason") not in REASONS:
        failures.append(f"{what}: rejected without a known reason: {result}")
    elif not isinstance(result.get("message"), str) or len(result["message"].strip()) < 10:
        failures.append(f"{what}: rejected without a message for a person: {result}")
    return False


def push_all(client: TestClient, token: str, ops: list[dict]) -> list[dict]:
    results: list[dict] = []
    for start in range(0, len(ops), BATCH):
        results += push(client, token, *ops[start : start + BATCH])
    assert len(results) == len(ops)
    return results


def report(failures: list[str]) -> str:
    return f"{len(failures)} problems; first 20:\n" + "\n".join(failures[:20])


def test_the_list_is_complete() -> None:
    assert len(STRINGS) == 488


def test_naughty_titles(app_client: TestClient, token: str) -> None:
    ops = [new_op(title=s, body=f"Page number {n}.", base_rev=None) for n, s in enumerate(STRINGS)]
    results = push_all(app_client, token, ops)
    failures: list[str] = []
    applied = 0
    for n, (s, result) in enumerate(zip(STRINGS, results, strict=True)):
        what = f"title #{n} {s[:60]!r}"
        if result.get("op_id") != ops[n]["op_id"]:
            failures.append(f"{what}: result for another op: {result}")
        if not check_result(result, what, failures):
            try:
                clean_title(s)
            except TitleError:
                if result.get("reason") != "bad_title":
                    failures.append(f"{what}: unusable title rejected as {result.get('reason')!r}")
            else:
                failures.append(f"{what}: usable title rejected: {result}")
            continue
        applied += 1
        slug = result["slug"]
        if result.get("page_existed"):
            continue  # its slug was taken by an earlier title: added to that page, which keeps its title
        if result["title"] != clean_title(s):
            failures.append(f"{what}: stored title {result['title']!r} is not the cleaned title")
        page = app_client.get("/api/pages/" + quote(slug, safe=""))
        if page.status_code != 200:
            failures.append(f"{what}: GET /api/pages/{slug!r} -> {page.status_code}")
            continue
        if page.json()["title"] != result["title"] or page.json()["slug"] != slug:
            failures.append(f"{what}: API shows {page.json()['title']!r} at {page.json()['slug']!r}")
        for suffix in ("", "/history", "/edit"):
            view = app_client.get("/wiki/" + quote(slug, safe="") + suffix)
            if view.status_code != 200:
                failures.append(f"{what}: GET /wiki/{slug}{suffix} -> {view.status_code}")
            elif _TAG_LIKE.search(s) and s in view.text:
                failures.append(f"{what}: title appears unescaped on /wiki/{slug}{suffix}")
    assert applied > len(STRINGS) // 2, f"only {applied} titles applied"
    for url in ("/changes", "/wiki"):
        assert app_client.get(url).status_code == 200
    assert not failures, report(failures)


def test_naughty_bodies_round_trip_exactly(app_client: TestClient, token: str) -> None:
    ops = [new_op(title=f"Naughty body {n}", body=s, base_rev=None) for n, s in enumerate(STRINGS)]
    results = push_all(app_client, token, ops)
    failures: list[str] = []
    for n, (s, result) in enumerate(zip(STRINGS, results, strict=True)):
        what = f"body #{n} {s[:60]!r}"
        if not check_result(result, what, failures):
            failures.append(f"{what}: a small body was refused: {result}")
            continue
        slug = quote(result["slug"], safe="")
        page = app_client.get(f"/api/pages/{slug}")
        if page.status_code != 200:
            failures.append(f"{what}: GET /api/pages -> {page.status_code}")
            continue
        stored = page.json()
        if stored["body"] != s:
            failures.append(f"{what}: body came back as {stored['body'][:60]!r}")
        if not isinstance(stored["html"], str):
            failures.append(f"{what}: no html")
        for suffix in ("", "/history", "/edit", "/diff"):
            view = app_client.get(f"/wiki/{slug}{suffix}")
            if view.status_code != 200:
                failures.append(f"{what}: GET /wiki/{slug}{suffix} -> {view.status_code}")
            elif _TAG_LIKE.search(s) and s in view.text:
                failures.append(f"{what}: body appears unescaped on /wiki/{slug}{suffix}")
        history = app_client.get(f"/api/pages/{slug}/history")
        if history.status_code != 200 or len(history.json()["revisions"]) != 1:
            failures.append(f"{what}: history -> {history.status_code}")
    assert not failures, report(failures)


def test_naughty_bodies_as_edits(app_client: TestClient, token: str) -> None:
    """The edit path (base_rev = head) stores each body exactly, one revision after another."""
    (created,) = push(app_client, token, new_op(title="Naughty edits", body="start", base_rev=None))
    assert created["status"] == APPLIED
    slug, rev = created["slug"], created["rev"]
    failures: list[str] = []
    previous = "start"
    for n, s in enumerate(STRINGS):
        (result,) = push(app_client, token, new_op(slug=slug, base_rev=rev, body=s))
        what = f"edit #{n} {s[:60]!r}"
        if not check_result(result, what, failures):
            failures.append(f"{what}: refused: {result}")
            continue
        if s == previous and not result.get("unchanged"):
            failures.append(f"{what}: identical body was not reported unchanged")
        rev, previous = result["rev"], s
        stored = app_client.get(f"/api/pages/{slug}").json()
        if stored["body"] != s or stored["rev"] != rev:
            failures.append(f"{what}: head is {stored['body'][:60]!r} at {stored['rev']}")
    assert not failures, report(failures)


def test_naughty_usernames(app_client: TestClient) -> None:
    failures: list[str] = []
    created: list[str] = []
    for n, s in enumerate(STRINGS):
        what = f"username #{n} {s[:60]!r}"
        reply = app_client.post("/api/users", json={"username": s, "password": "correct horse battery"})
        app_client.cookies.clear()  # a session cookie would make the next JSON POST need a CSRF token
        if reply.status_code >= 500:
            failures.append(f"{what}: {reply.status_code} {reply.text[:200]}")
        elif reply.status_code == 201:
            created.append(s)
            body = reply.json()
            if not body.get("token"):
                failures.append(f"{what}: 201 without a token")
            session = app_client.post("/api/session", json={"username": s, "password": "correct horse battery"})
            app_client.cookies.clear()
            if session.status_code != 200:
                failures.append(f"{what}: signed up but cannot log in: {session.status_code}")
            me = app_client.get("/users/" + quote(s.strip(), safe=""))
            if me.status_code != 200 and not _DOTS_ONLY.fullmatch(s.strip()):  # see test_dot_only_usernames
                failures.append(f"{what}: GET /users/<name> -> {me.status_code}")
        elif 400 <= reply.status_code < 500:
            detail = reply.json().get("detail") if reply.headers.get("content-type", "").startswith(
                "application/json") else None
            if not isinstance(detail, str) or len(detail.strip()) < 10:
                failures.append(f"{what}: {reply.status_code} without a detail message: {reply.text[:200]}")
        else:
            failures.append(f"{what}: unexpected {reply.status_code}")
    assert created, "no naughty username was accepted at all"
    assert len(created) < len(STRINGS) // 2, f"{len(created)} usernames accepted; the name rule looks too loose"
    assert not failures, report(failures)


def test_naughty_usernames_in_html_signup(app_client: TestClient) -> None:
    """The sign-up form answers 303 or 400 with the error shown; the typed name is escaped when echoed."""
    failures: list[str] = []
    app_client.get("/signup")
    csrf = app_client.cookies.get("cp_csrf")
    assert csrf
    for n, s in enumerate(STRINGS[::4]):
        reply = app_client.post(
            "/signup", data={"username": s, "password": "x", "csrf_token": csrf}, follow_redirects=False
        )
        if reply.status_code >= 500:
            failures.append(f"#{n} {s[:60]!r}: {reply.status_code}")
        elif reply.status_code != 400:
            failures.append(f"#{n} {s[:60]!r}: a too-short password was not refused ({reply.status_code})")
        elif _TAG_LIKE.search(s) and s in reply.text:
            failures.append(f"#{n} {s[:60]!r}: username echoed unescaped")
    assert not failures, report(failures)


def test_naughty_search_queries(app_client: TestClient, token: str) -> None:
    push(app_client, token, new_op(title="Search target", body="\n".join(STRINGS[:50]), base_rev=None))
    failures: list[str] = []
    for n, s in enumerate(STRINGS):
        reply = app_client.get("/search?q=" + quote(s, safe=""))
        what = f"query #{n} {s[:60]!r}"
        if reply.status_code >= 500:
            failures.append(f"{what}: {reply.status_code}")
        elif reply.status_code not in (200, 400):
            failures.append(f"{what}: unexpected {reply.status_code}")
        elif _TAG_LIKE.search(s) and s in reply.text:
            failures.append(f"{what}: query echoed unescaped")
        params = app_client.get("/search", params={"q": s})
        if params.status_code >= 500:
            failures.append(f"{what} (form-encoded): {params.status_code}")
    assert not failures, report(failures)


def test_naughty_slugs_in_urls(app_client: TestClient) -> None:
    failures: list[str] = []
    for n, s in enumerate(STRINGS):
        quoted = quote(s, safe="")
        what = f"slug #{n} {s[:60]!r}"
        for url in (f"/wiki/{quoted}", f"/wiki/{quoted}/history", f"/wiki/{quoted}/edit",
                    f"/api/pages/{quoted}", f"/new?title={quoted}"):
            reply = app_client.get(url, follow_redirects=False)
            if reply.status_code >= 500:
                failures.append(f"{what}: GET {url[:80]} -> {reply.status_code}")
            elif reply.headers.get("content-type", "").startswith("text/html"):
                if _TAG_LIKE.search(s) and s in reply.text:
                    failures.append(f"{what}: GET {url[:80]} echoes the slug unescaped")
            elif reply.status_code >= 400 and url.startswith("/api/"):
                if not reply.json().get("detail"):
                    failures.append(f"{what}: GET {url[:80]} -> {reply.status_code} without detail")
    assert not failures, report(failures)


def _numeric_base_rev_bug(s: str) -> bool:
    """server/pages.py get_revision: str.isdigit() is true for '⁰⁴⁵' (int() fails) and for 20+ digit numbers
    (SQLite integers overflow); either turns the whole push into a 500. See test_numeric_revision_ids."""
    if not s.isdigit():
        return False
    try:
        return int(s) >= 2**63
    except ValueError:
        return True


def test_pushing_naughty_op_fields_never_fails_the_request(app_client: TestClient, token: str) -> None:
    """Naughty op ids, slugs, base revisions, summaries and device ids: rejected or applied, never a 5xx."""
    (page,) = push(app_client, token, new_op(title="Odd op fields", body="start", base_rev=None))
    assert page["status"] == APPLIED
    failures: list[str] = []
    known: list[str] = []
    for n, s in enumerate(STRINGS):
        ops = [
            new_op(op_id=s, title=f"Odd op id {n}", body="x", base_rev=None),
            new_op(slug=s, base_rev="01HZZZZZZZZZZZZZZZZZZZZZZZ", body="x"),
            new_op(title=f"Odd summary {n}", summary=s, body="x", base_rev=None),
            new_op(title=f"Odd title {n}", body="x", base_rev=None, slug=s),
        ]
        if not _numeric_base_rev_bug(s):
            ops.append(new_op(slug=page["slug"], base_rev=s, body="x"))
        else:
            known.append(s)
        what = f"#{n} {s[:60]!r}"
        reply = app_client.post("/api/sync/push", json={"device_id": s, "ops": ops}, headers=bearer(token))
        if 400 <= reply.status_code < 500 and len(s) > 100:
            # A device id over 100 characters is refused as a whole, with words; send the ops without it.
            if not reply.json().get("detail"):
                failures.append(f"{what}: device id refused without a detail: {reply.text[:120]}")
            reply = app_client.post("/api/sync/push", json={"device_id": "d", "ops": ops}, headers=bearer(token))
        if reply.status_code != 200:
            failures.append(f"{what}: {reply.status_code} {reply.text[:120]}")
        else:
            for op, result in zip(ops, reply.json()["results"], strict=True):
                if result.get("status") != DUPLICATE:  # an op id may repeat a string seen before
                    check_result(result, f"{what} op {op}", failures)
    assert len(known) == 5
    assert not failures, report(failures)


@pytest.mark.parametrize(
    "url",
    [
        "/wiki/welcome/revision/%E2%81%B0%E2%81%B4%E2%81%B5",
        "/wiki/welcome/revision/99999999999999999999",
        "/wiki/welcome/diff?from=99999999999999999999",
        "/wiki/welcome/diff?to=%C2%B2",
        "/wiki/welcome/history?before=99999999999999999999",
        "/api/pages/welcome/history?before=99999999999999999999",
        "/changes?before=99999999999999999999",
        "/api/sync/changes?since=99999999999999999999",
        "/wiki/welcome/revision/9223372036854775807",
        "/wiki/welcome/history?before=-1",
        "/api/pages/welcome/history?limit=99999999999999999999",
    ],
)
def test_numeric_revision_ids_and_cursors(app_client: TestClient, url: str) -> None:
    reply = app_client.get(url)
    assert reply.status_code < 500, reply.text[:200]


@pytest.mark.parametrize("base_rev", ["⁰⁴⁵", "99999999999999999999"])
def test_numeric_base_rev_is_rejected_not_a_server_error(app_client: TestClient, token: str, base_rev: str) -> None:
    reply = app_client.post("/api/sync/push", headers=bearer(token),
                            json={"device_id": "d", "ops": [new_op(slug="welcome", base_rev=base_rev, body="x")]})
    assert reply.status_code == 200, reply.text[:200]
    assert reply.json()["results"][0]["reason"] == "unknown_base"


@pytest.mark.parametrize("name", [".", ".."])
def test_dot_only_usernames_are_refused(client: TestClient, name: str) -> None:
    reply = client.post("/api/users", json={"username": name, "password": "correct horse battery"})
    assert 400 <= reply.status_code < 500, "accepted a username whose profile URL cannot be reached"
