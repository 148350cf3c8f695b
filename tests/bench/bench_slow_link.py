"""The app on a slow mobile link (issue 10): Chromium through a throttling proxy of our own on loopback.

    python tests/bench/bench_slow_link.py [--runs 3] [--article tar] [--before COMMIT] [--keep]

Imports the tldr commons, serves it with `commonplace serve`, and puts `throttle_proxy.py` in front
(600 ms round trip, 50 kB/s down, 20 kB/s up, one extra round trip per new connection). Chromium at
360 px talks only to the proxy, so the service worker's own fetches cross the same slow link.
`--before COMMIT` also measures that commit's tree (exported with `git archive`) the same way, so a
change is measured before and after in one run.

For an anonymous reader and a signed-in contributor, each run in a fresh browser context:

- first visit: first-contentful-paint of the article (from navigation start);
- repeat visit: the same article again once the service worker is installed and has precached;
- tap to painted: from the click on a link in the front page's text to the frame after the new page's
  heading is in the document (htmx-boosted links swap in place);
- save (contributor only): from the click on Save in the article's edit form until the page says
  "Saved" or shows the new text;
- stalled server: the server is frozen (SIGSTOP: it still accepts connections, answers nothing), then
  the time from asking for a page never opened until a page (the fallback) is shown; capped at 20 s.

Medians of `--runs` runs are printed and written to tests/bench/results/slow_link.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from loadgen import HOST, NO_LIMITS, Children, free_port, post_json, wait_until_serving
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

ROOT = Path(__file__).resolve().parents[2]
BENCH = Path(__file__).resolve().parent
PAGES = ROOT.parent / "shared" / "data" / "tldr" / "pages.jsonl"
RESULTS = BENCH / "results" / "slow_link.json"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
WORKER_READY = "() => navigator.serviceWorker.controller !== null"
STALL_CAP_S = 20
MEASURES = ("first_paint_s", "repeat_paint_s", "tap_paint_s", "save_s", "stall_fallback_s")

FIRST_PAINT_JS = """
() => new Promise((resolve) => {
  const find = () => performance.getEntriesByName("first-contentful-paint")[0];
  if (find()) return resolve(find().startTime);
  new PerformanceObserver(() => { if (find()) resolve(find().startTime); }).observe({type: "paint", buffered: true});
})
"""

# Arms the tap timer: the click's time, then the first animation frame after the heading changed.
ARM_TAP_JS = """
() => {
  const before = document.querySelector("main h1").textContent;
  window.__tap = {};
  document.addEventListener("click", () => {
    window.__tap.start = performance.now();
    const watch = () => {
      const h1 = document.querySelector("main h1");
      if (h1 && h1.textContent !== before) {
        requestAnimationFrame(() => { window.__tap.painted = performance.now(); });
      } else {
        requestAnimationFrame(watch);
      }
    };
    requestAnimationFrame(watch);
  }, {capture: true, once: true});
}
"""


def run_import(data: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "server.cli", "import", str(PAGES), "--data", str(data)],
                          cwd=ROOT, capture_output=True, text=True, env={**os.environ, "COMMONPLACE_MODEL": "hashing"})
    if done.returncode != 0:
        raise RuntimeError(f"commonplace import failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def export_tree(commit: str, into: Path) -> Path:
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


class Setup:
    """One server (from `tree`) on a copy of the imported data, with the throttling proxy in front."""

    def __init__(self, name: str, tree: Path, data: Path, children: Children) -> None:
        self.name = name
        self.children = children
        port, proxy_port = free_port(), free_port()
        env = {**os.environ, **NO_LIMITS, "COMMONPLACE_MODEL": "hashing", "PYTHONPATH": str(tree)}
        # -P leaves the working folder off sys.path, so PYTHONPATH decides which tree's code runs.
        self.server = children.start(f"{name}-server", [sys.executable, "-P", "-m", "server.cli", "serve", "--host",
                                                         HOST, "--port", str(port), "--data", str(data)], env=env)
        children.start(f"{name}-proxy", [sys.executable, str(BENCH / "throttle_proxy.py"), "--listen", str(proxy_port),
                                         "--upstream", str(port)])
        self.direct = f"http://{HOST}:{port}"
        wait_until_serving(children, f"{name}-server", self.direct + "/api/status")
        wait_until_serving(children, f"{name}-proxy", f"http://{HOST}:{proxy_port}/api/status")
        self.url = f"http://{HOST}:{proxy_port}"

    def sign_up(self) -> str:
        status, reply = post_json(self.direct + "/api/users",
                                  {"username": "b" + uuid.uuid4().hex[:10], "password": "correct horse battery"})
        assert status == 201, reply
        return reply["token"]

    def freeze(self, frozen: bool) -> None:
        os.killpg(self.server.pid, signal.SIGSTOP if frozen else signal.SIGCONT)


def first_paint(page: Page, url: str) -> float:
    page.goto(url, wait_until="load", timeout=60_000)
    return page.evaluate(FIRST_PAINT_JS) / 1000


def tap_paint(page: Page, base: str) -> float:
    page.goto(base + "/", wait_until="load", timeout=60_000)
    page.evaluate(ARM_TAP_JS)
    page.locator("main .prose a.wikilink:not(.new)").first.click()
    page.wait_for_function("() => window.__tap.painted !== undefined", timeout=60_000)
    return page.evaluate("() => window.__tap.painted - window.__tap.start") / 1000


def save_online(page: Page, base: str, article: str) -> float:
    page.goto(f"{base}/wiki/{article}/edit", wait_until="load", timeout=60_000)
    marker = "Benchmark line " + uuid.uuid4().hex[:8]
    body = page.locator("textarea[name=body]")
    body.fill(body.input_value() + "\n\n" + marker + "\n")
    started = time.monotonic()
    page.locator("form.edit-form button[type=submit]").first.click()
    page.wait_for_function(
        "(marker) => /\\bSaved\\b/.test(document.body.innerText) || (location.pathname.indexOf('/edit') < 0 "
        "&& document.querySelector('main') && document.querySelector('main').innerText.includes(marker))",
        arg=marker, timeout=60_000)
    return time.monotonic() - started


def stall_fallback(page: Page, setup: Setup, slug: str) -> float | None:
    setup.freeze(True)
    try:
        started = time.monotonic()
        try:
            page.goto(f"{setup.url}/wiki/{slug}", wait_until="domcontentloaded", timeout=STALL_CAP_S * 1000)
        except PlaywrightTimeout:
            return None
        return time.monotonic() - started
    finally:
        setup.freeze(False)


def one_run(browser: Browser, setup: Setup, article: str, unsaved: str, signed_in: bool, settle_s: float) -> dict:
    context: BrowserContext = browser.new_context(**PHONE)
    try:
        if signed_in:
            context.add_cookies([{"name": "cp_session", "value": setup.sign_up(), "url": setup.url}])
        page = context.new_page()
        result: dict[str, Any] = {"first_paint_s": first_paint(page, f"{setup.url}/wiki/{article}")}
        page.wait_for_function(WORKER_READY, timeout=60_000)
        page.wait_for_timeout(settle_s * 1000)  # the precache crosses the slow link too
        result["repeat_paint_s"] = first_paint(page, f"{setup.url}/wiki/{article}")
        result["tap_paint_s"] = tap_paint(page, setup.url)
        if signed_in:
            result["save_s"] = save_online(page, setup.url, article)
        result["stall_fallback_s"] = stall_fallback(page, setup, unsaved)
        return result
    finally:
        context.close()


def median(values: list[float | None]) -> float | None:
    """A capped (None) value counts as the cap and makes the median a lower bound."""
    if not values:
        return None
    return round(statistics.median(STALL_CAP_S if v is None else v for v in values), 2)


def measure(browser: Browser, setup: Setup, args: argparse.Namespace) -> dict:
    report: dict[str, Any] = {}
    for who, signed_in in (("anonymous", False), ("contributor", True)):
        runs = [one_run(browser, setup, args.article, args.unsaved, signed_in, args.settle) for _ in range(args.runs)]
        report[who] = {"runs": runs, "median": {m: median([r[m] for r in runs if m in r])
                                                for m in MEASURES if any(m in r for r in runs)}}
    return report


def print_report(reports: dict[str, dict]) -> None:
    print(f"{'tree':<10}{'who':<13}" + "".join(f"{m.removesuffix('_s'):>18}" for m in MEASURES))
    for tree, report in reports.items():
        for who, figures in report.items():
            cells = []
            for m in MEASURES:
                value = figures["median"].get(m)
                if value is None:
                    cells.append("—")
                else:
                    capped = m == "stall_fallback_s" and value >= STALL_CAP_S
                    cells.append(f"≥{value:.2f} s" if capped else f"{value:.2f} s")
            print(f"{tree:<10}{who:<13}" + "".join(f"{c:>18}" for c in cells))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--article", default="tar")
    parser.add_argument("--unsaved", default="gzip", help="a page the stalled-server measure asks for")
    parser.add_argument("--settle", type=float, default=4, help="seconds for the service worker to precache")
    parser.add_argument("--before", help="a commit to measure too, e.g. the one before a change")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, data)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-slow-link-"))
    children = Children(workdir)
    try:
        imported = workdir / "imported"
        run_import(imported)
        trees = {"now": ROOT}
        if args.before:
            trees = {"before": export_tree(args.before, workdir / "before"), **trees}
        reports = {}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            for name, tree in trees.items():
                data = workdir / f"data-{name}"
                shutil.copytree(imported, data)
                setup = Setup(name, tree, data, children)
                reports[name] = measure(browser, setup, args)
                children.stop(f"{name}-proxy")
                children.stop(f"{name}-server")
            browser.close()
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps({"args": vars(args), "load_average": os.getloadavg(), "reports": reports},
                                      indent=2))
        print(f"load average {os.getloadavg()[0]:.1f} (the machine is shared); {args.runs} runs each, medians")
        print_report(reports)
        return 0
    finally:
        children.close()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
