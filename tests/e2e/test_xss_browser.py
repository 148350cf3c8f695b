"""Cross-site scripting in real Chromium: every payload of the payloadbox list, as page text and as a title.

`tests/server/test_xss.py` checks the markup the server sends; this test lets a browser run it. Every payload
(6,613 lines) is pushed in bulk: as the text of pages holding about 110 payloads each, and in the title of a
page of its own. Chromium then opens the pages, their history and diffs, search results, recent changes and
the index of all pages, with `alert`/`prompt`/`confirm`/`print` hooked, a `securitypolicyviolation` listener
and the console watched (tests/e2e/conftest.py). Nothing may run, nothing may be blocked by the CSP (the
sanitiser must have removed it first), and no element may carry an event-handler attribute.

`sample_every` bounds the suite run (every 100th title page and payload query; all body pages, the whole
index of pages and all of recent changes).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from conftest import start_server, stop_server, wait_for_index
from playwright.sync_api import BrowserContext, Page

PAYLOADS_PER_PAGE = 110
PUSH_BATCH = 200
NO_LIMITS = {f"COMMONPLACE_RATE_{name}": "off" for name in ("LOGIN", "SIGNUP", "EDIT", "SEARCH")}

# Runs before any page script: records every way a payload could show it ran.
HOOKS = """
window.__xss = [];
for (const name of ['alert', 'prompt', 'confirm', 'print']) {
  window[name] = (...args) => { window.__xss.push(name + ':' + String(args[0]).slice(0, 80)); };
}
document.addEventListener('securitypolicyviolation', (e) => {
  window.__xss.push('csp:' + e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || ''));
});
"""
HANDLER_ATTRIBUTES = """() => [...document.querySelectorAll('*')]
  .filter((el) => [...el.attributes].some((a) => a.name.toLowerCase().startsWith('on')))
  .map((el) => el.outerHTML.slice(0, 120))"""
FOREIGN_SCRIPTS = """() => [...document.scripts].filter((s) => !s.src.startsWith(location.origin + '/static/'))
  .map((s) => s.outerHTML.slice(0, 120))"""


def load_payloads() -> list[str]:
    from conftest import SHARED_DATA  # the same file tests/server/test_xss.py reads

    lines = (SHARED_DATA / "xss" / "xss-payloads.txt").read_text(encoding="utf-8").split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


@dataclass
class Corpus:
    """What was pushed: pages holding payloads as text, pages titled with a payload."""

    body_pages: list[dict[str, Any]] = field(default_factory=list)
    title_pages: list[dict[str, Any]] = field(default_factory=list)
    titles_refused: int = 0


def push_all(url: str, token: str, ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    results = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
        for start in range(0, len(ops), PUSH_BATCH):
            reply = client.post("/api/sync/push", json={"device_id": "xss", "ops": ops[start : start + PUSH_BATCH]})
            assert reply.status_code == 200, reply.text
            results += reply.json()["results"]
    return results


def make_corpus(url: str, payloads: list[str]) -> Corpus:
    token = httpx.post(url + "/api/users", json={"username": "xss", "password": "long enough"}).json()["token"]
    corpus = Corpus()
    body_ops = []
    for number, start in enumerate(range(0, len(payloads), PAYLOADS_PER_PAGE)):
        body = "\n\n".join(payloads[start : start + PAYLOADS_PER_PAGE])
        body_ops.append({"op_id": str(uuid.uuid4()), "title": f"XSS bodies {number}", "base_rev": None,
                         "body": body, "summary": "payloads"})
    for result in push_all(url, token, body_ops):
        assert result["status"] == "applied", result
        corpus.body_pages.append(result)
    # The line number first keeps every slug distinct; the payload follows whole.
    title_ops = [{"op_id": str(uuid.uuid4()), "title": f"{n} {p}", "base_rev": None, "body": f"Payload {n}.",
                  "summary": p[:400]} for n, p in enumerate(payloads, start=1)]
    for result in push_all(url, token, title_ops):
        if result["status"] == "applied":
            corpus.title_pages.append(result)
        else:
            assert result["status"] == "rejected" and result["reason"] in ("bad_title", "invalid_op"), result
            corpus.titles_refused += 1
    # A second revision on each body page, so that its diff shows payloads on both sides.
    edits = [{"op_id": str(uuid.uuid4()), "slug": page["slug"], "base_rev": page["rev"], "summary": "edit",
              "body": "Edited.\n\n" + "\n\n".join(payloads[i * PAYLOADS_PER_PAGE : (i + 1) * PAYLOADS_PER_PAGE][::-1])}
             for i, page in enumerate(corpus.body_pages)]
    assert all(r["status"] == "applied" for r in push_all(url, token, edits))
    return corpus


class Visitor:
    """Opens pages in one hooked browser context and collects anything that ran or was blocked."""

    def __init__(self, context: BrowserContext, url: str) -> None:
        context.add_init_script(HOOKS)
        self.url = url
        self.page: Page = context.new_page()
        self.dialogs: list[str] = []
        self.page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        self.problems: list[str] = []
        self.visits = 0

    def visit(self, path: str) -> None:
        reply = self.page.goto(self.url + path, wait_until="load")
        self.visits += 1
        status = reply.status if reply else 0
        if status >= 500 or status == 0:
            self.problems.append(f"{path[:100]}: status {status}")
        self.page.wait_for_timeout(20)  # let onload/onerror handlers of anything injected fire
        ran = self.page.evaluate("window.__xss")
        handlers = self.page.evaluate(HANDLER_ATTRIBUTES)
        scripts = self.page.evaluate(FOREIGN_SCRIPTS)
        for kind, found in (("ran", ran), ("handler attribute", handlers), ("script", scripts),
                            ("dialog", self.dialogs)):
            self.problems += [f"{path[:100]}: {kind} {item}" for item in found]
        self.dialogs.clear()



def prove_the_hooks_work(context: BrowserContext, url: str) -> None:
    """The checks must not be vacuous: a real alert and an inline script the CSP blocks are both seen.

    `context` must be one the console watch does not fail on: the blocked script logs an error on purpose.
    """
    context.add_init_script(HOOKS)
    page = context.new_page()
    page.goto(url + "/wiki/welcome")
    page.evaluate("alert('control')")
    page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'void 0';
                             document.body.appendChild(s); }""")
    page.wait_for_function("window.__xss.some((x) => x.startsWith('csp:'))")
    seen = page.evaluate("window.__xss")
    assert "alert:control" in seen and any(x.startswith("csp:script-src") for x in seen), seen
    page.close()


def sweep(context: BrowserContext, url: str, payloads: list[str], sample_every: int,
          log: Callable[[str], None] = print) -> dict[str, Any]:
    started = time.perf_counter()
    corpus = make_corpus(url, payloads)
    pushed = time.perf_counter()
    wait_for_index(lambda: httpx.get(url + "/api/status").json(), timeout=600, vectors=False)
    indexed = time.perf_counter()
    visitor = Visitor(context, url)
    for page in corpus.body_pages:
        slug = "/wiki/" + quote(page["slug"], safe="")
        for path in (slug, slug + "/history", slug + "/diff", slug + "/revision/" + page["rev"]):
            visitor.visit(path)
    for page in corpus.title_pages[::sample_every]:
        slug = "/wiki/" + quote(page["slug"], safe="")
        for path in (slug, slug + "/history", slug + "/diff"):
            visitor.visit(path)
    for payload in payloads[::sample_every]:
        visitor.visit("/search?q=" + quote(payload[:200], safe=""))
    for words in ("script alert", "onerror img", "javascript", "svg onload", "iframe src"):
        visitor.visit("/search?q=" + quote(words))
    after = ""
    while True:  # the index of all pages lists every title, 500 a page
        visitor.visit("/wiki" + (f"?after={quote(after, safe='')}" if after else ""))
        after = visitor.page.evaluate("document.querySelector('a[href^=\"/wiki?after=\"]')?.href || ''")
        if not after:
            break
        after = httpx.URL(after).params["after"]
    before = ""
    while True:  # recent changes, 50 a page: every title and summary
        visitor.visit("/changes" + (f"?before={before}" if before else ""))
        older = visitor.page.evaluate("document.querySelector('a[href^=\"/changes?before=\"]')?.href || ''")
        if not older:
            break
        before = older.split("before=", 1)[1]
    figures = {"payloads": len(payloads), "body_pages": len(corpus.body_pages),
               "title_pages": len(corpus.title_pages), "titles_refused": corpus.titles_refused,
               "visits": visitor.visits, "push_s": round(pushed - started, 1),
               "index_s": round(indexed - pushed, 1), "browse_s": round(time.perf_counter() - indexed, 1),
               "problems": visitor.problems}
    log(f"xss sweep: {figures | {'problems': len(visitor.problems)}}")
    return figures


@pytest.fixture
def xss_server(tmp_path: Path):
    server = start_server(tmp_path / "xss-data", env=NO_LIMITS)
    yield server
    stop_server(server)


def test_no_payload_runs_in_chromium(new_context: Callable[..., BrowserContext], browser: Any,
                                     xss_server: Any) -> None:
    payloads = load_payloads()
    assert len(payloads) == 6613
    control = browser.new_context()  # not watched: its blocked script is the point
    prove_the_hooks_work(control, xss_server.url)
    control.close()
    figures = sweep(new_context(), xss_server.url, payloads, sample_every=100)
    assert figures["title_pages"] > 6000 and figures["visits"] > 500
    assert not figures["problems"], f"{len(figures['problems'])} problems; first 20:\n" + "\n".join(
        figures["problems"][:20])
