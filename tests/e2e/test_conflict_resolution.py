"""Resolving an edit conflict on a 360 px phone (issue 10 item 7): a choice per part, POST-redirect-GET."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from e2e.steps import log_in
from playwright.sync_api import BrowserContext, Page, expect

SCREEN_HEIGHT = 740
# A typical page of the commons: 2.3 kB of Markdown in short sections.
PARAGRAPHS = [
    "Wells in the valley are shared by several families, and each family takes a turn at keeping the pump "
    "clean and the cover closed.",
    "## Depth and water",
    "The main well is 12 metres deep. In dry years the level drops by about a metre between March and June, "
    "so the pump must be lowered before the first hot week.",
    "Water from the well is safe to drink after the spring test. Boil it for one minute if the test is late "
    "or the cover was left open.",
    "## Maintenance",
    "Check the rope and the bucket every month. Replace the rope when it frays; a broken rope at the bottom "
    "of the well takes a whole day to fish out.",
    "Clean the filter on the first Saturday of each month. Rinse it in clean water only: soap leaves a taste "
    "that lasts for weeks.",
    "Oil the pump handle twice a year with vegetable oil, never with engine oil, which spoils the water.",
    "Keep a log book in the pump house. Write the date, what was done and who did it: the next family then "
    "knows whether the filter was cleaned or the rope checked.",
    "Spare parts live in the locked box under the bench: two leather washers, a rope, a bucket, a tin of "
    "vegetable oil and the spanner that fits the pump nuts.",
    "## Who to call",
    "The well committee meets on the last Sunday of the month in the school yard. Bring questions, "
    "complaints and spare parts.",
    "If the pump breaks, call the mechanic in the market town; the number is painted on the pump house "
    "door, and the committee pays the first visit.",
    "The pump house roof was mended in the autumn with tin from the old school. Check it after every storm "
    "and tell the committee about any leak before the rains.",
    "## History",
    "The first well was dug by hand in 1952 by six families who had carried water from the river for a "
    "generation. Their names are carved on the stone by the gate.",
    "The hand pump came in 1987, paid for by a collection at the harvest fair. Before that, water was drawn "
    "with a bucket and a windlass that still stands behind the pump house.",
    "In 2009 the well was deepened after two dry summers, and a second cover was made so that one can be "
    "repaired while the other is in use.",
    "Children must not play near the open well. Keep the gate closed and the cover locked when nobody is "
    "drawing water.",
]
BASE = "\n\n".join(PARAGRAPHS) + "\n"


def make_conflict(site: Any, theirs: dict[str, str], mine: dict[str, str]) -> tuple[str, str, str]:
    """Another account changes the page; ours, pushed from the same base, conflicts. Returns (user, slug, id)."""
    username, token = site.sign_up()
    _, other = site.sign_up()
    created = site.edit(other, slug=None, title=site.unique("Well maintenance "), base_rev=None, body=BASE)
    site.edit(other, slug=created["slug"], base_rev=created["rev"], body=replaced(BASE, theirs))
    op = {"op_id": site.unique("op"), "type": "edit", "slug": created["slug"], "base_rev": created["rev"],
          "body": replaced(BASE, mine), "summary": "from the phone"}
    reply = httpx.post(site.url + "/api/sync/push", json={"device_id": "phone", "ops": [op]},
                       headers={"Authorization": f"Bearer {token}"})
    [result] = reply.json()["results"]
    assert result["status"] == "conflict", result
    return username, created["slug"], result["conflict_id"]


def replaced(text: str, changes: dict[str, str]) -> str:
    for old, new in changes.items():
        assert old in text
        text = text.replace(old, new)
    return text


def first_versions_only(proposal: str) -> str:
    """The text a person makes by hand: the first version of each conflict, the marker lines deleted."""
    kept, skipping = [], False
    for line in proposal.split("\n"):
        if line.startswith(("<<<<<<<", "=======", ">>>>>>>")):
            skipping = line.startswith("=======")
            continue
        if not skipping:
            kept.append(line)
    return "\n".join(kept)




def save_button_bottom(page: Page) -> float:
    """How far down the page, in CSS pixels, a person scrolls to reach the save button."""
    return page.locator("form.conflict-form > button").evaluate(
        "(button) => button.getBoundingClientRect().bottom + window.scrollY")


def screenshot(page: Page, name: str) -> None:
    # caret="initial": hiding the caret leaves style="" on every field, which htmx then copies (a CSP error).
    page.screenshot(path=f"/tmp/{name}.png", full_page=True, caret="initial")


def revisions(site: Any, slug: str) -> int:
    return len(site.history(slug))


def test_a_typical_conflict_fits_in_two_screens(phone_context: Callable[..., BrowserContext], site: Any) -> None:
    username, _, conflict_id = make_conflict(site, {"is 12 metres deep": "is 14 metres deep"},
                                             {"is 12 metres deep": "is 15 metres deep"})
    for scheme in ("light", "dark"):
        page = phone_context(color_scheme=scheme).new_page()
        log_in(page, site, username)
        page.goto(f"{site.url}/conflicts/{conflict_id}")
        expect(page.locator(".conflict-side ins").first).to_have_text("14")
        bottom = save_button_bottom(page)
        print(f"\nconflict page at 360 x 740 ({scheme}), {len(BASE)} B page, one paragraph changed on both sides: "
              f"save button bottom at {bottom:.0f} px ({bottom / SCREEN_HEIGHT:.2f} screens), "
              f"whole page {page.evaluate('document.documentElement.scrollHeight')} px")
        screenshot(page, f"conflict-typical-{scheme}")
        assert bottom <= 2 * SCREEN_HEIGHT
        # Changed words are told apart by more than colour: struck through, underlined.
        assert "line-through" in page.locator(".conflict-side del").first.evaluate(
            "(el) => getComputedStyle(el).textDecorationLine")
        assert "underline" in page.locator(".conflict-side ins").first.evaluate(
            "(el) => getComputedStyle(el).textDecorationLine")


def test_a_choice_per_part_saves_the_page_and_a_reload_resubmits_nothing(
    phone_context: Callable[..., BrowserContext], site: Any
) -> None:
    username, slug, conflict_id = make_conflict(
        site,
        {"shared by several families": "shared by six families", "is 12 metres deep": "is 14 metres deep"},
        {"shared by several families": "shared by many families", "is 12 metres deep": "is 15 metres deep"},
    )
    page = phone_context().new_page()
    log_in(page, site, username)
    page.goto(f"{site.url}/conflicts/{conflict_id}")
    expect(page.locator(".conflict-part")).to_have_count(2)
    edit_box = page.locator("#part-0 textarea")
    expect(edit_box).to_be_hidden()  # shown only for "Edit"
    page.locator("#part-0 .conflict-choices label", has_text="Edit").click()
    expect(edit_box).to_be_visible()
    page.locator("#part-0 .conflict-choices label", has_text="Keep both").click()
    expect(edit_box).to_be_hidden()
    page.locator("#part-1 .conflict-choices label", has_text="Keep mine").click()
    screenshot(page, "conflict-chosen")
    before = revisions(site, slug)
    page.locator("form.conflict-form > button").click()

    notice = page.locator(f'[data-resolved-conflict="{conflict_id}"]')
    expect(notice).to_contain_text("Conflict resolved: your text is now revision")
    assert page.url == f"{site.url}/conflicts/{conflict_id}"
    expect(page.locator("article.page .prose")).to_contain_text("shared by six families")
    expect(page.locator("article.page .prose")).to_contain_text("shared by many families")
    screenshot(page, "conflict-resolved")
    body = httpx.get(f"{site.url}/api/pages/{slug}").json()["body"]
    assert "shared by six families" in body and "shared by many families" in body
    assert "is 15 metres deep" in body and "is 14 metres deep" not in body
    assert revisions(site, slug) == before + 1

    page.reload()
    expect(notice).to_be_visible()
    assert revisions(site, slug) == before + 1
    page.locator(".conflict-links a", has_text="Open the page").click()
    page.wait_for_url(f"{site.url}/wiki/{slug}")


def test_markers_left_are_refused_the_text_is_kept_and_a_reload_is_safe(
    phone_context: Callable[..., BrowserContext], site: Any
) -> None:
    username, slug, conflict_id = make_conflict(site, {"is 12 metres deep": "is 14 metres deep"},
                                                {"is 12 metres deep": "is 15 metres deep"})
    page = phone_context().new_page()
    log_in(page, site, username)
    page.goto(f"{site.url}/conflicts/{conflict_id}")
    page.locator(".conflict-whole > summary").click()
    textarea = page.locator("textarea[name=body]")
    typed = textarea.input_value().replace("is 14 metres deep", "is 14 or 15 metres deep (MY CHECK)", 1)
    textarea.fill(typed)
    before = revisions(site, slug)
    page.locator("form.conflict-whole-form button").click()

    page.wait_for_url(f"{site.url}/conflicts/{conflict_id}?error=markers")
    expect(page.locator("#conflict-error")).to_contain_text("still holds conflict marker lines")
    expect(textarea).to_have_value(typed)  # what they typed, not the proposal again
    screenshot(page, "conflict-markers")
    response = page.reload()
    assert response is not None and response.status == 200
    expect(page.locator("#conflict-error")).to_be_visible()
    expect(textarea).to_have_value(typed)
    assert revisions(site, slug) == before

    textarea.fill(first_versions_only(typed))
    page.locator("form.conflict-whole-form button").click()
    expect(page.locator(f'[data-resolved-conflict="{conflict_id}"]')).to_be_visible()
    assert "(MY CHECK)" in httpx.get(f"{site.url}/api/pages/{slug}").json()["body"]
    assert revisions(site, slug) == before + 1


def test_discard_asks_first(phone_context: Callable[..., BrowserContext], site: Any) -> None:
    username, slug, conflict_id = make_conflict(site, {"is 12 metres deep": "is 14 metres deep"},
                                                {"is 12 metres deep": "is 15 metres deep"})
    page = phone_context().new_page()
    log_in(page, site, username)
    page.goto(f"{site.url}/conflicts/{conflict_id}")
    discard = page.locator("form.conflict-discard button")
    page.once("dialog", lambda dialog: dialog.dismiss())
    discard.click()
    expect(page.locator(".conflict-part")).to_have_count(1)  # declined: still open
    page.once("dialog", lambda dialog: dialog.accept())
    discard.click()
    expect(page.locator(f'[data-resolved-conflict="{conflict_id}"]')).to_contain_text("You discarded your version")
    page.reload()
    expect(page.locator(f'[data-resolved-conflict="{conflict_id}"]')).to_be_visible()
    assert "is 14 metres deep" in httpx.get(f"{site.url}/api/pages/{slug}").json()["body"]


def test_without_javascript_the_choices_still_resolve(phone_context: Callable[..., BrowserContext], site: Any) -> None:
    username, slug, conflict_id = make_conflict(site, {"is 12 metres deep": "is 14 metres deep"},
                                                {"is 12 metres deep": "is 15 metres deep"})
    page = phone_context(java_script_enabled=False).new_page()
    log_in(page, site, username)
    page.goto(f"{site.url}/conflicts/{conflict_id}")
    edit_box = page.locator("#part-0 textarea")
    page.locator("#part-0 .conflict-choices label", has_text="Edit").click()
    expect(edit_box).to_be_visible()  # CSS alone shows the box for "Edit"
    edit_box.fill("The main well is 14 or 15 metres deep; measure it in June.")
    page.locator("form.conflict-form > button").click()
    page.wait_for_url(f"{site.url}/conflicts/{conflict_id}")
    expect(page.locator(f'[data-resolved-conflict="{conflict_id}"]')).to_be_visible()
    page.reload()
    body = httpx.get(f"{site.url}/api/pages/{slug}").json()["body"]
    assert "14 or 15 metres deep; measure it in June.\n\nWater from the well" in body
    assert len(site.history(slug)) == 3
