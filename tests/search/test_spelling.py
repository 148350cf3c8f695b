"""Typos: a word that no page holds is searched as its closest word that pages do hold (issue 12, item 4)."""

from __future__ import annotations

from conftest import new_op, push, sign_up, wait_for_index
from litestar.testing import TestClient

from search.spelling import best_correction, one_edit

PAGES = {
    "History": "Show the shell history of commands you typed before. Clear the history.",
    "Grep": "Search for a pattern in files. Grep prints matching lines of text files.",
    "Docker compose": "Run and manage applications of several docker containers with compose files.",
    "Historian notes": "Notes kept by a historian about history and old maps.",
    "Make": "Make builds programs; read the makefile to see what make will do.",
}


def test_one_edit_covers_swaps_drops_changes_and_insertions() -> None:
    near = one_edit("grpe")
    assert {"grep", "gre", "grpee", "gape"} <= near  # swap, drop, insertion, change
    assert "grpe" not in near and "perg" not in near


def test_the_neighbour_most_passages_hold_wins() -> None:
    counts = {"grep": 40, "gripe": 3, "grape": 2}
    assert best_correction("grpe", counts, lambda w: w) == "grep"
    assert best_correction("zzqx", counts, lambda w: w) is None
    assert best_correction("grpe", {"grep": 1}, lambda w: w) is None  # one passage is not enough to correct to


def commons(client: TestClient) -> None:
    token = sign_up(client)
    for title, body in PAGES.items():
        push(client, token, new_op(title=title, base_rev=None, body=f"{body} {body}"))
        push(client, token, new_op(title=f"{title} again", base_rev=None, body=body))
    wait_for_index(lambda: client.get("/api/status").json())


def test_typos_find_their_page_in_the_top_three(client: TestClient) -> None:
    commons(client)
    for typo, slug, corrected in (("histroy", "history", "history"), ("grpe", "grep", "grep"),
                                  ("dokcer compose", "docker-compose", "docker compose")):
        for mode in ("hybrid", "lexical"):
            reply = client.get("/api/search", params={"q": typo, "mode": mode}).json()
            assert reply["corrected_query"] == corrected, (typo, mode)
            assert slug in [r["slug"] for r in reply["results"][:3]], (typo, mode, reply["results"])


def test_a_word_the_commons_holds_is_never_corrected(client: TestClient) -> None:
    commons(client)
    reply = client.get("/api/search", params={"q": "historian grep"}).json()
    assert "corrected_query" not in reply
    assert reply["results"][0]["slug"] in {"historian-notes", "historian-notes-again"}


def test_ordinary_english_words_the_commons_lacks_are_not_taken_for_typos(client: TestClient) -> None:
    commons(client)
    reply = client.get("/api/search", params={"q": "how do i bake sourdough bread"}).json()
    assert "corrected_query" not in reply  # "bake" is not a typo of "make", nor "bread" of "read"
