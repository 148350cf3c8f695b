"""Peak server memory under big list replies (issue 11, item 2): the changes feed, conflicts and bulk.

    python tests/bench/bench_memory.py [--pages 300] [--page-kb 190] [--conflicts 60] [--tree DIR]

Starts `commonplace serve` from `--tree` (default: this checkout; pass a `git worktree` of an older commit to
measure it with the same virtual environment) on a free 127.0.0.1 port with a fresh data directory (rate
limits off, the hashing embedder), imports `--pages` pages of about `--page-kb` kB of prose, and gives one
account `--conflicts` open conflicts on those pages (each holds four copies of a page: base, head, ours and
the proposal). Once the search index has caught up it runs three phases, each on a freshly started server
(Python keeps memory it once used), resetting its peak RSS (`/proc/PID/clear_refs`) before and reading
`VmHWM` from `/proc/PID/status` after:

- changes: three `GET /api/sync/changes?since=0&limit=1000&include=body,html` at once, no account;
- conflicts: `GET /api/sync/conflicts` of that account;
- bulk: `GET /api/bulk?scope=all&limit=500&source=true`.

Replies are read uncompressed (`Accept-Encoding: identity`) and counted, not kept. For each phase it prints
the first reply's size, items and `more`, and then follows the cursor to the end (one client) to check that
every item arrives once and to count the replies it took.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from loadgen import NO_LIMITS, serving

ROOT = Path(__file__).resolve().parents[2]
WORDS = ("river stone lantern market harvest copper window garden bridge letter winter signal ledger meadow "
         "harbour thread engine candle orchard compass valley mirror tunnel saddle beacon quarry anchor").split()


def prose(rng: random.Random, size: int, tag: str) -> str:
    """About `size` bytes of paragraphs; the first paragraph is the one both sides of a conflict change."""
    paragraphs = [f"Opening paragraph of {tag}."]
    total = 0
    while total < size:
        sentence_count = rng.randint(3, 8)
        paragraph = " ".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))).capitalize() + "."
                             for _ in range(sentence_count))
        paragraphs.append(paragraph)
        total += len(paragraph) + 2
    return "\n\n".join(paragraphs)


def rss_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def reset_peak(pid: int) -> None:
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux ≥ 4.0), so each phase has its own peak.
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def get_counted(url: str, params: dict, headers: dict) -> dict:
    """GET a JSON reply, counting its bytes; returns the size, the time and the parsed reply."""
    started = time.perf_counter()
    with httpx.Client(timeout=600, headers={"Accept-Encoding": "identity", **headers}) as client:
        reply = client.get(url, params=params)
    return {"status": reply.status_code, "bytes": len(reply.content), "seconds": time.perf_counter() - started,
            "json": reply.json() if reply.status_code == 200 else reply.text[:300]}


def follow(url: str, params: dict, headers: dict, items: str, key: str, cursor_param: str,
           cursor_field: str) -> dict:
    """Follow `more` and the cursor to the end; count replies, items, distinct items and the largest reply."""
    seen: list[str] = []
    replies, largest = 0, 0
    params = dict(params)
    while True:
        got = get_counted(url, params, headers)
        if got["status"] != 200:
            return {"error": got["status"], "detail": got["json"]}
        replies += 1
        largest = max(largest, got["bytes"])
        body = got["json"]
        seen += [item[key] for item in body[items]]
        if not body.get("more") or cursor_field not in body:
            break
        params[cursor_param] = body[cursor_field]
    return {"replies": replies, "items": len(seen), "distinct": len(set(seen)), "largest_reply_bytes": largest}


def phase(pid: int, name: str, calls: list[tuple[str, dict, dict]], items: str) -> dict:
    reset_peak(pid)
    before = rss_kb(pid, "VmRSS")
    with ThreadPoolExecutor(len(calls)) as pool:
        results = list(pool.map(lambda call: get_counted(*call), calls))
    time.sleep(0.5)
    peak = rss_kb(pid, "VmHWM")
    first = results[0]
    body = first["json"] if isinstance(first["json"], dict) else {}
    return {"phase": name, "requests": len(calls), "statuses": [r["status"] for r in results],
            "rss_before_mb": round(before / 1024, 1), "peak_rss_mb": round(peak / 1024, 1),
            "reply_mb": [round(r["bytes"] / 1e6, 1) for r in results],
            "seconds": [round(r["seconds"], 1) for r in results],
            "items_in_first_reply": len(body.get(items, [])), "more": body.get("more")}


def make_conflicts(url: str, count: int, pages: list[dict], rng: random.Random) -> str:
    """An account with `count` open conflicts: another account moves each page's first line first."""
    with httpx.Client(base_url=url, timeout=600) as client:
        # Plain calls, not the client: a session cookie left in it would make the next call need a CSRF token.
        tokens = [httpx.post(url + "/api/users", json={"username": name, "password": "long enough"}).json()["token"]
                  for name in ("mover", "conflicted")]
        for number, token in enumerate(tokens):
            for start in range(0, count, 4):  # four 190 kB ops a push stay under the 1 MB request limit
                ops = []
                for page in pages[start:start + min(4, count - start)]:
                    body = page["body"].split("\n\n", 1)
                    line = f"First line as {'the mover' if number == 0 else 'the author'} {rng.random()} wrote it."
                    ops.append({"op_id": str(uuid.uuid4()), "slug": page["slug"], "base_rev": page["rev"],
                                "body": line + "\n\n" + body[1], "summary": "bench"})
                reply = client.post("/api/sync/push", json={"device_id": "bench", "ops": ops},
                                    headers={"Authorization": f"Bearer {token}"})
                statuses = {r["status"] for r in reply.json()["results"]}
                expected = {"applied"} if number == 0 else {"conflict"}
                if statuses != expected:
                    raise RuntimeError(f"push {number}: {reply.json()['results'][0]}")
        return tokens[1]


def wait_for_index(url: str, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    pending = -1
    while time.monotonic() < deadline:
        pending = httpx.get(url + "/api/status", timeout=30).json()["index"]["pending"]
        if pending == 0:
            return 0
        time.sleep(2)
    return pending


def run(args: argparse.Namespace, tmp: Path) -> dict:
    rng = random.Random(11)
    data, source = tmp / "data", tmp / "pages.jsonl"
    with source.open("w", encoding="utf-8") as out:
        for number in range(args.pages):
            title = f"Big page {number:03d}"
            out.write(json.dumps({"title": title, "text": prose(rng, args.page_kb * 1000, title)}) + "\n")
    env = {**os.environ, "COMMONPLACE_MODEL": "hashing", **NO_LIMITS}
    subprocess.run([sys.executable, "-m", "server.cli", "import", str(source), "--data", str(data)],
                   cwd=args.tree, env=env, check=True, capture_output=True)
    with serving(args.tree, data, env) as (url, _):
        listing = httpx.get(url + "/api/sync/changes", params={"since": 0, "limit": 1000}, timeout=60).json()
        slugs = [c["slug"] for c in listing["changes"] if c["slug"].startswith("big-page-")]
        pages = [httpx.get(f"{url}/api/pages/{slug}", params={"fields": "slug,rev,body"}, timeout=60).json()
                 for slug in slugs[:args.conflicts]]
        token = make_conflicts(url, args.conflicts, pages, rng)
        del pages
        pending = wait_for_index(url, args.index_wait)
    mine = {"Authorization": f"Bearer {token}"}
    feed = ("/api/sync/changes", {"since": 0, "limit": 1000, "include": "body,html"}, {})
    conflicts = ("/api/sync/conflicts", {}, mine)
    bulk = ("/api/bulk", {"scope": "all", "limit": 500, "source": "true"}, {})
    phases = []
    # A fresh server for each phase: Python keeps memory it once used, which would hide the next phase's peak.
    for name, calls, items in (("changes x3", [feed] * 3, "changes"), ("conflicts", [conflicts], "conflicts"),
                               ("bulk", [bulk], "pages")):
        with serving(args.tree, data, env) as (url, pid):
            time.sleep(2)
            phases.append(phase(pid, name, [(url + path, params, headers) for path, params, headers in calls],
                                items))
    with serving(args.tree, data, env) as (url, _):
        followed = {"changes": follow(url + feed[0], *feed[1:], "changes", "slug", "since", "last_seq"),
                    "conflicts": follow(url + conflicts[0], *conflicts[1:], "conflicts", "id", "after", "cursor"),
                    "bulk": follow(url + bulk[0], *bulk[1:], "pages", "slug", "after", "cursor")}
    tree = subprocess.run(["git", "-C", str(args.tree), "log", "-1", "--format=%h %s"], capture_output=True,
                          text=True).stdout.strip()
    return {"tree": str(args.tree), "commit": tree, "pages": args.pages, "page_kb": args.page_kb,
            "conflicts": args.conflicts, "index_pending_at_start": pending,
            "load_average": os.getloadavg(), "phases": phases, "followed_to_the_end": followed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--page-kb", type=int, default=190)
    parser.add_argument("--conflicts", type=int, default=60)
    parser.add_argument("--tree", type=Path, default=ROOT)
    parser.add_argument("--index-wait", type=float, default=600, help="Seconds to wait for the index first.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cp-memory-") as tmp:
        report = run(args, Path(tmp))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
