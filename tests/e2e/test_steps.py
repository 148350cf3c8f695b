"""The shared waiting step really waits for a promise's value (Playwright's wait_for_function does not)."""

from __future__ import annotations

import pytest
from e2e.steps import wait_until
from playwright.sync_api import Page


def test_wait_until_waits_for_a_promise_to_give_true_and_returns_its_value(phone_page: Page) -> None:
    phone_page.set_content("<p>waiting</p>")
    phone_page.evaluate("() => { window.ready = false; setTimeout(() => { window.ready = true; }, 400); }")
    assert wait_until(phone_page, "() => Promise.resolve(window.ready ? 'yes' : null)") == "yes"
    assert phone_page.evaluate("() => window.ready") is True


def test_wait_until_says_what_it_waited_for_when_it_never_comes(phone_page: Page) -> None:
    phone_page.set_content("<p>never</p>")
    with pytest.raises(AssertionError, match="the thing that never comes"):
        wait_until(phone_page, "() => Promise.resolve(false)", timeout_ms=300, what="the thing that never comes")
