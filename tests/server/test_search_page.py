"""The search page as the reader sees it: no good match, a corrected query, notices, and index coverage."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import server_with_meaning_on_one_page_in_four, wait_for_index
from litestar.testing import TestClient

from server.app import create_app
from server.settings import Settings

RESULTS = [{"slug": "history", "title": "history", "snippet": "Show the command line history.", "score": 0.2},
           {"slug": "fc", "title": "fc", "snippet": "Open the most recent command and edit it.", "score": 0.1}]


@pytest.fixture
def reply_client(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A real app whose SearchService answers with the reply the test sets (the fields the lead's search
    fills in: no_good_match, corrected_query, notice)."""
    with TestClient(create_app(settings)) as client:
        wait_for_index(lambda: client.get("/api/status").json())
        client.reply = {}
        monkeypatch.setattr(client.app.state.search, "search",
                            lambda query, limit, mode: {"results": RESULTS, "took_ms": 3.2, "mode": mode,
                                                        "no_good_match": False, **client.reply})
        yield client


def main_html(client: TestClient, query: str) -> str:
    reply = client.get("/search", params={"q": query})
    assert reply.status_code == 200
    return reply.text.split('id="main"', 1)[1]


def test_a_good_match_is_a_plain_list_of_results(reply_client: Any) -> None:
    page = main_html(reply_client, "shell history")
    assert "2 results for “shell history” (3 ms)." in page
    assert '<ol class="results">' in page
    assert "no-good-match" not in page and "Nothing matched well" not in page
    assert "coverage" not in page, "a complete index needs no word about coverage"


def test_no_good_match_says_so_before_the_closest_pages_and_claims_no_results(reply_client: Any) -> None:
    reply_client.reply = {"no_good_match": True}
    page = main_html(reply_client, "how do I bake bread")
    notice = '<p class="notice no-good-match" role="status">Nothing matched well. The closest pages:</p>'
    assert notice in page
    assert page.index(notice) < page.index('<ol class="results closest">')
    assert not re.search(r"\d+ results?\b", page), "the count line must not sound like a confident answer"
    assert "Searched for “how do I bake bread” (3 ms)." in page
    assert 'None of these? <a href="/new?title=how%20do%20I%20bake%20bread">' in page


def test_no_good_match_lists_only_the_closest_few(reply_client: Any) -> None:
    many = [{"slug": f"p{i}", "title": f"Page {i}", "snippet": "", "score": 0.1} for i in range(12)]
    reply_client.reply = {"no_good_match": True, "results": many}
    assert main_html(reply_client, "boil an egg").count('<a href="/wiki/p') == 5
    reply_client.reply = {"results": many}
    assert main_html(reply_client, "boil an egg").count('<a href="/wiki/p') == 12


def test_stopwords_are_not_marked_in_snippets(reply_client: Any) -> None:
    reply_client.reply = {"results": [{"slug": "a", "title": "A", "snippet": "Any and all history", "score": 1}]}
    page = main_html(reply_client, "an history")
    assert "<mark>history</mark>" in page and "<mark>an</mark>" not in page and "<mark>An</mark>" not in page


def test_no_good_match_without_results_is_just_nothing_matched(reply_client: Any) -> None:
    reply_client.reply = {"no_good_match": True, "results": []}
    page = main_html(reply_client, "zzqx")
    assert "Nothing matched well" not in page and "closest" not in page
    assert "0 results for “zzqx”" in page and "Nothing matched." in page


def test_a_corrected_query_names_the_unknown_word_and_the_query_searched(reply_client: Any) -> None:
    reply_client.reply = {"corrected_query": "docker compose",
                          "results": [{"slug": "docker-compose", "title": "docker compose",
                                       "snippet": "Run docker containers together.", "score": 1.0}]}
    page = main_html(reply_client, "dokcer compose")
    assert "No page has the word “dokcer”; showing results for <strong>“docker compose”</strong>." in page
    assert "1 result (3 ms)." in page, "the corrected query is named once, in the line above"
    assert "<mark>docker</mark>" in page, "the snippet marks the corrected words"


def test_two_unknown_words_are_both_named(reply_client: Any) -> None:
    reply_client.reply = {"corrected_query": "docker compose"}
    page = main_html(reply_client, "dokcer compse")
    assert "No page has the words “dokcer” or “compse”; showing results for <strong>“docker compose”</strong>." in page


def test_a_corrected_query_with_no_good_match_names_the_query_once(reply_client: Any) -> None:
    reply_client.reply = {"corrected_query": "docker compose", "no_good_match": True}
    page = main_html(reply_client, "dokcer compse")
    assert page.count("“docker compose”") == 1 and "Searched for" not in page
    assert not re.search(r"\d+ results?\b", page), "no count that reads like an answer"
    assert '<ol class="results closest">' in page


def test_the_notice_is_shown_as_before(reply_client: Any) -> None:
    reply_client.reply = {"notice": "This query is not in English: showing word matches only.", "mode": "lexical"}
    page = main_html(reply_client, "数据库")
    assert '<p class="notice" role="status">This query is not in English: showing word matches only.</p>' in page


def test_a_typo_is_corrected_on_the_page_by_the_real_search(client: TestClient) -> None:
    wait_for_index(lambda: client.get("/api/status").json())
    page = main_html(client, "conflcit")
    assert "No page has the word “conflcit”; showing results for <strong>“conflict”</strong>." in page
    assert "<mark>conflict</mark>" in page


def coverage_line(server_url: str) -> str | None:
    found = re.search(r'<span class="coverage">([^<]*)</span>', httpx.get(server_url + "/search?q=words").text)
    return found.group(1) if found else None


def test_a_real_server_says_how_much_of_the_wiki_search_by_meaning_covers(tmp_path: Path) -> None:
    with server_with_meaning_on_one_page_in_four(tmp_path / "data") as (server, holder):
        assert coverage_line(server.url) == "Search by meaning covers 25% of pages; word search covers all."
        status = httpx.get(server.url + "/api/status").json()
        assert status["index"]["coverage"] == {"pages": 4, "word_pages": 4, "meaning_pages": 1,
                                               "meaning_share": 0.25}
        holder.execute("ROLLBACK")
        status = wait_for_index(lambda: httpx.get(server.url + "/api/status").json())
        assert status["index"]["coverage"] == {"pages": 4, "word_pages": 4, "meaning_pages": 4, "meaning_share": 1.0}
        assert coverage_line(server.url) is None, "once complete, the page says nothing about coverage"


def test_the_corrected_query_and_unknown_words_are_escaped(reply_client: Any) -> None:
    reply_client.reply = {"corrected_query": "<b>docker</b>"}
    page = main_html(reply_client, "<i>dokcer</i>")
    assert "<b>" not in page and "<i>" not in page
    assert "“&lt;i&gt;dokcer&lt;/i&gt;”" in page and "“&lt;b&gt;docker&lt;/b&gt;”" in page
