"""The search page on a phone says how much search by meaning covers while its index is incomplete (issue 12
item 7), and stops saying it once the index is complete."""

from __future__ import annotations

from pathlib import Path

import httpx
from conftest import server_with_meaning_on_one_page_in_four, wait_for_index
from playwright.sync_api import Page, expect


def test_the_coverage_line_shows_while_meaning_is_incomplete(phone_page: Page, tmp_path: Path) -> None:
    with server_with_meaning_on_one_page_in_four(tmp_path / "data") as (server, holder):
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
