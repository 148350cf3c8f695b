"""A 360 px phone: no sideways scrolling, thumb-sized tap targets, labelled controls, dark mode."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

MIN_TAP = 44  # CSS px, WCAG 2.5.5 / platform guidelines

# Text built to break a careless layout: a long unbroken URL and word, a wide table, a code block.
LONG_URL = "https://example.org/" + "very-long-path-segment-" * 8 + "end"
BODY_V1 = f"""Notes on charging phones from a bicycle dynamo.

See {LONG_URL} for the circuit; the part is called a Gleichrichterbrückenschaltungsbaustein.

| Speed | Voltage | Current | Notes on the measurement conditions |
|---|---|---|---|
| 10 km/h | 5.1 V | 0.3 A | flat road, no wind, new battery, cold morning |

```
regulator --input 6V --output 5V --limit 500mA --log /var/log/dynamo/very/long/path/to/a/file.log
```

A buffer battery smooths the output when you stop at lights."""
BODY_V2 = BODY_V1.replace("smooths the output when you stop at lights", "keeps the phone charging while you wait")

# Small helpers run in the page. `describe` names an element in assertion messages.
DESCRIBE = """
const describe = (el) => {
  const cls = el.classList.length ? "." + [...el.classList].join(".") : "";
  const what = el.getAttribute("href") || el.getAttribute("name") || (el.textContent || "").trim().slice(0, 30);
  return `${el.tagName.toLowerCase()}${cls} "${what}"`;
};
"""

OVERFLOW_JS = DESCRIBE + """
() => {
  const root = document.documentElement;
  const wide = [...document.body.querySelectorAll("*")].filter((el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.right > root.clientWidth + 0.5;
  });
  // Report the outermost offenders: an overflowing child of an overflowing parent adds nothing.
  const outermost = wide.filter((el) => !wide.includes(el.parentElement));
  return {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth,
          offenders: outermost.slice(0, 10).map(
            (el) => `${describe(el)} right=${el.getBoundingClientRect().right.toFixed(0)}`)};
}
"""

TAP_TARGETS_JS = DESCRIBE + """
(minimum) => {
  const scopes = [".site-header", ".page-actions", "main form"];
  const controls = "a[href], button, input:not([type=hidden]), select, textarea, summary";
  const seen = new Set();
  const small = [];
  for (const scope of document.querySelectorAll(scopes.join(","))) {
    for (const el of scope.querySelectorAll(controls)) {
      if (seen.has(el)) continue;
      seen.add(el);
      if (el.closest(".prose p")) continue;  // links inside running text are exempt
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === "hidden") continue;
      if (r.width < minimum - 0.01 || r.height < minimum - 0.01) {
        small.push(`${describe(el)} is ${r.width.toFixed(1)}x${r.height.toFixed(1)}`);
      }
    }
  }
  return {checked: seen.size, small};
}
"""

UNLABELLED_JS = DESCRIBE + """
() => [...document.querySelectorAll("input:not([type=hidden]), textarea, select")]
  .filter((el) => !(el.labels && el.labels.length > 0) && !el.getAttribute("aria-label")
                  && !el.getAttribute("aria-labelledby"))
  .map(describe)
"""

COLOURS_JS = """
() => {
  const style = getComputedStyle(document.body);
  return {background: style.backgroundColor, text: style.color};
}
"""


def luminance(css_colour: str) -> float:
    """WCAG relative luminance of an `rgb()`/`rgba()` computed colour."""
    channels = [float(v) for v in re.findall(r"[\d.]+", css_colour)[:3]]
    assert len(channels) == 3, f"cannot parse colour {css_colour!r}"

    def linear(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: float, b: float) -> float:
    light, dark = max(a, b), min(a, b)
    return (light + 0.05) / (dark + 0.05)


@pytest.fixture
def token(site: Any) -> str:
    return site.sign_up()[1]


@pytest.fixture
def pages(site: Any, token: str) -> dict[str, list[str]]:
    """A page with two revisions (for history and diff), and the paths to check, by who is looking."""
    first = site.edit(token, slug=None, title="Charging from a dynamo", base_rev=None, body=BODY_V1)
    site.edit(token, slug=first["slug"], base_rev=first["rev"], body=BODY_V2, summary="Clarify the buffer")
    slug = first["slug"]
    new, old = site.history(slug)[:2]
    signed_in = [
        "/",
        "/wiki/how-to-edit",
        f"/wiki/{slug}",
        f"/wiki/{slug}/history",
        f"/wiki/{slug}/diff?from={old['seq']}&to={new['seq']}",
        f"/wiki/{slug}/edit",
        "/changes",
        "/wiki",
        "/new",
        "/search?q=edit",
    ]
    return {"anonymous": ["/", "/login", "/signup", f"/wiki/{slug}/edit"], "signed_in": signed_in}


@pytest.fixture
def phones(site: Any, token: str, phone_context: Any) -> dict[str, Page]:
    """Two phones: one anonymous, one signed in (so the log-out button shows)."""
    signed_in: BrowserContext = phone_context()
    signed_in.add_cookies([{"name": "cp_session", "value": token, "url": site.url}])
    return {"anonymous": phone_context().new_page(), "signed_in": signed_in.new_page()}


def visit_all(site: Any, phones: dict[str, Page], pages: dict[str, list[str]]) -> Iterator[tuple[str, Page]]:
    """Yields (label, page) after loading each path in each phone."""
    for who, paths in pages.items():
        page = phones[who]
        for path in paths:
            response = page.goto(site.url + path)
            assert response is not None and response.ok, f"{path} answered {response and response.status}"
            yield f"{path} ({who.replace('_', ' ')})", page


def test_the_overflow_check_detects_overflow(phone_page: Page) -> None:
    """Guards the check below: a too-wide element must be caught at this viewport."""
    phone_page.set_content('<meta name="viewport" content="width=device-width, initial-scale=1">'
                           '<main><p>Fits.</p><div style="width: 500px; height: 1px"></div></main>')
    result = phone_page.evaluate(OVERFLOW_JS)
    assert result["clientWidth"] == 360
    assert result["scrollWidth"] > 360 and result["offenders"] == ['div "" right=508'], result


def test_no_horizontal_overflow(site: Any, phones: dict[str, Page], pages: dict[str, list[str]]) -> None:
    failures = []
    for label, page in visit_all(site, phones, pages):
        result = page.evaluate(OVERFLOW_JS)
        assert result["clientWidth"] == 360, f"{label}: layout viewport is {result['clientWidth']} px, not 360"
        if result["scrollWidth"] > result["clientWidth"]:
            failures.append(f"{label}: scrollWidth {result['scrollWidth']} > {result['clientWidth']}; "
                            f"too wide: {result['offenders']}")
    assert not failures, "horizontal overflow at 360 px:\n  " + "\n  ".join(failures)


def test_tap_targets_are_at_least_44_px(site: Any, phones: dict[str, Page], pages: dict[str, list[str]]) -> None:
    where: dict[str, list[str]] = {}  # offender -> pages it appears on (the header repeats everywhere)
    for label, page in visit_all(site, phones, pages):
        result = page.evaluate(TAP_TARGETS_JS, MIN_TAP)
        assert result["checked"] > 0, f"{label}: found no controls to check"
        for small in result["small"]:
            where.setdefault(small, []).append(label)
    assert not where, f"tap targets smaller than {MIN_TAP}x{MIN_TAP} CSS px:\n  " + "\n  ".join(
        f"{small} on {', '.join(labels)}" for small, labels in where.items())


def test_every_form_control_has_a_label(site: Any, phones: dict[str, Page], pages: dict[str, list[str]]) -> None:
    failures = []
    for label, page in visit_all(site, phones, pages):
        failures.extend(f"{label}: {control}" for control in page.evaluate(UNLABELLED_JS))
    assert not failures, "form controls without a label:\n  " + "\n  ".join(failures)


def test_colour_scheme_follows_the_phone(site: Any, phone_context: Any) -> None:
    for scheme in ("dark", "light"):
        page = phone_context(color_scheme=scheme).new_page()
        page.goto(site.url + "/wiki/how-to-edit")
        colours = page.evaluate(COLOURS_JS)
        background, text = luminance(colours["background"]), luminance(colours["text"])
        if scheme == "dark":
            assert background < 0.05, f"dark mode: body background {colours['background']} is not dark"
        else:
            assert background > 0.8, f"light mode: body background {colours['background']} is not light"
        ratio = contrast(background, text)
        assert ratio >= 4.5, (
            f"{scheme} mode: text {colours['text']} on {colours['background']} has contrast {ratio:.1f}")
