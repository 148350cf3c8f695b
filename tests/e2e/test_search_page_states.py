"""The search page on a phone says how much search by meaning covers while its index is incomplete (issue 12
item 7), and stops saying it once the index is complete."""

from __future__ import annotations

from pathlib import Path

import httpx
from conftest import start_server, stop_server, wait_for_index
from playwright.sync_api import Page, expect

from search.embedder import LazyEmbedder
from search.indexer import Indexer
from server.db import Database, connect
from server.settings import Settings
from server.users import Actor
from sync.apply import Policy, apply_op

TITLES = ("Alpha", "Beta", "Gamma", "Delta")


def pages_with_one_in_four_embedded(data: Path) -> None:
    """Four pages indexed for words while no model was ready, and one given its vector since."""
    db = Database(Settings(data=data).db_path)
    try:
        for title in TITLES:
            result = db.write(apply_op, {"op_id": f"new-{title}", "title": title, "base_rev": None,
                                         "body": f"Words about {title}."}, Actor(None, "tester"),
                              Policy(anonymous_edits=True))
            assert result["status"] == "applied"
        indexer = Indexer(db, LazyEmbedder("hashing"))
        indexer.run_once()
        indexer.embedder.start()
        assert indexer.embedder.get(timeout=30) is not None
        assert indexer.fill_missing_vectors(limit=1) == 1
    finally:
        db.close()


def test_the_coverage_line_shows_while_meaning_is_incomplete(phone_page: Page, tmp_path: Path) -> None:
    data = tmp_path / "data"
    pages_with_one_in_four_embedded(data)
    # A writer holding the database keeps the server's indexer from filling the other vectors meanwhile.
    holder = connect(Settings(data=data).db_path)
    holder.execute("BEGIN IMMEDIATE")
    server = start_server(data)
    try:
        phone_page.goto(server.url + "/search?q=words")
        line = phone_page.locator("#main .coverage")
        expect(line).to_have_text("Search by meaning covers 25% of pages; word search covers all.")
        assert line.evaluate("el => el.getBoundingClientRect().right") <= 360, "the line runs off a phone screen"

        holder.execute("ROLLBACK")
        wait_for_index(lambda: httpx.get(server.url + "/api/status").json())
        phone_page.wait_for_function("() => window.htmx !== undefined")
        phone_page.locator("#search-q").fill("")
        phone_page.locator("#search-q").press_sequentially("alpha", delay=30)
        expect(phone_page.locator("#main p.help").first).to_contain_text("“alpha”")
        expect(line).to_have_count(0)
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()
        stop_server(server)
