"""Load: 200 concurrent readers and 20 concurrent editors against a real server over loopback (issue 6).

    python tests/bench/bench_load.py [--seconds 60] [--readers 200] [--editors 20] [--pages 1000]
    python tests/bench/bench_load.py --open-loop 100,200,400 [--seconds 20] [--pages 1000]

Starts `commonplace serve` on a free 127.0.0.1 port with a fresh data directory (rate limits off, the
hashing embedder), imports the first `--pages` tldr pages, then runs readers (page views, the page API,
history, search, recent changes) and editors (each edits its own pages and, every fifth edit, a page all
editors share, so merges and conflicts happen) for `--seconds`. Afterwards every acknowledged edit must be in
the history (its op id on exactly one revision, or a stored conflict), and nothing may have failed.
Prints p50/p95/p99 per endpoint. The load generator shares the 2 cores with the server: figures are a floor.

`--open-loop RATES` runs open-loop instead (issue 11; see open_loop.py): for each rate in turn, `--seconds`
of Poisson arrivals at that many requests a second, each sent on schedule whatever is still waiting, of
anonymous page views 55%, signed-in page views 20% (20 accounts with a session cookie), searches 15% and
pushes 10% (`--editors` accounts, one line of their own page each); latency runs from the scheduled time,
and an answer not there 10 s after it counts as an error (`timeout`). The generator runs on uvloop with its
own small HTTP/1.1 client over `--connections` keep-alive connections (loadgen.RawConnections). Prints, per
rate, p50/p95/p99/max, errors and how late the generator itself was in sending (`send_lag_p99_ms`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

import httpx
import uvloop
from loadgen import NO_LIMITS, serving
from open_loop import make_actors, run_open_loop

ROOT = Path(__file__).resolve().parents[2]
TLDR = ROOT.parent / "shared" / "data" / "tldr" / "pages.jsonl"
QUERIES = ["list files", "compress a folder", "network", "git commit", "docker", "find text", "disk usage",
           "copy", "process", "archive"]


def percentile(sorted_seconds: list[float], q: float) -> float:
    return round(sorted_seconds[min(len(sorted_seconds) - 1, int(q * len(sorted_seconds)))] * 1000, 1)


class Stats:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []

    def record(self, endpoint: str, seconds: float, status: int, ok: set[int]) -> None:
        self.latencies[endpoint].append(seconds)
        if status not in ok:
            self.errors.append(f"{endpoint}: {status}")

    def table(self) -> list[dict[str, object]]:
        rows = []
        for endpoint, values in sorted(self.latencies.items()):
            values.sort()
            rows.append({"endpoint": endpoint, "requests": len(values), "p50_ms": percentile(values, 0.50),
                         "p95_ms": percentile(values, 0.95), "p99_ms": percentile(values, 0.99)})
        return rows


async def timed(stats: Stats, client: httpx.AsyncClient, endpoint: str, method: str, url: str,
                ok: frozenset[int] = frozenset({200}), **kwargs) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        reply = await client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        stats.errors.append(f"{endpoint}: {type(exc).__name__}")
        return None
    stats.record(endpoint, time.perf_counter() - started, reply.status_code, set(ok))
    return reply


async def reader(stats: Stats, url: str, slugs: list[str], stop: float, seed: int) -> None:
    # One client (one connection) per reader, like a browser: one shared pool of 200 connections made the
    # generator, not the server, the bottleneck (httpx's pool scans its connections on every request).
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await read_until(stats, client, slugs, stop, random.Random(seed))


async def read_until(stats: Stats, client: httpx.AsyncClient, slugs: list[str], stop: float,
                     rng: random.Random) -> None:
    while time.monotonic() < stop:
        slug = rng.choice(slugs)
        roll = rng.random()
        if roll < 0.45:
            await timed(stats, client, "GET /wiki/{slug}", "GET", f"/wiki/{slug}")
        elif roll < 0.65:
            await timed(stats, client, "GET /api/pages/{slug}", "GET", f"/api/pages/{slug}")
        elif roll < 0.75:
            await timed(stats, client, "GET /wiki/{slug}/history", "GET", f"/wiki/{slug}/history")
        elif roll < 0.90:
            await timed(stats, client, "GET /api/search", "GET", "/api/search",
                        params={"q": rng.choice(QUERIES), "mode": rng.choice(["hybrid", "lexical"])})
        else:
            await timed(stats, client, "GET /changes", "GET", "/changes")


async def editor(stats: Stats, url: str, number: int, stop: float, acked: dict[str, dict]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        reply = await client.post("/api/users", json={"username": f"editor{number}", "password": "long enough"})
        client.headers["Authorization"] = f"Bearer {reply.json()['token']}"
        own = {"slug": None, "rev": None}
        create = {"op_id": str(uuid.uuid4()), "base_rev": None, "title": f"Load page {number}", "body": "Start.\n"}
        made = await client.post("/api/sync/push", json={"ops": [create]})
        first = made.json()["results"][0]
        own.update(slug=first["slug"], rev=first["rev"])
        acked[first["op_id"]] = first
        count = 0
        while time.monotonic() < stop:
            count += 1
            if count % 5 == 0:  # the shared page: its head moves under everyone, so edits merge or conflict
                page = (await client.get("/api/pages/shared-load-page")).json()
                paragraphs = page["body"].split("\n\n")
                paragraphs[number % len(paragraphs)] += f" Editor {number} edit {count}."
                op = {"op_id": str(uuid.uuid4()), "slug": "shared-load-page", "base_rev": page["rev"],
                      "body": "\n\n".join(paragraphs), "summary": f"shared edit {count}"}
            else:
                op = {"op_id": str(uuid.uuid4()), "slug": own["slug"], "base_rev": own["rev"],
                      "body": f"Start.\n\nEdit {count} by editor {number}.\n", "summary": f"edit {count}"}
            reply = await timed(stats, client, "POST /api/sync/push", "POST", "/api/sync/push",
                                json={"device_id": f"load-{number}", "ops": [op]})
            if reply is None or reply.status_code != 200:
                continue
            result = reply.json()["results"][0]
            if result["status"] not in ("applied", "merged", "conflict"):
                stats.errors.append(f"push: {result}")
                continue
            acked[result["op_id"]] = result
            if op["slug"] == own["slug"]:
                own["rev"] = result["rev"]


def check_history(db_path: Path, acked: dict[str, dict]) -> dict[str, int]:
    sys.path.insert(0, str(ROOT))
    from server.db import connect

    conn = connect(db_path, readonly=True)
    try:
        revisions = {r["op_id"]: r["n"] for r in conn.execute(
            "SELECT op_id, count(*) AS n FROM revisions WHERE op_id IS NOT NULL GROUP BY op_id")}
        conflicts = {r["op_id"] for r in conn.execute("SELECT op_id FROM conflicts")}
    finally:
        conn.close()
    missing = []
    for op_id, result in acked.items():
        if result["status"] == "conflict":
            if op_id not in conflicts:
                missing.append(op_id)
        elif result.get("unchanged"):
            continue
        elif revisions.get(op_id) != 1:
            missing.append(op_id)
    by_status: dict[str, int] = defaultdict(int)
    for result in acked.values():
        by_status[result["status"]] += 1
    return {"acknowledged": len(acked), "missing_from_history": len(missing), **by_status}


async def run(url: str, args: argparse.Namespace) -> tuple[Stats, dict[str, dict]]:
    stats = Stats()
    acked: dict[str, dict] = {}
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        listing = (await client.get("/api/sync/changes", params={"since": 0, "limit": 1000})).json()
        slugs = [c["slug"] for c in listing["changes"]]
        token = (await client.post("/api/users", json={"username": "setup", "password": "long enough"})).json()["token"]
        body = "\n\n".join(f"Shared paragraph {p}." for p in range(args.editors))
        await client.post("/api/sync/push", headers={"Authorization": f"Bearer {token}"}, json={"ops": [
            {"op_id": "shared", "title": "Shared load page", "base_rev": None, "body": body}]})
        stop = time.monotonic() + args.seconds
        tasks = [reader(stats, url, slugs, stop, seed) for seed in range(args.readers)]
        tasks += [editor(stats, url, number, stop, acked) for number in range(args.editors)]
        await asyncio.gather(*tasks)
    return stats, acked


def open_loop(url: str, args: argparse.Namespace) -> None:
    rates = [float(rate) for rate in args.open_loop.split(",")]
    listing = httpx.get(url + "/api/sync/changes", params={"since": 0, "limit": 1000}, timeout=60).json()
    slugs = [c["slug"] for c in listing["changes"]]
    load_before = os.getloadavg()
    actors = make_actors(url, readers=20, editors=args.editors, connections=args.connections)
    # uvloop: the generator's own CPU per request is what decides whether it keeps to its schedule.
    rows = uvloop.run(run_open_loop(actors, slugs, rates, args.seconds, pause=3))
    print(json.dumps({"mode": "open loop", "pages": args.pages, "seconds_per_rate": args.seconds,
                      "load_average_before": load_before, "load_average_after": os.getloadavg(), "rates": rows},
                     indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--readers", type=int, default=200)
    parser.add_argument("--editors", type=int, default=20)
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--open-loop", default="", help="Arrival rates per second, e.g. 100,200,400.")
    parser.add_argument("--connections", type=int, default=256, help="Open loop: connections it may use.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cp-load-") as tmp:
        data = Path(tmp) / "data"
        source = Path(tmp) / "pages.jsonl"
        with TLDR.open(encoding="utf-8") as lines, source.open("w", encoding="utf-8") as out:
            for _, line in zip(range(args.pages), lines, strict=False):
                out.write(line)
        env = {**os.environ, "COMMONPLACE_MODEL": "hashing", **NO_LIMITS}
        subprocess.run([sys.executable, "-m", "server.cli", "import", str(source), "--data", str(data)],
                       cwd=ROOT, env=env, check=True, capture_output=True)
        with serving(ROOT, data, env) as (url, _):
            if args.open_loop:
                open_loop(url, args)
                return
            started = time.perf_counter()
            stats, acked = asyncio.run(run(url, args))
            took = time.perf_counter() - started
        history = check_history(data / "commonplace.db", acked)
    requests = sum(len(v) for v in stats.latencies.values())
    report = {"seconds": args.seconds, "readers": args.readers, "editors": args.editors, "pages": args.pages,
              "requests": requests, "requests_per_s": round(requests / took, 1), "errors": len(stats.errors),
              "first_errors": stats.errors[:10], "history": history, "endpoints": stats.table()}
    print(json.dumps(report, indent=2))
    if stats.errors or history["missing_from_history"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
