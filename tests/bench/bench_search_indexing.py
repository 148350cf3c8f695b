"""Indexing: throughput against bare model.encode, chunks re-embedded by a one-paragraph edit, server memory.

    python tests/bench/bench_search_indexing.py [--pages 1000] [--skip-rss]

1. Throughput. The first `--pages` tldr pages are written through `sync.apply.apply_ops` into a fresh database
   and indexed by `search.indexer.Indexer.drain` (chunking, embedding, writing, as `commonplace reindex` does).
   In the same run the same model encodes the same chunk texts (those the indexer embedded: one per distinct
   chunk text) in one bare `model.encode` call, timed before and after the drain; the ratio is
   indexer chunks/s over the mean bare chunks/s (target >= 0.9).
2. Re-embedding on edit. Two long pages (a wiki-like page of 30 sections, and one long section of 24
   paragraphs without headings, both of real tldr/SciFact text) are indexed, then one paragraph of each is
   edited through `apply_ops` and the indexer runs again: how many chunks it embedded, against how many chunk
   texts actually changed (target: only the changed ones, ideally the one holding the paragraph).
3. Memory. `commonplace import ../shared/data/tldr/pages.jsonl` into a fresh data directory, then
   `commonplace serve` with the real model, polling /api/status until the model is loaded and pending and
   missing_vectors are 0; then VmHWM (peak RSS) of the server process from /proc (target < 800 MB).

Writes results/search_indexing.json.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench_search_common as common
from loadgen import HOST, Children, free_port

from search import index
from search.chunking import chunk_page, markdown_to_text
from search.embedder import LazyEmbedder
from search.indexer import PAGES_PER_BATCH, Indexer
from server.db import Database
from server.users import Actor
from sync.apply import Policy, apply_ops


def fresh_db(tmp: Path, name: str) -> Database:
    return Database(tmp / f"{name}.db")


def throughput(tmp: Path, pages: list[dict], model: str, pages_per_batch: int | None = None) -> dict:
    db = fresh_db(tmp, f"throughput-{pages_per_batch}")
    try:
        common.import_pages(db, ((p["id"], p["title"], p["text"]) for p in pages))
        embedder = LazyEmbedder(model)
        loaded = embedder.get(timeout=None)
        if loaded is None:
            raise RuntimeError(embedder.error)
        # The texts the indexer will embed: its own chunking of each page's head, one per distinct text.
        texts: dict[str, str] = {}
        for row in db.read(lambda c: list(c.execute("SELECT id FROM pages ORDER BY id"))):
            page = db.read(index.page_text, row["id"])
            for chunk in chunk_page(page["title"], page["body"], loaded.count_tokens, loaded.max_tokens):
                texts.setdefault(chunk.hash, chunk.text)
        corpus = list(texts.values())
        loaded.encode(corpus[:64])  # warm-up

        def bare() -> float:
            t = time.perf_counter()
            loaded.encode(corpus)
            return time.perf_counter() - t

        bare_before = bare()
        indexer = Indexer(db, embedder)
        if pages_per_batch:  # what-if: more pages (so more chunks) per model.encode call than PAGES_PER_BATCH
            indexer.run_once = functools.partial(indexer.run_once, limit=pages_per_batch)
        t = time.perf_counter()
        stats = indexer.drain()
        drain_s = time.perf_counter() - t
        bare_after = bare()
        chunks = db.read(index.chunk_count)
    finally:
        db.close()
    bare_s = (bare_before + bare_after) / 2
    return {"pages": len(pages), "chunks": chunks, "distinct_chunk_texts": len(corpus), "embedded": stats.embedded,
            "reused": stats.reused, "indexer_s": round(drain_s, 2), "bare_encode_s": [round(bare_before, 2),
                                                                                      round(bare_after, 2)],
            "indexer_chunks_per_s": round(stats.embedded / drain_s, 1),
            "bare_chunks_per_s": round(len(corpus) / bare_s, 1),
            "ratio": round((stats.embedded / drain_s) / (len(corpus) / bare_s), 3),
            "batch_size": getattr(loaded, "batch_size", None),
            "pages_per_batch": pages_per_batch or PAGES_PER_BATCH}


def long_pages(pages: list[dict]) -> dict[str, tuple[str, str]]:
    """Two long pages of real text: (title, body) each."""
    longest = sorted(pages, key=lambda p: -len(p["text"]))[:30]
    sections = []
    for page in longest:
        text = re.sub(r"^# .*\n+", "", page["text"]).strip()
        sections.append(f"## {page['title']}\n\n{text}")
    wiki = ("Command-line cheat sheet", "An overview of thirty commands.\n\n" + "\n\n".join(sections))
    abstracts = [d["text"] for d in common.scifact_corpus()[:24]]
    prose = ("Notes on recent biomedical findings", "\n\n".join(abstracts))
    return {"sections": wiki, "one_section": prose}


def edit_paragraph(body: str, which: float) -> tuple[str, str]:
    """`body` with one paragraph (at relative position `which`) reworded; returns (new body, the old paragraph)."""
    paragraphs = body.split("\n\n")
    candidates = [i for i, p in enumerate(paragraphs) if not p.startswith("#") and len(p) > 60]
    i = candidates[int(which * (len(candidates) - 1))]
    old = paragraphs[i]
    paragraphs[i] = old.replace(" the ", " this ", 1) if " the " in old else old + " (revised)"
    if paragraphs[i] == old:
        paragraphs[i] = old + " (revised)"
    return "\n\n".join(paragraphs), old


def reembedding(tmp: Path, pages: list[dict], model: str) -> dict:
    db = fresh_db(tmp, "edit")
    out = {}
    try:
        embedder = LazyEmbedder(model)
        embedder.get(timeout=None)
        indexer = Indexer(db, embedder)
        actor, policy = Actor(None, common.BENCH_AUTHOR), Policy(anonymous_edits=True, max_page_bytes=1_000_000)
        for name, (title, body) in long_pages(pages).items():
            slug = common.import_pages(db, [(name, title, body)])[name]
            indexer.drain()
            page = db.read(lambda c, s=slug: next(iter(c.execute(
                "SELECT p.id, r.uid AS rev FROM pages p JOIN revisions r ON r.id = p.head_id WHERE p.slug = ?", (s,)))))
            before = db.read(index.page_chunk_hashes, page["id"])
            new_body, old_paragraph = edit_paragraph(body, 0.5)
            result = db.write(apply_ops, [{"op_id": f"bench-edit-{name}-{time.time_ns()}", "type": "edit",
                                           "slug": slug, "base_rev": page["rev"], "body": new_body,
                                           "summary": "one-paragraph edit"}], actor, policy)[0]
            if result["status"] != "applied":
                raise RuntimeError(f"the edit was not applied: {result}")
            embedded_before = indexer.stats.embedded
            indexer.drain()
            after = db.read(index.page_chunk_hashes, page["id"])
            changed = [h for h in after if h not in set(before)]
            needle = " ".join(markdown_to_text(old_paragraph).split()[:6])  # as the chunk holds it: plain text
            holding = [r["hash"] for r in db.read(lambda c, p=page["id"]: list(c.execute(
                "SELECT hash, text FROM chunks WHERE page_id = ?", (p,)))) if needle in " ".join(r["text"].split())]
            stale = db.read(lambda c, p=page["id"]: next(iter(c.execute(
                "SELECT count(*) AS n FROM chunks_vec WHERE rowid NOT IN (SELECT id FROM chunks)")))["n"])
            out[name] = {"chunks_before": len(before), "chunks_after": len(after),
                         "chunk_texts_changed": len(changed), "chunks_holding_the_paragraph": len(holding),
                         "re_embedded": indexer.stats.embedded - embedded_before,
                         "orphan_vectors": stale,
                         "only_changed_reembedded": indexer.stats.embedded - embedded_before == len(changed)}
    finally:
        db.close()
    return out


def vm_status(pid: int) -> dict:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS", "Threads"):
            out[key] = value.strip()
    return out


def server_memory(tmp: Path, model: str, timeout: float, extra_env: dict[str, str] | None = None) -> dict:
    data = tmp / "rss-data"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir()
    children = Children(tmp)
    binary = str(Path(sys.executable).parent / "commonplace")
    env = {**os.environ, "COMMONPLACE_MODEL": model, **(extra_env or {})}
    t = time.perf_counter()
    done = subprocess.run([binary, "import", str(common.TLDR), "--data", str(data)], env=env, capture_output=True,
                          text=True, timeout=600)
    if done.returncode:
        raise RuntimeError(f"import failed: {done.stdout}\n{done.stderr}")
    import_s = time.perf_counter() - t
    print(f"  {done.stdout.strip().splitlines()[-1]}")
    port = free_port()
    try:
        started = time.perf_counter()
        proc = children.start("serve", [binary, "serve", "--host", HOST, "--port", str(port), "--data", str(data)],
                              env=env)
        last: dict = {}
        samples = []
        next_print = 0.0
        while True:
            elapsed = time.perf_counter() - started
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited:\n{children.log_tail('serve')}")
            if elapsed > timeout:
                raise RuntimeError(f"indexing did not finish within {timeout:.0f} s (last status {last})")
            try:
                conn = http.client.HTTPConnection(HOST, port, timeout=10)
                conn.request("GET", "/api/status")
                last = json.loads(conn.getresponse().read())
                conn.close()
                idx = last["index"]
                samples.append({"s": round(elapsed, 1), "chunks": idx["chunks"], "pending": idx["pending"],
                                "missing_vectors": idx["missing_vectors"],
                                "rss_mb": round(int(vm_status(proc.pid)["VmRSS"].split()[0]) / 1024, 1)})
                if elapsed >= next_print:
                    print(f"  {elapsed:5.0f} s: {samples[-1]}")
                    next_print = elapsed + 30
                if "(" not in idx["model"] and idx["pending"] == 0 and idx["missing_vectors"] == 0:
                    break
            except (OSError, KeyError, ValueError):
                pass
            time.sleep(1.0)
        index_s = time.perf_counter() - started
        status = vm_status(proc.pid)
    finally:
        children.close()
    hwm = round(int(status["VmHWM"].split()[0]) / 1024, 1)
    return {"server_env": extra_env or {}, "pages": last.get("pages"), "index": last["index"],
            "import_s": round(import_s, 1),
            "serve_to_indexed_s": round(index_s, 1),
            "chunks_per_s": round(last["index"]["chunks"] / index_s, 1), "peak_rss_mb": hwm,
            "rss_at_end_mb": round(int(status["VmRSS"].split()[0]) / 1024, 1), "threads": status.get("Threads"),
            "under_800_mb": hwm < 800, "samples": samples[:: max(1, len(samples) // 40)]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=1000, help="tldr pages for the throughput run")
    parser.add_argument("--model", default=common.DEFAULT_MODEL)
    parser.add_argument("--skip-rss", action="store_true", help="skip the whole-tldr server memory run")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-edit", action="store_true")
    parser.add_argument("--pages-per-batch", default="",
                        help="also measure throughput with these pages per indexing batch (comma-separated), a "
                             "what-if for search.indexer.PAGES_PER_BATCH")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="environment for the memory run's server (what-if, e.g. MALLOC_MMAP_THRESHOLD_=131072)")
    parser.add_argument("--rss-timeout", type=float, default=1500, help="seconds allowed for the server to index")
    parser.add_argument("--output", default="search_indexing.json")
    args = parser.parse_args()

    common.warn_if_busy()
    result = {**common.run_facts(), "model": args.model}
    pages = common.tldr_pages()
    tmp = Path(tempfile.mkdtemp(prefix="cp-search-indexing-"))
    try:
        if not args.skip_throughput:
            print(f"throughput on the first {args.pages} tldr pages …")
            result["throughput"] = tp = throughput(tmp, pages[: args.pages], args.model)
            print(f"  indexer {tp['indexer_chunks_per_s']} chunks/s, bare encode {tp['bare_chunks_per_s']} chunks/s "
                  f"(runs {tp['bare_encode_s']} s), ratio {tp['ratio']} (target >= 0.9); {tp['embedded']} chunks "
                  f"embedded of {tp['chunks']}")
            for n in [int(x) for x in args.pages_per_batch.split(",") if x]:
                result.setdefault("throughput_what_if", {})[str(n)] = w = throughput(tmp, pages[: args.pages],
                                                                                    args.model, n)
                print(f"  with {n} pages per batch: indexer {w['indexer_chunks_per_s']} chunks/s, bare "
                      f"{w['bare_chunks_per_s']} chunks/s, ratio {w['ratio']}")
        if not args.skip_edit:
            print("re-embedding after a one-paragraph edit …")
            result["edit"] = ed = reembedding(tmp, pages, args.model)
            for name, e in ed.items():
                print(f"  {name}: {e['chunks_before']} chunks; edit changed {e['chunk_texts_changed']} chunk texts, "
                      f"{e['chunks_holding_the_paragraph']} hold the paragraph; re-embedded {e['re_embedded']}; "
                      f"orphan vectors {e['orphan_vectors']}")
        if not args.skip_rss:
            print("server memory after indexing all of tldr …" + (f" (server env {args.server_env})"
                                                                   if args.server_env else ""))
            extra = dict(item.split("=", 1) for item in args.server_env)
            result["memory"] = mem = server_memory(tmp, args.model, args.rss_timeout, extra)
            print(f"  {mem['index']['chunks']} chunks indexed in {mem['serve_to_indexed_s']} s "
                  f"({mem['chunks_per_s']} chunks/s); peak RSS (VmHWM) {mem['peak_rss_mb']} MB (target < 800 MB)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    path = common.write_result(args.output, result)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
