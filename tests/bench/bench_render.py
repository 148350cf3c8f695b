"""Rendering cost of a page of links against a page of prose, and the same with the code before issue 11.

    python tests/bench/bench_render.py [--repeat 3] [--old-ref 176c4b4] [--no-old]

Three costs, each for a 200 kB page of wiki links (`[[a0]] [[a1]] ...`, 19,191 links, none of them existing)
and a 200 kB page of prose (paragraphs of plain sentences):

- render: `server.render.render`, Markdown to sanitised HTML, paid once per saved revision;
- marking: `mark_missing_links` over that HTML, paid on every signed-in view, on every anonymous view after a
  write, and for every page of an `/api/bulk` batch;
- view: a whole signed-in `GET /wiki/{slug}` and `GET /api/bulk?scope=slugs` through the app (Litestar test
  client, a real SQLite file in a temporary folder).

Also the probe's 71 kB page of 8,000 links and pages that used to cost their size squared: `[[` repeated and
`[[a ` repeated (100 kB each), 5,000 headings `## a`. Unless `--no-old`, render and marking also run once with
`server/render.py` as it was at `--old-ref` (`git show REF:server/render.py`, default: the last commit before
the fix), in the same process, for a before/after ratio (about four minutes on a busy 2-core machine).
Times are the best of `--repeat` runs. Writes results/render.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from server import render as current  # noqa: E402

PAGE_BYTES = 200_000
# The last commit before the one-pass marking (issue 11 item 1).
BEFORE_FIX = "176c4b4"


def links_page(size: int) -> str:
    words, total, n = [], 0, 0
    while True:
        word = f"[[a{n}]]"
        if total + len(word) + 1 > size:
            return " ".join(words)
        words.append(word)
        total += len(word) + 1
        n += 1


def prose_page(size: int) -> str:
    paragraph = ("Water from the village well is drawn each morning and carried home in clay jars. " * 6).strip()
    return ((paragraph + "\n\n") * (size // len(paragraph) + 1))[:size]


def load_old(ref: str) -> ModuleType:
    source = subprocess.run(["git", "show", f"{ref}:server/render.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "render_before.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("render_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def best_of(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def measure_functions(module: ModuleType, pages: dict[str, str], repeat: int) -> dict[str, dict[str, float]]:
    out = {}
    for name, body in pages.items():
        html, links = module.render(body)
        out[name] = {
            "render_s": best_of(repeat, lambda body=body: module.render(body)),
            "marking_s": best_of(repeat, lambda html=html, links=links: module.mark_missing_links(html, set(links))),
            "links": len(links),
            "html_bytes": len(html.encode()),
        }
        print(f"  {name:<22} render {out[name]['render_s'] * 1000:9.1f} ms   "
              f"marking {out[name]['marking_s'] * 1000:9.1f} ms   ({len(links)} links)", flush=True)
    return out


def measure_views(pages: dict[str, str], repeat: int) -> dict[str, dict[str, float]]:
    """Signed-in page views and bulk batches through the whole app, as a reader pays them."""
    from litestar.testing import TestClient

    from server.app import create_app
    from server.settings import Settings

    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder, \
            TestClient(create_app(Settings(data=Path(folder) / "data", model="hashing"))) as client:
        reply = client.post("/api/users", json={"username": "bench", "password": "correct horse battery"})
        reply.raise_for_status()
        token = reply.json()["token"]
        ops = [{"op_id": f"bench-{name}", "type": "edit", "slug": None, "title": name, "base_rev": None,
                "body": body, "summary": "bench"} for name, body in pages.items()]
        reply = client.post("/api/sync/push", json={"device_id": "bench", "ops": ops},
                            headers={"Authorization": f"Bearer {token}"})
        reply.raise_for_status()
        slugs = {name: result["slug"] for name, result in zip(pages, reply.json()["results"], strict=True)}
        for name, slug in slugs.items():
            def view(slug: str = slug) -> None:
                client.get(f"/wiki/{slug}").raise_for_status()

            def bulk(slug: str = slug) -> None:
                client.get("/api/bulk", params={"scope": "slugs", "slugs": slug}).raise_for_status()

            view()
            out[name] = {"view_s": best_of(repeat, view), "bulk_s": best_of(repeat, bulk)}
            print(f"  {name:<22} signed-in view {out[name]['view_s'] * 1000:9.1f} ms   "
                  f"bulk {out[name]['bulk_s'] * 1000:9.1f} ms", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--old-ref", default=BEFORE_FIX, help="commit whose server/render.py is 'before'")
    parser.add_argument("--no-old", action="store_true", help="skip the old code (its worst cases take minutes)")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "render.json")
    args = parser.parse_args()

    main_pages = {"links 200 kB": links_page(PAGE_BYTES), "prose 200 kB": prose_page(PAGE_BYTES),
                  "links 71 kB (8,000)": " ".join(f"[[a{n}]]" for n in range(8000))}
    # 100 kB each: the code before issue 11 takes about a minute on the three together.
    worst_cases = {"'[[' x 50,000": "[[" * 50_000, "'[[a ' x 25,000": "[[a " * 25_000,
                   "'## a' x 5,000": "## a\n" * 5_000}
    pages = {**main_pages, **worst_cases}
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} on {os.cpu_count()} cores", flush=True)
    print("now:", flush=True)
    now = measure_functions(current, pages, args.repeat)
    before = {}
    if not args.no_old:
        print(f"before ({args.old_ref}, one run each):", flush=True)
        before = measure_functions(load_old(args.old_ref), pages, 1)
    print("whole app, now:", flush=True)
    views = measure_views({k: main_pages[k] for k in ("links 200 kB", "prose 200 kB")}, args.repeat)

    links, prose = "links 200 kB", "prose 200 kB"
    ratios = {
        "render links/prose": now[links]["render_s"] / now[prose]["render_s"],
        "view links/prose": views[links]["view_s"] / views[prose]["view_s"],
        "bulk links/prose": views[links]["bulk_s"] / views[prose]["bulk_s"],
    }
    for name in pages:
        if name in before:
            for cost in ("render_s", "marking_s") if now[name]["links"] else ("render_s",):
                ratios[f"{name} {cost[:-2]} before/now"] = before[name][cost] / now[name][cost]
    print("ratios (issue 11 target for links/prose: <= 5):", flush=True)
    for name, value in ratios.items():
        print(f"  {name:<40} {value:8.1f}x", flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({
        "now": now, "before": before, "before_ref": None if args.no_old else args.old_ref, "views": views,
        "ratios": ratios, "repeat": args.repeat, "load_before": load, "load_after": os.getloadavg(),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
    }, indent=2), encoding="utf-8")
    print(f"wrote {args.output}", flush=True)


if __name__ == "__main__":
    main()
