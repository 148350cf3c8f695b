"""Offline reading budgets (issue #4), measured in real Chromium with DevTools network events.

    python tests/bench/bench_offline.py [--article tar] [--no-lighthouse] [--keep]

Imports the whole tldr commons into a temporary data directory, serves it with `commonplace serve`, and
counts the bytes on the wire: every response's `Network.loadingFinished` `encodedDataLength` (headers and
compressed body) from a CDP session on the page, plus every request the service worker makes (Playwright
reports those from the worker's own DevTools target, with the same encodedDataLength figures). Responses
the service worker answers from its caches cost nothing on the wire and are not counted.

Measured: first visit to an article (page + service-worker install and precache, and the installability
check, which fetches the manifest), a repeat visit online, an offline reload, "download the commons" (all
7,425 pages: bytes on the wire against the sum of the pages' Markdown, and time), an offline search over
the downloaded pages, and Lighthouse on the article if `tests/bench/.lighthouse` holds lighthouse@12.2.3:

    mkdir -p tests/bench/.lighthouse && npm install --prefix tests/bench/.lighthouse lighthouse@12.2.3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from loadgen import HOST, Children, fetch, free_port, wait_until_serving
from playwright.sync_api import BrowserContext, Page, Request, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
BENCH = Path(__file__).resolve().parent
PAGES = ROOT.parent / "shared" / "data" / "tldr" / "pages.jsonl"
RESULTS = BENCH / "results" / "offline.json"
LIGHTHOUSE = BENCH / ".lighthouse" / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
WORKER_READY = "() => navigator.serviceWorker.controller !== null"
BUDGETS = {"first_visit": 60_000, "repeat_visit": 10_000, "offline_reload": 0}


class Wire:
    """Bytes on the wire for one page and its service worker, by request."""

    def __init__(self, context: BrowserContext, page: Page) -> None:
        self.rows: list[tuple[str, str, int]] = []
        self._urls: dict[str, str] = {}
        self._from_worker: set[str] = set()
        self.accept_encoding = ""
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.on("Network.requestWillBeSent", self._on_request)
        cdp.on("Network.responseReceived", self._on_response)
        cdp.on("Network.loadingFinished", self._on_finished)
        context.on("requestfinished", self._on_worker_request)

    def _on_request(self, event: dict[str, Any]) -> None:
        self._urls[event["requestId"]] = event["request"]["url"]
        self.accept_encoding = event["request"]["headers"].get("Accept-Encoding", self.accept_encoding)

    def _on_response(self, event: dict[str, Any]) -> None:
        if event["response"].get("fromServiceWorker") or event["response"].get("fromDiskCache"):
            self._from_worker.add(event["requestId"])

    def _on_finished(self, event: dict[str, Any]) -> None:
        if event["requestId"] not in self._from_worker:
            self.rows.append(("page", self._urls.get(event["requestId"], "?"), int(event["encodedDataLength"])))

    def _on_worker_request(self, request: Request) -> None:
        if request.service_worker is None:
            return
        sizes = request.sizes()
        body = sizes["responseBodySize"]
        if request.url.endswith("/sw.js") and body == 0:
            # DevTools reports only the headers of the worker's own script: add its compressed body.
            body = len(fetch(request.url, {"Accept-Encoding": self.accept_encoding or "gzip"})[2])
        self.rows.append(("worker", request.url, sizes["responseHeadersSize"] + body))

    def take(self) -> dict[str, Any]:
        rows, self.rows = self.rows, []
        by_url = [{"by": by, "url": url.split("?")[0][-60:], "bytes": size} for by, url, size in rows if size]
        return {"bytes": sum(size for _, _, size in rows), "requests": len(by_url), "by_request": by_url}


def run_import(data: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "server.cli", "import", str(PAGES), "--data", str(data)],
                          capture_output=True, text=True, cwd=ROOT, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"commonplace import failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return time.perf_counter() - started


def markdown_bytes() -> tuple[int, int]:
    with PAGES.open(encoding="utf-8") as lines:
        texts = [json.loads(line)["text"] for line in lines]
    return len(texts), sum(len(text.encode()) for text in texts)


def wait_saved(page: Page, url: str) -> None:
    page.wait_for_function(WORKER_READY)
    page.wait_for_function("(url) => caches.open('commonplace-pages-v1').then((c) => c.match(url, {ignoreVary: true}))"
                           ".then((r) => r !== undefined)", arg=url)


def measure_visits(context: BrowserContext, article_url: str, settle_s: float) -> dict[str, Any]:
    page = context.pages[0] if context.pages else context.new_page()
    wire = Wire(context, page)
    page.goto(article_url)
    wait_saved(page, article_url)
    cdp = context.new_cdp_session(page)
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    page.wait_for_timeout(settle_s * 1000)
    first = {**wire.take(), "installability_errors": errors}

    page.goto(article_url)
    page.wait_for_load_state("load")
    page.wait_for_timeout(settle_s * 1000)
    repeat = wire.take()

    context.set_offline(True)
    page.reload()
    page.locator(".offline-banner").wait_for()
    page.wait_for_timeout(1000)
    offline = {**wire.take(), "banner": page.locator(".offline-banner").inner_text()}
    context.set_offline(False)
    return {"first_visit": first, "repeat_visit": repeat, "offline_reload": offline}


def measure_download(context: BrowserContext, base: str, markdown: int) -> dict[str, Any]:
    page = context.new_page()
    wire = Wire(context, page)
    page.goto(base + "/offline")
    page.wait_for_function(WORKER_READY)
    page.locator("form.download-form").wait_for()
    wire.take()
    started = time.perf_counter()
    page.locator("form.download-form").get_by_role("button", name="Download", exact=True).click()
    page.locator(".download-status", has_text="Done:").wait_for(timeout=900_000)
    took = time.perf_counter() - started
    traffic = wire.take()
    bulk = [row for row in traffic["by_request"] if "/api/bulk" in row["url"]]
    bulk_bytes = sum(row["bytes"] for row in bulk)
    prepared = time.perf_counter()
    page.locator(".offline-hub[data-search-ready]").wait_for(timeout=120_000)
    index_s = time.perf_counter() - prepared
    usage = page.evaluate("() => navigator.storage.estimate().then((e) => e.usage)")
    status = page.locator(".download-status").inner_text()

    context.set_offline(True)
    started = time.perf_counter()
    page.goto(base + "/search?q=extract+archive")
    page.locator(".offline-results").wait_for(timeout=120_000)
    search_s = time.perf_counter() - started
    hits = page.locator("ol.results li").count()
    context.set_offline(False)
    return {"status": status, "seconds": round(took, 2), "bulk_requests": len(bulk), "bulk_bytes": bulk_bytes,
            "all_bytes": traffic["bytes"], "markdown_bytes": markdown, "ratio": round(bulk_bytes / markdown, 3),
            "storage_usage_bytes": usage, "index_prepared_after_s": round(index_s, 2),
            "offline_search_first_query_s": round(search_s, 2),
            "offline_search_hits": hits}


def run_lighthouse(url: str, workdir: Path) -> dict[str, Any] | None:
    if not LIGHTHOUSE.exists():
        print(f"Lighthouse skipped: {LIGHTHOUSE} is missing (see this file's docstring).")
        return None
    out = workdir / "lighthouse.json"
    argv = [str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={out}",
            "--only-categories=performance,accessibility,best-practices",
            "--chrome-flags=--headless=new --no-sandbox --disable-gpu"]
    subprocess.run(argv, env={**os.environ, "CHROME_PATH": CHROMIUM}, check=True, timeout=300,
                   capture_output=True)
    report = json.loads(out.read_text())
    scores = {key: round(cat["score"] * 100) for key, cat in report["categories"].items()}
    failing = {key: audit["title"] for key, audit in report["audits"].items()
               if audit.get("score") is not None and audit["score"] < 1
               and audit.get("scoreDisplayMode") in ("binary", "numeric")}
    metrics = {key: report["audits"][key]["displayValue"]
               for key in ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time",
                           "cumulative-layout-shift", "speed-index")}
    return {"scores": scores, "metrics": metrics, "not_perfect": failing,
            "form_factor": report["configSettings"]["formFactor"], "version": report["lighthouseVersion"]}


def run(args: argparse.Namespace, workdir: Path, children: Children) -> dict[str, Any]:
    data = workdir / "data"
    count, markdown = markdown_bytes()
    import_s = run_import(data)
    port = free_port()
    env = {**os.environ, "COMMONPLACE_MODEL": "hashing"}
    children.start("server", [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--data", str(data)],
                   env=env)
    base = f"http://{HOST}:{port}"
    wait_until_serving(children, "server", base + "/api/status")
    article_url = f"{base}/wiki/{args.article}"
    report: dict[str, Any] = {"pages": count, "import_s": round(import_s, 1), "article": args.article}
    with sync_playwright() as playwright:
        chromium = playwright.chromium
        context = chromium.launch_persistent_context(workdir / "profile", executable_path=CHROMIUM,
                                                     args=CHROMIUM_ARGS, headless=True, **PHONE)
        try:
            report.update(measure_visits(context, article_url, args.settle))
            report["download_all"] = measure_download(context, base, markdown)
        finally:
            context.close()
    if args.lighthouse:
        report["lighthouse"] = run_lighthouse(article_url, workdir)
    return report


def print_report(report: dict[str, Any]) -> None:
    for key, budget in BUDGETS.items():
        row = report[key]
        verdict = "ok" if row["bytes"] <= budget else "OVER"
        print(f"{key:15} {row['bytes']:>8,} B in {row['requests']:>2} requests (budget {budget:,} B) {verdict}")
        for item in row["by_request"]:
            print(f"    {item['by']:6} {item['bytes']:>7,}  {item['url']}")
    print(f"installability errors: {report['first_visit']['installability_errors']}")
    down = report["download_all"]
    print(f"download all {report['pages']:,} pages: {down['bulk_bytes']:,} B in {down['bulk_requests']} batches, "
          f"{down['seconds']} s; Markdown {down['markdown_bytes']:,} B; ratio {down['ratio']} (target <= 0.5); "
          f"storage used {down['storage_usage_bytes']:,} B")
    print(f"offline search over the download: index built and stored {down['index_prepared_after_s']} s after "
          f"'Done'; first query offline (page load + stored index) {down['offline_search_first_query_s']} s "
          f"({down['offline_search_hits']} results)")
    lighthouse = report.get("lighthouse")
    if lighthouse:
        print(f"lighthouse {lighthouse['version']} ({lighthouse['form_factor']}): {lighthouse['scores']}")
        print(f"    {lighthouse['metrics']}")
        if lighthouse["not_perfect"]:
            print(f"    not perfect: {lighthouse['not_perfect']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--article", default="tar", help="slug of the article measured")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to keep counting after each load")
    parser.add_argument("--no-lighthouse", dest="lighthouse", action="store_false")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-offline-"))
    children = Children(workdir)
    try:
        report = run(args, workdir, children)
    finally:
        children.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2))
    print_report(report)
    print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
