"""Slugs of long titles (issue 11 item 12): titles that share their first 80 slug characters stay apart."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from conftest import new_op, push, sign_up
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from server import pages
from server.db import Database
from server.slugs import (
    MAX_SLUG_CHARS,
    SLUG_HASH_CHARS,
    TitleError,
    legacy_slug,
    slug_text,
    slugify,
    slugify_many,
)

PREFIX = "Minutes of the water committee meeting held at the old school hall in the village of "  # 85 chars
KISUMU, NAKURU = PREFIX + "Kisumu", PREFIX + "Nakuru"


def test_long_titles_that_begin_alike_get_different_slugs() -> None:
    kisumu, nakuru = slugify(KISUMU), slugify(NAKURU)
    assert kisumu != nakuru and kisumu[:MAX_SLUG_CHARS] == nakuru[:MAX_SLUG_CHARS]
    assert kisumu == slugify(KISUMU.upper() + "!")  # still a function of the title's words alone
    assert kisumu.startswith(legacy_slug(KISUMU) + "-")


def test_a_cut_slug_never_equals_a_short_title_slug() -> None:
    short = slug_text(KISUMU)[:MAX_SLUG_CHARS]  # a title that is exactly the first 80 characters
    assert slugify(short) == short and len(slugify(KISUMU)) > MAX_SLUG_CHARS >= len(short)
    assert slugify("Well maintenance") == "well-maintenance" and legacy_slug("Well maintenance") is None


def test_symbol_titles_keep_their_hashed_slug() -> None:
    assert slugify("🙂🙂").startswith("page-") and slugify("🙂🙂") != slugify("🙃🙃")


def test_a_long_title_finds_the_page_an_older_server_gave_a_cut_slug(tmp_path: Path) -> None:
    db = Database(tmp_path / "c.db")
    try:
        def old_server_create(conn) -> None:
            page = pages.create_page(conn, legacy_slug(KISUMU), KISUMU, "2026-01-01T00:00:00Z")
            pages.add_revision(conn, page_id=page["page_id"], parent_id=None, user_id=None, author="old",
                               title=KISUMU, body="Old minutes.", summary="", op_id=None, now="2026-01-01")

        db.write(old_server_create)
        assert db.read(pages.slug_for_title, KISUMU) == legacy_slug(KISUMU)
        assert db.read(pages.slug_for_title, NAKURU) == slugify(NAKURU)  # begins alike, another page
    finally:
        db.close()


def test_new_page_form_with_a_long_title_opens_its_own_page(client: TestClient) -> None:
    token = sign_up(client, "writer")
    [first] = push(client, token, new_op(title=KISUMU, base_rev=None, body="Kisumu minutes."))
    same = client.get("/new", params={"title": KISUMU}, follow_redirects=False)
    assert same.status_code == 200 and "already exists" in same.text
    other = client.get("/new", params={"title": NAKURU}, follow_redirects=False)
    assert other.status_code == 303 and other.headers["location"].startswith(f"/wiki/{slugify(NAKURU)}/edit?")


def _slugify_without_fast_path(title: str) -> str:
    """slugify as it was before its fast path for plain ASCII titles (issue 11 item 1)."""
    text = slug_text(title)
    if not text:
        return "page-" + hashlib.sha256(title.encode("utf-8", "surrogatepass")).hexdigest()[:SLUG_HASH_CHARS]
    if len(text) <= MAX_SLUG_CHARS:
        return text
    return text[:MAX_SLUG_CHARS].rstrip("-") + "-" + hashlib.sha256(text.encode()).hexdigest()[:SLUG_HASH_CHARS]


def _slug_or_none(title: str) -> str | None:
    try:
        return _slugify_without_fast_path(title)
    except TitleError:
        return None


# Titles near the fast path's edges: plain ASCII or not, empty, all separators, 80 characters or more.
_TITLES = st.one_of(
    st.text(alphabet="aZ09 _-", max_size=90),
    st.text(alphabet="aZ09 _-.\t\né\u00a0\x00", max_size=90),
    st.text(max_size=30),
)


@settings(max_examples=500, deadline=None)
@given(_TITLES)
def test_the_fast_path_gives_the_same_slug(title: str) -> None:
    want = _slug_or_none(title)
    if want is None:
        with pytest.raises(TitleError):
            slugify(title)
    else:
        assert slugify(title) == want


@settings(max_examples=300, deadline=None)
@given(st.lists(_TITLES, max_size=12))
def test_slugify_many_is_slugify_of_each_title(titles: list[str]) -> None:
    assert slugify_many(titles) == [_slug_or_none(title) for title in titles]


def test_slugify_many_with_all_plain_titles() -> None:
    titles = [f"Pump {n}" for n in range(100)] + ["a" * 80, "-x_y-", "A  b"]
    assert slugify_many(titles) == [_slug_or_none(title) for title in titles]


def test_slugify_many_answers_when_only_the_last_title_is_not_plain() -> None:
    # The first pattern for "all titles plain" could split a run of letters many ways, and backtracked through
    # every way of every title when one near the end did not fit: a page of 30 such links never rendered.
    titles = ["a" * 40] * 30 + ["Café"]
    assert slugify_many(titles) == ["a" * 40] * 30 + ["café"]
