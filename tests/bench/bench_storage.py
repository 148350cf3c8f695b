"""Storage growth: the database after importing the tldr commons, after 10,000 edits, after blanking pages,
and what `commonplace maintain` gives back (issue 6).

    python tests/bench/bench_storage.py [--edits 10000] [--blank 2000] [--model hashing]

The commons has no page deletion (history is append-only), so "deleting" is measured as blanking: an edit
that replaces a page's text with one line, which drops its search chunks and vectors. sqlite-vec's vec0 table
keeps the slots of deleted rows, and SQLite keeps freed pages, so the file does not shrink until
`commonplace maintain` rebuilds the vector table, optimizes FTS5 and vacuums; `--prune-cache` then drops the
cached vectors of text no page holds any more.
Import, reindex and maintain run through the real CLI; the edits go through `sync.apply.apply_ops` in
batches of 200, the same path a push takes.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from server.db import Database, connect  # noqa: E402
from server.maintenance import database_bytes  # noqa: E402
from server.users import Actor  # noqa: E402
from sync.apply import Policy, apply_ops  # noqa: E402

TLDR = ROOT.parent / "shared" / "data" / "tldr" / "pages.jsonl"


def cli(data: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "server.cli", *args, "--data", str(data)], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def settled_bytes(path: Path) -> int:
    """Size once the write-ahead log is folded in, so runs compare file to file."""
    conn = connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return database_bytes(path)


def table_bytes(path: Path) -> dict[str, float]:
    """MB per table and index (dbstat), the biggest first."""
    conn = connect(path, readonly=True)
    try:
        rows = conn.execute("SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC LIMIT 8")
        return {r["name"]: round(r["bytes"] / 1e6, 2) for r in rows}
    finally:
        conn.close()


def heads(db: Database) -> list[dict]:
    return db.read(lambda conn: list(conn.execute(
        "SELECT p.slug, r.uid AS rev, r.body FROM pages p JOIN revisions r ON r.id = p.head_id")))


def edit_pages(db_path: Path, count: int, blank: bool, rng: random.Random) -> float:
    """`count` edits of random pages (a sentence added to one paragraph), or blank `count` pages."""
    db = Database(db_path)
    actor = Actor(db.write(lambda conn: _bench_user(conn)), "storage-bench")
    policy = Policy(max_page_bytes=200_000)
    started = time.perf_counter()
    try:
        current = {row["slug"]: row for row in heads(db)}
        slugs = sorted(current)
        targets = rng.sample(slugs, count) if blank else [rng.choice(slugs) for _ in range(count)]
        for start in range(0, len(targets), 200):
            ops = []
            for slug in dict.fromkeys(targets[start : start + 200]):  # one op per page per batch
                page = current[slug]
                if blank:
                    body = "This page was blanked.\n"
                else:
                    parts = page["body"].split("\n\n")
                    i = rng.randrange(len(parts))
                    parts[i] += f" Edited {uuid.uuid4().hex[:8]}."
                    body = "\n\n".join(parts)
                ops.append({"op_id": str(uuid.uuid4()), "slug": slug, "base_rev": page["rev"], "body": body,
                            "summary": "bench"})
            for op, result in zip(ops, db.write(apply_ops, ops, actor, policy), strict=True):
                assert result["status"] == "applied", result
                current[op["slug"]] = {"slug": op["slug"], "rev": result["rev"], "body": op["body"]}
    finally:
        db.close()
    return time.perf_counter() - started


def _bench_user(conn) -> int:
    conn.execute("INSERT OR IGNORE INTO users (uid, username, password_hash, role, created_at) "
                 "VALUES ('bench', 'storage-bench', '!', 'editor', '2026-01-01T00:00:00Z')")
    return next(iter(conn.execute("SELECT id FROM users WHERE username = 'storage-bench'")))["id"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=10_000)
    parser.add_argument("--blank", type=int, default=2_000)
    parser.add_argument("--model", default="hashing")
    args = parser.parse_args()
    env = {**os.environ, "COMMONPLACE_MODEL": args.model}
    rng = random.Random(6)
    figures: dict[str, object] = {"model": args.model}
    with tempfile.TemporaryDirectory(prefix="cp-storage-") as tmp:
        data = Path(tmp) / "data"
        path = data / "commonplace.db"
        steps: list[tuple[str, float]] = []
        started = time.perf_counter()
        cli(data, env, "import", str(TLDR))
        cli(data, env, "reindex")
        steps.append(("imported and indexed the tldr commons", time.perf_counter() - started))
        figures["after_import_mb"] = round(settled_bytes(path) / 1e6, 1)
        figures["tables_after_import_mb"] = table_bytes(path)
        took = edit_pages(path, args.edits, blank=False, rng=rng)
        cli(data, env, "reindex")
        steps.append((f"{args.edits} edits", took))
        figures[f"after_{args.edits}_edits_mb"] = round(settled_bytes(path) / 1e6, 1)
        took = edit_pages(path, args.blank, blank=True, rng=rng)
        cli(data, env, "reindex")
        steps.append((f"blanked {args.blank} pages", took))
        figures[f"after_blanking_{args.blank}_mb"] = round(settled_bytes(path) / 1e6, 1)
        figures["tables_before_maintain_mb"] = table_bytes(path)
        started = time.perf_counter()
        figures["maintain_output"] = cli(data, env, "maintain")
        steps.append(("commonplace maintain", time.perf_counter() - started))
        figures["after_maintain_mb"] = round(settled_bytes(path) / 1e6, 1)
        figures["tables_after_maintain_mb"] = table_bytes(path)
        started = time.perf_counter()
        figures["maintain_prune_cache_output"] = cli(data, env, "maintain", "--prune-cache")
        steps.append(("commonplace maintain --prune-cache", time.perf_counter() - started))
        figures["after_prune_cache_mb"] = round(settled_bytes(path) / 1e6, 1)
        figures["steps_s"] = {name: round(seconds, 1) for name, seconds in steps}
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
