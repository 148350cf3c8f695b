"""Sync over loopback against a real server: push throughput, and the bytes a device needs to refresh.

    python tests/bench/bench_sync_push.py [--ops 2000] [--pages 500] [--changed 50]

Starts `commonplace serve` (hashing model, no starter pages) on a free 127.0.0.1 port with a fresh data
directory, then:

1. Push throughput: `--ops` page creations pushed one op per request (what a phone replaying its outbox
   does) and in batches of 50, then stale-base edits that merge (one op per request). Every op is a
   durable transaction (synchronous=FULL). The merging edits change one paragraph each of a 20-paragraph
   page, from a base 3 revisions behind the head.
2. Refresh: `--pages` tldr pages (../shared/data/tldr/pages.jsonl) are pushed; a device saves them all and
   keeps the feed's `last_seq`. Another account then edits `--changed` of them (one more example line each).
   The device refreshes with `GET /api/sync/changes?since=last_seq&include=body,html` (gzip) and the script
   counts the bytes it downloads (body on the wire plus response headers) against the gzip size of the
   changed pages (each page's `{slug, title, rev, body, html}` gzipped on its own, as a device would fetch
   them one by one; also all of them in one gzip stream, the floor for any protocol). The same is measured
   for `include=body` against the gzipped Markdown alone.
Writes results/sync_push.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from loadgen import NO_LIMITS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PAGES = ROOT.parent / "shared" / "data" / "tldr" / "pages.jsonl"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "COMMONPLACE_MODEL": "hashing", "COMMONPLACE_SEED": "false", **NO_LIMITS}
    process = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--data", str(data)],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/api/status", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the server did not start within 60 s")


def account(url: str) -> httpx.Client:
    reply = httpx.post(url + "/api/users", json={"username": "b" + uuid.uuid4().hex[:8], "password": "long enough"})
    reply.raise_for_status()
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {reply.json()['token']}"}, timeout=60)


def push(client: httpx.Client, ops: list[dict]) -> list[dict]:
    reply = client.post("/api/sync/push", json={"device_id": "bench", "ops": ops})
    reply.raise_for_status()
    return reply.json()["results"]


def throughput(client: httpx.Client, ops: list[dict], batch: int) -> float:
    started = time.perf_counter()
    for start in range(0, len(ops), batch):
        results = push(client, ops[start : start + batch])
        assert all(r["status"] in ("applied", "merged") for r in results), results
    return len(ops) / (time.perf_counter() - started)


def merge_throughput(client: httpx.Client, count: int, paragraphs: int = 20, behind: int = 3) -> float:
    """Edits of a 20-paragraph page, each made on a base `behind` revisions older than the head: all merge."""
    def text(edits: dict[int, int]) -> str:
        return "\n\n".join(f"Paragraph {p} about the river and its mills" + (f", edit {edits[p]}." if p in edits
                             else ".") for p in range(paragraphs)) + "\n"

    [created] = push(client, [{"op_id": str(uuid.uuid4()), "title": "Merge bench", "base_rev": None,
                               "body": text({})}])
    history = [(created["rev"], {})]  # (rev, which paragraph carries which edit) of every revision
    started = time.perf_counter()
    for i in range(count):
        base_rev, base_edits = history[max(0, len(history) - 1 - behind)]
        ours = {**base_edits, i % paragraphs: i}
        [result] = push(client, [{"op_id": str(uuid.uuid4()), "slug": "merge-bench", "base_rev": base_rev,
                                  "body": text(ours)}])
        assert result["status"] in ("applied", "merged"), result
        history.append((result["rev"], {**history[-1][1], i % paragraphs: i}))
    return count / (time.perf_counter() - started)


def wire_bytes(reply: httpx.Response) -> int:
    """What crossed the network: the (compressed) body and the header lines."""
    headers = sum(len(k) + len(v) + 4 for k, v in reply.headers.raw) + len("HTTP/1.1 200 OK\r\n\r\n")
    return reply.num_bytes_downloaded + headers


def refresh(url: str, pages: int, changed: int) -> dict[str, object]:
    writer, editor = account(url), account(url)
    records = [json.loads(line) for line in PAGES.open(encoding="utf-8")]
    ops = [{"op_id": str(uuid.uuid4()), "title": f"{r['title']} ({r['platform']})", "base_rev": None,
            "body": r["text"]} for r in records]
    saved: list[tuple[dict, dict]] = []  # (op, result) of the pages the device keeps
    for start in range(0, len(ops), 100):
        batch = ops[start : start + 100]
        saved += [(op, r) for op, r in zip(batch, push(writer, batch), strict=True) if r["status"] == "applied"]
        if len(saved) >= pages:
            break
    saved = saved[:pages]
    last_seq, more = 0, True
    while more:  # the device's first full sync, which it remembers as its cursor
        feed = httpx.get(url + "/api/sync/changes", params={"since": last_seq, "limit": 1000}).json()
        last_seq, more = feed["last_seq"], feed["more"]
    random.seed(5)
    edits = []
    for op, result in random.sample(saved, changed):
        body = op["body"].rstrip("\n") + "\n\n- Show the version:\n\n`tool --version`\n"
        edits.append({"op_id": str(uuid.uuid4()), "slug": result["slug"], "base_rev": result["rev"],
                      "body": body, "summary": "version example"})
    push(editor, edits)
    figures: dict[str, object] = {"pages": len(saved), "changed": changed}
    with httpx.Client(base_url=url, headers={"Accept-Encoding": "gzip"}, timeout=60) as device:
        for include, fields in (("body,html", ("slug", "title", "rev", "body", "html")), ("body", ("slug", "title",
                                                                                                 "rev", "body"))):
            downloaded, seen, cursor, more = 0, [], last_seq, True
            while more:
                reply = device.get("/api/sync/changes", params={"since": cursor, "limit": 100, "include": include})
                downloaded += wire_bytes(reply)
                data = reply.json()
                seen += data["changes"]
                cursor, more = data["last_seq"], data["more"]
            assert sorted(c["slug"] for c in seen) == sorted(e["slug"] for e in edits)
            changed_pages = [json.dumps({name: change[name] for name in fields}).encode() for change in seen]
            one_by_one = sum(len(gzip.compress(page, 6)) for page in changed_pages)
            together = len(gzip.compress(b"\n".join(changed_pages), 6))
            figures[include] = {"downloaded": downloaded, "gzip_changed_pages": one_by_one,
                                "gzip_changed_pages_together": together, "ratio": round(downloaded / one_by_one, 3),
                                "ratio_together": round(downloaded / together, 3)}
        naive = sum(wire_bytes(device.get(f"/api/pages/{e['slug']}")) for e in edits)
        figures["fifty_page_fetches_uncompressed"] = naive
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--changed", type=int, default=50)
    parser.add_argument("--output", type=Path, default=HERE / "results" / "sync_push.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        process, url = start_server(Path(folder) / "data")
        try:
            client = account(url)
            ops = [{"op_id": str(uuid.uuid4()), "title": f"Push {i}", "base_rev": None, "body": f"Page {i}.\n"}
                   for i in range(2 * args.ops)]
            single = throughput(client, ops[: args.ops], 1)
            batched = throughput(client, ops[args.ops :], 50)
            merged = merge_throughput(client, min(args.ops, 500))
            figures = refresh(url, args.pages, args.changed)
        finally:
            process.kill()
            process.wait()
    print(f"push: {single:,.0f} ops/s one op per request, {batched:,.0f} ops/s in batches of 50, "
          f"{merged:,.0f} ops/s edits 3 revisions stale that merge (one per request)")
    for include in ("body,html", "body"):
        row = figures[include]
        print(f"refresh {figures['changed']} of {figures['pages']} pages, include={include}: {row['downloaded']:,} B "
              f"downloaded vs {row['gzip_changed_pages']:,} B gzip of the changed pages = {row['ratio']:.2f}x "
              f"(vs {row['gzip_changed_pages_together']:,} B all in one gzip: {row['ratio_together']:.2f}x)")
    print(f"(the same 50 pages fetched one by one from /api/pages, uncompressed: "
          f"{figures['fifty_page_fetches_uncompressed']:,} B)")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"push_ops_per_s": {"single": single, "batch_50": batched, "merged": merged},
                                       "refresh": figures}, indent=2) + "\n")


if __name__ == "__main__":
    main()
