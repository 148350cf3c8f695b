"""Search over HTTP: API, HTML page with highlighted snippets, related pages, status, fallback."""

from __future__ import annotations

from conftest import new_op, push, sign_up, wait_for_index
from litestar.testing import TestClient


def indexed(client: TestClient) -> dict:
    return wait_for_index(lambda: client.get("/api/status").json())


def test_api_search_finds_seed_pages_in_every_mode(client: TestClient) -> None:
    status = indexed(client)
    assert status["index"]["chunks"] > 11 and status["index"]["model"] == "hashing"
    for mode in ("hybrid", "lexical", "semantic"):
        reply = client.get("/api/search", params={"q": "conflict resolve merge", "mode": mode}).json()
        assert reply["mode"] == mode and reply["results"], mode
        if mode != "semantic":  # the hashing stand-in has no sense of meaning; tests/search/test_real_model.py does
            assert "offline-use-and-sync" in [r["slug"] for r in reply["results"][:3]], mode
        assert {"slug", "title", "snippet", "score"} <= set(reply["results"][0]) and reply["took_ms"] >= 0


def test_an_edit_becomes_searchable_and_its_old_text_does_not(client: TestClient) -> None:
    token = sign_up(client)
    [made] = push(client, token, new_op(title="Quokka facts", base_rev=None, body="The quokka lives on Rottnest."))
    indexed(client)
    assert client.get("/api/search?q=quokka").json()["results"][0]["slug"] == "quokka-facts"
    push(client, token, new_op(slug="quokka-facts", base_rev=made["rev"], body="Now about wombats only."))
    indexed(client)
    assert client.get("/api/search?q=rottnest&mode=lexical").json()["results"] == []
    assert client.get("/api/search?q=wombats").json()["results"][0]["slug"] == "quokka-facts"


def test_bad_search_parameters_are_4xx(client: TestClient) -> None:
    assert client.get("/api/search", params={"q": "x", "mode": "psychic"}).status_code == 400
    assert client.get("/api/search", params={"q": "x", "limit": 0}).status_code == 400
    assert client.get("/api/search", params={"q": "x" * 501}).status_code == 400
    assert client.get("/api/search", params={"q": ""}).json()["results"] == []


def test_html_results_highlight_words_and_escape_everything(client: TestClient) -> None:
    indexed(client)
    page = client.get("/search", params={"q": "conflict"}).text
    assert "<mark>" in page and "/wiki/offline-use-and-sync" in page
    hostile = client.get("/search", params={"q": "<script>alert(1)</script> conflict"}).text
    assert "<script>alert(1)</script>" not in hostile


def test_related_pages(client: TestClient) -> None:
    indexed(client)
    related = client.get("/wiki/how-to-edit/related")
    assert related.status_code == 200 and related.text.count('<li><a href="/wiki/') >= 3
    assert 'href="/wiki/how-to-edit"' in related.text  # the heading link back, not a result
    assert "/wiki/how-to-edit/related" in client.get("/wiki/how-to-edit").text


def test_missing_model_falls_back_to_words_and_says_so(tmp_path) -> None:
    from server.app import create_app
    from server.settings import Settings

    settings = Settings(data=tmp_path / "data", model=str(tmp_path / "no-model-here"))
    with TestClient(create_app(settings)) as client:
        status = wait_for_index(lambda: client.get("/api/status").json(), vectors=False)
        assert "unavailable" in status["index"]["model"] and status["index"]["missing_vectors"] > 0
        reply = client.get("/api/search", params={"q": "conflict", "mode": "semantic"}).json()
        assert reply["mode"] == "lexical" and "unavailable" in reply["notice"] and reply["results"]
        page = client.get("/search", params={"q": "conflict"}).text
        assert "Search by meaning is unavailable" in page


def test_the_page_titled_as_the_query_comes_first_in_every_mode(client: TestClient) -> None:
    token = sign_up(client)
    push(client, token, new_op(title="Tar", base_rev=None, body="Pack files into one archive."))
    push(client, token, new_op(title="Archives", base_rev=None, body="tar tar tar: tar, gzip tar and tar again."))
    indexed(client)
    for mode in ("hybrid", "lexical", "semantic"):
        reply = client.get("/api/search", params={"q": "TAR", "mode": mode}).json()
        assert reply["results"][0]["slug"] == "tar" and reply["no_good_match"] is False, mode
    assert client.get("/api/search", params={"q": "tar", "mode": "lexical"}).json()["results"][1]["slug"] == "archives"


def test_a_query_longer_than_any_title_is_searched(client: TestClient) -> None:
    indexed(client)
    for query in ("conflict " * 50, "\u200b" * 10 + "x"):  # 450 characters; nothing a title could be made of
        reply = client.get("/api/search", params={"q": query})
        assert reply.status_code == 200 and "results" in reply.json(), reply.text


def test_word_search_says_no_good_match_when_the_best_page_lacks_words_and_scores_weakly(client: TestClient) -> None:
    indexed(client)
    good = client.get("/api/search", params={"q": "conflict merge", "mode": "lexical"}).json()
    assert good["results"] and good["no_good_match"] is False  # the best page holds every word
    weak = client.get("/api/search", params={"q": "zebra quantum history", "mode": "lexical"}).json()
    assert weak["results"] and weak["no_good_match"] is True  # only "history" matched, as any page might
