"""The real model (all-MiniLM-L6-v2 from the installed package) finds a paraphrase that words miss."""

from __future__ import annotations

from pathlib import Path

import pytest

from search.service import SearchService
from server.db import Database
from server.users import Actor
from sync.apply import Policy, apply_op

PAGES = {
    "Sourdough starter": "Feed the culture with flour and water every day. Keep the jar warm so the yeast stays "
                         "active and the dough rises.",
    "Bicycle chains": "Clean the chain with a rag, then oil each link. A dry chain wears the gears quickly.",
    "Tide pools": "At low water the rocks hold small pools full of crabs, anemones and snails.",
    "Vaccination schedules": "Children receive most immunisations in their first two years, in several doses.",
}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory):
    db = Database(Path(tmp_path_factory.mktemp("real-model")) / "c.db")
    for n, (title, body) in enumerate(PAGES.items()):
        db.write(apply_op, {"op_id": f"p{n}", "title": title, "base_rev": None, "body": body},
                 Actor(None, "tester"), Policy(anonymous_edits=True))
    search = SearchService(db, "all-MiniLM-L6-v2")
    search.embedder.start()
    assert search.embedder.get(timeout=300) is not None, search.embedder.error
    search.indexer.drain()
    yield search
    db.close()


def test_paraphrase_is_found_by_meaning_but_not_by_words(service: SearchService) -> None:
    query = "maintaining bread leaven"
    assert service.search(query, mode="lexical")["results"] == []
    semantic = service.search(query, mode="semantic")["results"]
    hybrid = service.search(query, mode="hybrid")["results"]
    assert semantic[0]["slug"] == "sourdough-starter" and hybrid[0]["slug"] == "sourdough-starter"


def test_exact_words_still_win_in_hybrid(service: SearchService) -> None:
    assert service.search("anemones", mode="hybrid")["results"][0]["slug"] == "tide-pools"


def test_related_pages_come_from_the_vector_index(service: SearchService) -> None:
    status = service.status()
    assert status["model"] == "all-MiniLM-L6-v2" and status["missing_vectors"] == 0
    page_id = service.db.read(lambda c: next(iter(c.execute("SELECT id FROM pages WHERE slug='tide-pools'")))["id"])
    related = service.related(page_id)
    assert len(related) == 3 and "tide-pools" not in {r["slug"] for r in related}
