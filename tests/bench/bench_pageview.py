"""Page-view benchmark: one article, served dynamically, as a static file, and by kiwix-serve.

    python tests/bench/bench_pageview.py [--duration 10] [--connections 32] [--threads 2] [--pages 0] [--rounds 3]

One run, everything on 127.0.0.1, every child process killed at the end (also on error or Ctrl-C):

1. A temporary data directory gets `../shared/data/tldr/pages.jsonl` through `commonplace import`
   (`--pages N` imports only the first N lines).
2. WhiteNoise server (`launch_server.py whitenoise`): the real Litestar app from `create_app` with WhiteNoise
   6 mounted at /static through a2wsgi. It also hands us the bytes everything else serves: the article
   (`/wiki/tar` by default) and `--zim-articles` other pages, fetched with a fixed `cp_csrf` cookie so any
   CSRF token in the HTML is known. Measured: the built, hashed app.css through WhiteNoise. Both servers
   build their static files from a snapshot of `pwa/` taken when the run starts (see launch_server.py).
3. Commonplace server (`launch_server.py commonplace`): the real `commonplace serve` entry point, in one
   process. Why a launcher and not the plain command: ServeStaticASGI indexes the built static folder
   once at startup (autorefresh off), so a file copied there after startup is never served. The
   launcher wraps `build_static` to copy the saved article into `<data>/static-<build id>/bench/` after
   the build and before ServeStaticASGI scans the folder; nothing else
   changes (same create_asgi, same uvicorn options). So (a) and (b) run in the same process, behind the
   same ServeStaticASGI, and (b) is exactly the path every static file of the app takes. Measured:
   (a) `/wiki/tar` as a first-time reader (no cookie; the JSON records whether the server set one and
   whether the body equals the static copy) and as a returning reader (`cp_csrf` cookie sent: the body is
   byte-identical to the static file, checked) and as a signed-in reader (an account made through
   `POST /api/users`; its session cookie means the page is rendered for that reader, so this row shows
   the path a contributor's views take: since issue 11 the page cache fills in a per-role render);
   (b) `/static/bench/tar.html`, the same bytes as a static file; and app.css through servestatic.
   The server runs with the `hashing` model, and the measurements wait until it has indexed the imported
   pages: page views never touch the model, but every commit of the indexer empties the page cache, so
   measuring during the first indexing measures the indexer (issue 11: 1,079 req/s that way, see README).
4. kiwix-serve 3.x serving a ZIM built here with libzim's writer holding the same HTML, at `/<zim stem>/tar`:
   with `--nosearchbar` (it then adds only a 26-byte `<link type="root">` tag: the like-for-like case) and
   with its defaults (injects its toolbar, ~2 kB more: what people run). Both run beside the Commonplace
   server, so that every round measures every row.

Each measurement is `wrk -t2 -c32 -d10s --latency` (after a short warm-up) from a separate process on the
same 2 cores, `--rounds` times in turn (row 1, row 2, ..., row 1, row 2, ...): on a shared machine the load
changes within a minute, and rows measured in turn meet the same load. Each row reports its median round.
The table shows requests/s, p50 and p99; the ratios are dynamic/static (target >= 0.7), dynamic/kiwix-serve
(target > 1.0) and signed-in/anonymous (target >= 0.5). Results go to tests/bench/results/pageview.json.
uvicorn picks httptools/uvloop only if installed; the JSON records which were used.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import HOST, Children, fetch, free_port, post_json, run_wrk, wait_until_serving  # noqa: E402
from zim_build import build_zim  # noqa: E402

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent.parent
PAGES = ROOT.parent / "shared" / "data" / "tldr" / "pages.jsonl"
LAUNCHER = BENCH / "launch_server.py"
CSRF_TOKEN = "bench0csrf0token0for0byte0checks"  # 32 characters, like secrets.token_urlsafe(24)
KIWIX_ROOT_TAG = b'<link type="root" href="">'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk measurement (default 10)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of wrk warm-up before each (default 2)")
    parser.add_argument("--rounds", type=int, default=3, help="times every row is measured, in turn (default 3)")
    parser.add_argument("--pages", type=int, default=0, help="import only the first N pages (default: all)")
    parser.add_argument("--article", default="tar", help="slug of the measured page (default tar)")
    parser.add_argument("--zim-articles", type=int, default=50, help="other pages put in the ZIM (default 50)")
    parser.add_argument("--output", type=Path, default=BENCH / "results" / "pageview.json")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (data, ZIM, logs)")
    return parser.parse_args()


def import_pages(workdir: Path, data: Path, limit: int, article: str) -> tuple[int, float]:
    """Import all pages, or the first `limit` lines plus the measured article's."""
    source = PAGES
    if limit:
        source = workdir / "pages.jsonl"
        with PAGES.open(encoding="utf-8") as src, source.open("w", encoding="utf-8") as out:
            for number, line in enumerate(src):
                if number < limit or json.loads(line)["title"].lower() == article:
                    out.write(line)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "server.cli", "import", str(source), "--data", str(data)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    took = time.perf_counter() - started
    expect(done.returncode == 0, f"commonplace import failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    with source.open(encoding="utf-8") as lines:
        return sum(1 for _ in lines), took


def start_server(children: Children, mode: str, data: Path, pwa: Path, extra: Path | None = None) -> str:
    port = free_port()
    argv = [sys.executable, str(LAUNCHER), mode, "--port", str(port), "--data", str(data), "--pwa", str(pwa)]
    if extra is not None:
        argv += ["--extra-static", str(extra)]
    children.start(mode, argv)
    base = f"http://{HOST}:{port}"
    wait_until_serving(children, mode, base + "/api/status")
    return base


def start_kiwix(children: Children, name: str, zim: Path, article: str, *flags: str) -> str:
    port = free_port()
    children.start(name, ["kiwix-serve", *flags, "--address", HOST, "--port", str(port), str(zim)])
    url = f"http://{HOST}:{port}/{zim.stem}/{article}"
    wait_until_serving(children, name, url)
    return url


def wait_for_index(base: str, timeout: float = 600) -> float:
    """Seconds until the server has indexed everything queued (its commits would empty the page cache)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        status, _, body = fetch(base + "/api/status")
        if status == 200 and json.loads(body)["index"]["pending"] == 0:
            return time.monotonic() - started
        time.sleep(0.5)
    raise RuntimeError(f"the search index was still busy after {timeout:.0f} s")


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise RuntimeError(f"check failed: {message}")


def collect_pages(base: str, article: str, count: int) -> dict[str, bytes]:
    """The article and `count` other pages, each as the server sends it to a reader with our CSRF cookie."""
    status, _, body = fetch(f"{base}/api/sync/changes?since=0&limit={count + 1}")
    expect(status == 200, f"changes feed answered {status}")
    slugs = [article] + [c["slug"] for c in json.loads(body)["changes"] if c["slug"] != article][:count]
    pages: dict[str, bytes] = {}
    for slug in slugs:
        status, headers, html = fetch(f"{base}/wiki/{slug}", {"Cookie": f"cp_csrf={CSRF_TOKEN}"})
        expect(status == 200 and headers.get("content-type", "").startswith("text/html"), f"/wiki/{slug}: {status}")
        pages[slug] = html
    return pages


@contextmanager
def stdout_to(path: Path) -> Iterator[None]:
    sys.stdout.flush()
    saved = os.dup(1)
    with path.open("wb") as log:
        os.dup2(log.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rounds: dict[str, list[dict]] = {}

    def measure(self, key: str, label: str, url: str, headers: dict[str, str] | None = None, **extra: object) -> None:
        a = self.args
        if a.warmup:
            run_wrk(url, threads=a.threads, connections=a.connections, duration=a.warmup, headers=headers)
        result = run_wrk(url, threads=a.threads, connections=a.connections, duration=a.duration, headers=headers)
        self.rounds.setdefault(key, []).append(
            {"label": label, **asdict(result), "request_headers": headers or {}, **extra})
        errors = sum(result.errors.values())
        print(f"  {label:<52} {result.rps:>9,.0f} req/s  p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:7.2f} ms"
              + (f"  ERRORS {result.errors}" if errors else ""), flush=True)

    @property
    def results(self) -> dict[str, dict]:
        """Each row's median round (by requests/s), with every round's requests/s beside it."""
        medians = {}
        for key, rounds in self.rounds.items():
            ordered = sorted(rounds, key=lambda r: r["rps"])
            medians[key] = {**ordered[(len(ordered) - 1) // 2], "rounds_rps": [round(r["rps"]) for r in rounds]}
        return medians


def ratio(results: dict[str, dict], top: str, bottom: str) -> float:
    return round(results[top]["rps"] / results[bottom]["rps"], 3)


def environment() -> dict:
    def version(pkg: str) -> str | None:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return None

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    tools = {}
    for tool, argv in {"kiwix-serve": ["kiwix-serve", "--version"], "wrk": ["wrk", "--version"]}.items():
        out = subprocess.run(argv, capture_output=True, text=True)
        tools[tool] = (out.stdout + out.stderr).strip().splitlines()[0]
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cpu": cpu, "cores": os.cpu_count(),
        "kernel": platform.release(), "python": platform.python_version(),
        "packages": {p: version(p) for p in ("litestar", "uvicorn", "servestatic", "whitenoise", "a2wsgi",
                                             "libzim", "jinja2", "apsw")},
        "uvicorn_http": "httptools" if find_spec("httptools") else "h11",
        "uvicorn_loop": "uvloop" if find_spec("uvloop") else "asyncio",
        "tools": tools,
    }


def run(args: argparse.Namespace, workdir: Path, children: Children) -> dict:
    bench = Bench(args)
    load_before = os.getloadavg()
    if load_before[0] > 0.5 * (os.cpu_count() or 1):
        print(f"warning: load average {load_before[0]:.1f} on {os.cpu_count()} cores: other work will skew the figures",
              flush=True)
    data = workdir / "data"
    article = args.article
    pwa = shutil.copytree(ROOT / "pwa", workdir / "pwa")
    print(f"Importing {'all' if not args.pages else args.pages} pages of {PAGES.name} ...", flush=True)
    imported, import_seconds = import_pages(workdir, data, args.pages, article)

    print("WhiteNoise server (create_app + WhiteNoise via a2wsgi, mounted at /static):", flush=True)
    base = start_server(children, "whitenoise", data, pwa)
    pages = collect_pages(base, article, args.zim_articles)
    html = pages[article]
    match = re.search(rb'href="(/static/css/app\.[0-9a-f]{10}\.css)"', html)
    expect(match is not None, "the page links the hashed app.css")
    css_path = match.group(1).decode()
    status, _, css = fetch(base + css_path)
    expect(status == 200 and len(css) > 0, f"{css_path} through WhiteNoise: {status}")
    for _ in range(args.rounds):
        bench.measure("css_whitenoise", "app.css, WhiteNoise 6 via a2wsgi under Litestar", base + css_path,
                      body_bytes=len(css))
    children.stop("whitenoise")

    with stdout_to(workdir / "logs" / "zim.log"):  # libzim's writer prints its progress on fd 1
        zim = build_zim(workdir / "commonplace.zim", pages, article)
    print(f"kiwix-serve ({zim.name}: {len(pages)} pages, {zim.stat().st_size:,} bytes) beside the Commonplace server",
          flush=True)
    kiwix = {}
    for key, label, flags in (("kiwix_nosearchbar", "(c) kiwix-serve --nosearchbar, same page", ("--nosearchbar",)),
                              ("kiwix_default", "(c) kiwix-serve defaults (injects its toolbar)", ())):
        url = start_kiwix(children, key, zim, article, *flags)
        status, _, body = fetch(url)
        expect(status == 200, f"kiwix-serve answered {status} for {url}")
        same = body.replace(KIWIX_ROOT_TAG, b"") == html
        kiwix[key] = (label, url, {"body_bytes": len(body), "same_bytes_but_root_tag": same})

    extra = workdir / "extra-static"
    extra.mkdir()
    (extra / f"{article}.html").write_bytes(html)
    print("Commonplace server (commonplace serve, + the saved page under /static/bench/):", flush=True)
    base = start_server(children, "commonplace", data, pwa, extra)
    index_seconds = wait_for_index(base)
    print(f"  (waited {index_seconds:.0f} s for the search index to take the imported pages)", flush=True)
    static_url = f"{base}/static/bench/{article}.html"
    page_url = f"{base}/wiki/{article}"
    returning = {"Cookie": f"cp_csrf={CSRF_TOKEN}"}
    status, headers, body = fetch(static_url)
    expect(status == 200 and body == html, "the static copy is served byte for byte")
    status, _, body = fetch(page_url, returning)
    expect(status == 200 and body == html, "the dynamic page for a returning reader equals the static copy")
    status, headers, body = fetch(page_url)
    expect(status == 200 and len(body) == len(html), "a first-time reader gets a page of the same size")
    first_visit = {"body_bytes": len(body), "sets_cookie": "set-cookie" in headers, "same_bytes": body == html}
    status, _, body = fetch(base + css_path)
    expect(status == 200 and body == css, "servestatic serves the same app.css")
    status, reply = post_json(f"{base}/api/users", {"username": "bench-reader", "password": "bench reader password 1"})
    expect(status == 201, f"signing up the benchmark reader answered {status}: {reply}")
    signed_in = {"Cookie": f"cp_csrf={CSRF_TOKEN}; cp_session={reply['token']}"}
    status, _, body = fetch(page_url, signed_in)
    expect(status == 200 and b"bench-reader" in body, "a signed-in reader sees the page under their name")
    signed_in_bytes = len(body)
    for number in range(args.rounds):
        print(f"round {number + 1} of {args.rounds}:", flush=True)
        bench.measure("dynamic_first_visit", f"(a) /wiki/{article} dynamic, first visit (no cookie)", page_url,
                      **first_visit)
        bench.measure("dynamic_returning", f"(a) /wiki/{article} dynamic, returning (cp_csrf cookie)", page_url,
                      returning, body_bytes=len(html))
        bench.measure("dynamic_signed_in", f"(a) /wiki/{article} dynamic, signed-in reader (session cookie)",
                      page_url, signed_in, body_bytes=signed_in_bytes)
        bench.measure("static_same_bytes", "(b) same bytes as a static file (servestatic)", static_url,
                      body_bytes=len(html))
        bench.measure("css_servestatic", "app.css, servestatic ASGI (as create_asgi uses it)", base + css_path,
                      body_bytes=len(css))
        for key, (label, url, extra_fields) in kiwix.items():
            bench.measure(key, label, url, **extra_fields)
    status, _, body = fetch(page_url, signed_in)
    expect(status == 200 and len(body) == signed_in_bytes, "the signed-in page is the same after the rounds")
    for name in ("commonplace", *kiwix):
        children.stop(name)

    r = bench.results
    ratios = {
        "dynamic_first_visit/static": ratio(r, "dynamic_first_visit", "static_same_bytes"),
        "dynamic_returning/static": ratio(r, "dynamic_returning", "static_same_bytes"),
        "dynamic_signed_in/static": ratio(r, "dynamic_signed_in", "static_same_bytes"),
        "dynamic_first_visit/kiwix_nosearchbar": ratio(r, "dynamic_first_visit", "kiwix_nosearchbar"),
        "dynamic_first_visit/kiwix_default": ratio(r, "dynamic_first_visit", "kiwix_default"),
        "dynamic_signed_in/kiwix_default": ratio(r, "dynamic_signed_in", "kiwix_default"),
        "dynamic_signed_in/dynamic_first_visit": ratio(r, "dynamic_signed_in", "dynamic_first_visit"),
        "css_servestatic/css_whitenoise": ratio(r, "css_servestatic", "css_whitenoise"),
    }
    return {"environment": environment(), "wrk": {"threads": args.threads, "connections": args.connections,
            "duration_s": args.duration, "warmup_s": args.warmup, "rounds": args.rounds},
            "index_wait_s": round(index_seconds, 1),
            "import": {"pages": imported, "seconds": round(import_seconds, 1)}, "article": article,
            "page_bytes": len(html), "css": {"path": css_path, "bytes": len(css)},
            "results": r, "ratios": ratios,
            "targets": {"dynamic/static": 0.7, "dynamic/kiwix": 1.0, "signed_in/anonymous": 0.5},
            "load_average": {"before": [round(x, 2) for x in load_before],
                             "after": [round(x, 2) for x in os.getloadavg()]}}


def print_report(report: dict) -> None:
    env = report["environment"]
    print(f"\n{env['date']} · {env['cpu']} · {env['cores']} cores · uvicorn {env['packages']['uvicorn']} "
          f"({env['uvicorn_http']}, {env['uvicorn_loop']}) · {env['tools']['kiwix-serve']}")
    load = report["load_average"]
    print(f"{report['import']['pages']:,} pages imported · page {report['page_bytes']:,} B · "
          f"wrk -t{report['wrk']['threads']} -c{report['wrk']['connections']} -d{report['wrk']['duration_s']}s · "
          f"load average {load['before'][0]:.1f} before, {load['after'][0]:.1f} after\n")
    print(f"{'':<60} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}  every round's req/s")
    for row in report["results"].values():
        print(f"{row['label']:<60} {row['rps']:>9,.0f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f}  "
              + ", ".join(f"{rps:,}" for rps in row["rounds_rps"]))
    print()
    for name, value in report["ratios"].items():
        print(f"  {name:<42} {value:6.2f}{verdict(name, value)}")


def verdict(name: str, value: float) -> str:
    if not name.startswith("dynamic"):
        return ""
    if name == "dynamic_signed_in/dynamic_first_visit":
        return f"  {'ok' if value >= 0.5 else 'BELOW TARGET'} (target >= 0.5)"
    if "/static" in name:
        return f"  {'ok' if value >= 0.7 else 'BELOW TARGET'} (target >= 0.7)"
    return f"  {'ok' if value > 1.0 else 'BELOW TARGET'} (target > 1.0)"


def main() -> int:
    args = parse_args()
    for tool in ("wrk", "kiwix-serve"):
        if shutil.which(tool) is None:
            print(f"{tool} is missing: apt-get install -y {'wrk' if tool == 'wrk' else 'kiwix-tools'}", file=sys.stderr)
            return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally below still kills the servers
    os.environ["COMMONPLACE_MODEL"] = "hashing"  # page views never use the model; see the docstring
    workdir = Path(tempfile.mkdtemp(prefix="commonplace-bench-"))
    (workdir / "logs").mkdir()
    children = Children(workdir / "logs")
    try:
        report = run(args, workdir, children)
    finally:
        children.close()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print_report(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
