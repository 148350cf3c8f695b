"""Search latency: hybrid queries through HTTP against a real `commonplace serve`, at about 10k and 100k chunks.

    python tests/bench/bench_search_latency.py [--queries 300] [--sizes 10000,100000] [--rebuild]

The 10k index is the SciFact corpus as `bench_search_quality.py` builds it (5,183 pages, ~10k chunks, real
text and real vectors; built and cached on first use). The 100k index adds synthetic pages, written through
`sync.apply.apply_ops`, whose bodies mix real paragraphs of tldr pages and sentences of SciFact abstracts; they
are chunked by `search.chunking.chunk_page` with the real tokenizer and stored with
`search.index.replace_page_chunks`, their vectors being perturbations of real chunk vectors (not embedded, to
save an hour). Both databases are cached under results/ (`--rebuild` to rebuild the synthetic one).

For each size a `commonplace serve` runs on a free loopback port with the real model; once /api/status
reports the model loaded and nothing pending, a sequential client (one keep-alive connection) sends
`GET /api/search?q=...` (hybrid, limit 10) for distinct SciFact train queries after a warm-up, and the wall
time per request (query embedding included) and the server's `took_ms` are reported as p50/p95/p99/mean. Then,
in this process, the same queries are timed stage by stage (embedding, FTS5, bit-KNN, re-scoring, fusion,
describe) on the same database, to show where the time goes. Writes results/search_latency.json.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import json
import os
import random
import shutil
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import bench_search_common as common
import numpy as np
from loadgen import HOST, NO_LIMITS, Children, free_port

from search import fusion, index, ranking
from search.chunking import chunk_page
from search.embedder import load_embedder
from search.signbits import SignBits, load_snapshot
from server.db import Database, connect

SYNTH_VERSION = "1"
NOISE = 0.06  # per-dimension Gaussian noise added to a real unit vector (cosine to the original ~0.6)


# ----------------------------------------------------------------------------------------------------------------
# Databases.


def paragraph_pool() -> tuple[list[str], list[str]]:
    """Real text to synthesise pages from: tldr paragraphs and SciFact sentences; and real titles."""
    paragraphs: list[str] = []
    titles: list[str] = []
    for page in common.tldr_pages():
        titles.append(page["title"])
        paragraphs.extend(p.strip() for p in page["text"].split("\n\n") if p.strip() and not p.startswith("#"))
    for doc in common.scifact_corpus():
        titles.append(doc["title"])
        sentences = [s.strip() for s in doc["text"].split(". ") if s.strip()]
        for start in range(0, len(sentences), 3):
            paragraphs.append(". ".join(sentences[start : start + 3]))
    return paragraphs, titles


def synthetic_db(target: int, model: str, rebuild: bool, log=print) -> tuple[Path, dict]:
    base, info = common.build_scifact(model, log=log)
    key = f"{base.stem}-synth{target}-v{SYNTH_VERSION}"
    path, info_path = common.RESULTS / f"{key}.db", common.RESULTS / f"{key}.json"
    if path.exists() and info_path.exists() and not rebuild:
        log(f"using the cached {path.name}")
        return path, json.loads(info_path.read_text())
    for old in common.RESULTS.glob("scifact-*-synth*"):
        old.unlink()
    tmp = path.with_name(path.name + ".building")
    for suffix in ("", "-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    shutil.copyfile(base, tmp)
    embedder = load_embedder(model)
    rng = random.Random(42)
    noise = np.random.default_rng(42)
    paragraphs, titles = paragraph_pool()
    db = Database(tmp)
    started = time.perf_counter()
    try:
        real = db.read(lambda c: [r["vector"] for r in c.execute("SELECT vector FROM chunks WHERE vector IS NOT NULL")])
        real_vectors = np.vstack([index.from_blob(v) for v in real])
        chunks = db.read(index.chunk_count)
        made = 0
        while chunks < target:
            records = []
            for _ in range(500):
                made += 1
                body = "\n\n".join(rng.choice(paragraphs) for _ in range(rng.randint(2, 8)))
                records.append((f"s{made}", f"{rng.choice(titles)[:60].strip()} {made}", body))
            slugs = common.import_pages(db, records)

            def write(conn, slugs=slugs) -> int:
                n = 0
                for slug in slugs.values():
                    page = next(iter(conn.execute("SELECT id FROM pages WHERE slug = ?", (slug,))))
                    text = index.page_text(conn, page["id"])
                    queued = next(iter(conn.execute("SELECT enqueued_at FROM index_queue WHERE page_id = ?",
                                                    (page["id"],))))["enqueued_at"]
                    rows = []
                    for chunk in chunk_page(text["title"], text["body"], embedder.count_tokens, embedder.max_tokens):
                        vector = real_vectors[rng.randrange(len(real_vectors))] + noise.normal(
                            0, NOISE, real_vectors.shape[1]).astype(np.float32)
                        vector /= np.linalg.norm(vector)
                        rows.append({"ord": chunk.ord, "heading": chunk.heading, "text": chunk.text,
                                     "hash": chunk.hash, "vector": index.to_blob(vector)})
                    index.replace_page_chunks(conn, page["id"], text["seq"], rows, model, queued)
                    n += len(rows)
                return n

            chunks += db.write(write)
            log(f"  {chunks} chunks ({time.perf_counter() - started:.0f} s)")
        pages = db.read(lambda c: next(iter(c.execute("SELECT count(*) AS n FROM pages")))["n"])
        pending = db.read(index.pending_count)
    finally:
        db.close()
    common.checkpoint(tmp)
    tmp.rename(path)
    out = {"pages": pages, "chunks": chunks, "pending": pending, "synthetic_pages": made,
           "vectors": f"real chunk vector + N(0, {NOISE}^2) per dimension, renormalised",
           "build_s": round(time.perf_counter() - started, 1)}
    info_path.write_text(json.dumps(out) + "\n")
    return path, out


# ----------------------------------------------------------------------------------------------------------------
# Proposed fixes, measured through HTTP: `--proposals topjoin,overlap,numpybits` serves with them patched in (in
# the measured server process only; search/ itself is unchanged). See tests/bench/README.md.

PROPOSALS = ("topjoin", "overlap", "numpybits", "dfcap")
DF_CAP = 0.1  # dfcap: words found in more than this share of chunks are left out of the FTS5 query
_total_chunks: list[int] = []


def _fts_query_dfcap(conn, query: str) -> str:
    """ranking.fts_query, then words in more than DF_CAP of the chunks dropped (all kept if all are that common),
    each word's chunk count asked of FTS5 itself (so stemming matches the index)."""
    words = list(dict.fromkeys(ranking._WORD.findall(query.lower())))
    words = [w for w in words if w not in ranking.STOPWORDS] or words
    if not _total_chunks:
        _total_chunks.append(next(iter(conn.execute("SELECT count(*) AS n FROM chunks")))["n"])
    cap = DF_CAP * _total_chunks[0]
    kept = [w for w in words if next(iter(conn.execute(
        "SELECT count(*) AS n FROM chunks_fts WHERE chunks_fts MATCH ?", (f'"{w}"',))))["n"] <= cap]
    return " OR ".join(f'"{w}"' for w in (kept or words)[: ranking.MAX_QUERY_WORDS])


def _lexical_topjoin(conn, query: str, limit: int = ranking.CANDIDATES, dfcap: bool = False) -> list:
    """ranking.lexical_chunks with the same results, joining `chunks` for the top `limit` matches only
    (as shipped, the join runs for every matching row before the sort)."""
    match = _fts_query_dfcap(conn, query) if dfcap else ranking.fts_query(query)
    if not match:
        return []
    sql = """SELECT c.id, c.page_id, f.score FROM (SELECT rowid, bm25(chunks_fts) AS score FROM chunks_fts
             WHERE chunks_fts MATCH ? ORDER BY score LIMIT ?) f JOIN chunks c ON c.id = f.rowid ORDER BY f.score"""
    return [ranking.Hit(r["id"], r["page_id"], -r["score"]) for r in conn.execute(sql, (match, limit))]


class _Bits:
    """Every chunk's sign bits in memory (48 bytes a chunk at 384 dimensions) for a numpy hamming scan.

    A prototype: loaded once, so it suits only a database that does not change while it is measured; the real
    thing would reload (or patch) when SQLite's data_version changes.
    """

    ids: np.ndarray | None = None
    words: np.ndarray | None = None

    @classmethod
    def load(cls, conn) -> None:
        rows = list(conn.execute("SELECT id, vector FROM chunks WHERE vector IS NOT NULL ORDER BY id"))
        matrix = np.vstack([index.from_blob(r["vector"]) for r in rows])
        cls.ids = np.array([r["id"] for r in rows], dtype=np.int64)
        cls.words = np.ascontiguousarray(np.packbits(matrix > 0, axis=1)).view(np.uint64)


def _semantic_numpybits(conn, vector, limit: int = ranking.CANDIDATES, rescore: int = ranking.RESCORE) -> list:
    if _Bits.words is None:
        _Bits.load(conn)
    query = np.asarray(vector, dtype=np.float32)
    qwords = np.packbits(query > 0).view(np.uint64)
    distance = np.bitwise_count(_Bits.words ^ qwords).sum(axis=1, dtype=np.int32)
    k = min(rescore, len(distance))
    ids = _Bits.ids[np.argpartition(distance, k - 1)[:k]] if k else []
    marks = ",".join("?" * len(ids))
    rows = list(conn.execute(f"SELECT id, page_id, vector FROM chunks WHERE id IN ({marks})", [int(i) for i in ids]))
    if not rows:
        return []
    matrix = np.vstack([index.from_blob(r["vector"]) for r in rows])
    scores = matrix @ query
    order = np.argsort(-scores)[:limit]
    return [ranking.Hit(rows[i]["id"], rows[i]["page_id"], float(scores[i])) for i in order]


def apply_proposals(names: list[str]) -> None:
    """Patch the named proposals into this process (the bench's server process)."""
    from concurrent.futures import ThreadPoolExecutor

    from search import service

    unknown = set(names) - set(PROPOSALS)
    if unknown:
        raise SystemExit(f"unknown proposals {sorted(unknown)}; known: {', '.join(PROPOSALS)}")
    if "dfcap" in names:
        ranking.lexical_chunks = functools.partial(_lexical_topjoin, dfcap=True)
    elif "topjoin" in names:
        ranking.lexical_chunks = _lexical_topjoin
    if "numpybits" in names:
        ranking.semantic_chunks = _semantic_numpybits
    if "overlap" in names:
        pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="bench-lexical")
        original = service.SearchService.search

        def search(self, query: str, limit: int = 10, mode: str = "hybrid") -> dict:
            """Hybrid with the FTS5 query running while the model embeds the query (both release the GIL)."""
            started = time.perf_counter()
            query = " ".join(query.split())[: service.MAX_QUERY_CHARS]
            limit = max(1, min(limit, service.MAX_LIMIT))
            model = self.embedder.get(timeout=0) if self.embedder.ready else None
            if mode != "hybrid" or model is None or not service._WORD.search(query):
                return original(self, query, limit, mode)
            lexical = pool.submit(self.db.read, lambda c: ranking.best_per_page(ranking.lexical_chunks(c, query)))
            vector = model.encode([query])[0]
            semantic = self.db.read(lambda c: ranking.best_per_page(ranking.semantic_chunks(c, vector)))
            hits = ranking.fuse(lexical.result(), semantic)[:limit]
            rows = self.db.read(ranking.describe, hits)
            results = [{"slug": r["slug"], "title": r["title"], "snippet": service.make_snippet(r["text"], query),
                        "score": r["score"]} for r in rows]
            return {"results": results, "took_ms": round((time.perf_counter() - started) * 1000, 2),
                    "mode": "hybrid"}

        service.SearchService.search = search


def serve_with(names: list[str], argv: list[str]) -> None:
    """`commonplace <argv>` in this process, with the proposals patched in first."""
    apply_proposals(names)
    from server.cli import main as cli_main

    sys.argv = ["commonplace", *argv]
    cli_main()


# ----------------------------------------------------------------------------------------------------------------
# HTTP.


def get_json(conn: http.client.HTTPConnection, path: str) -> tuple[int, dict]:
    conn.request("GET", path, headers={"Accept": "application/json"})
    response = conn.getresponse()
    body = response.read()
    return response.status, json.loads(body) if body else {}


def wait_ready(children: Children, name: str, port: int, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    last: dict = {}
    while time.monotonic() < deadline:
        if children.procs[name].poll() is not None:
            raise RuntimeError(f"the server exited:\n{children.log_tail(name)}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=5)
            status, last = get_json(conn, "/api/status")
            conn.close()
            idx = last.get("index", {})
            if status == 200 and "(" not in idx.get("model", "(") and idx.get("pending") == 0 and \
                    idx.get("missing_vectors") == 0:
                return last
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the server was not ready within {timeout:.0f} s (last status {last}):\n"
                       f"{children.log_tail(name)}")


def measure_http(db_path: Path, queries: list[str], warmup: int, proposals: list[str] | None = None,
                 log=print) -> dict:
    data = Path(tempfile.mkdtemp(prefix="cp-search-latency-"))
    children = Children(data)
    try:
        shutil.copyfile(db_path, data / "commonplace.db")
        port = free_port()
        env = {**os.environ, "COMMONPLACE_SEED": "0", "COMMONPLACE_MODEL": common.DEFAULT_MODEL, **NO_LIMITS}
        started = time.perf_counter()
        serve = ["serve", "--host", HOST, "--port", str(port), "--data", str(data)]
        if proposals:
            argv = [sys.executable, str(Path(__file__).resolve()), "--serve-with", ",".join(proposals), "--", *serve]
        else:
            argv = [str(Path(sys.executable).parent / "commonplace"), *serve]
        children.start("serve", argv, env=env)
        status = wait_ready(children, "serve", port)
        log(f"  server ready in {time.perf_counter() - started:.1f} s: {status['index']}")
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        for q in queries[:warmup]:
            get_json(conn, "/api/search?" + urllib.parse.urlencode({"q": q, "limit": 10}))
        time.sleep(2)  # the first query started loading the sign bits in the background (search/signbits.py)
        wall, took, empty, modes = [], [], 0, set()
        for q in queries[warmup:]:
            path = "/api/search?" + urllib.parse.urlencode({"q": q, "limit": 10, "mode": "hybrid"})
            t = time.perf_counter()
            code, reply = get_json(conn, path)
            wall.append((time.perf_counter() - t) * 1000)
            if code != 200:
                raise RuntimeError(f"{path} answered {code}: {reply}")
            took.append(reply["took_ms"])
            modes.add(reply["mode"])
            empty += not reply["results"]
        conn.close()
        pid = children.procs["serve"].pid
        rss = vm_hwm_mb(pid)
        return {"server_status": status["index"], "wall_ms": common.percentiles(wall),
                "took_ms": common.percentiles(took), "modes_answered": sorted(modes), "empty_results": empty,
                "server_peak_rss_mb": rss}
    finally:
        children.close()
        shutil.rmtree(data, ignore_errors=True)


def vm_hwm_mb(pid: int) -> float | None:
    """Peak resident set size of the process `pid` (the uvicorn server runs in the launched process itself)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


# ----------------------------------------------------------------------------------------------------------------
# Where the time goes, in process.


def profile(db_path: Path, queries: list[str], model: str) -> dict:
    """Each stage of a hybrid query, timed separately, on the same database (a read-only connection)."""
    embedder = load_embedder(model)
    Database(db_path).close()  # migrated as the server would (the sign bits need migration 5's counter)
    conn = connect(db_path, readonly=True)
    stages: dict[str, list[float]] = {k: [] for k in ("embed", "fts", "bit_knn", "rescore_fetch", "rescore_math",
                                                       "group_fuse", "describe", "total", "signbits_knn")}
    # The shipped first pass (search/signbits.py) on a snapshot loaded once; bit_knn above is sqlite-vec's.
    bits = SignBits(db=None)
    t = time.perf_counter()
    bits._snapshot = load_snapshot(conn)
    snapshot_load_ms = round((time.perf_counter() - t) * 1000, 1)
    knn_sql = f"""SELECT v.rowid AS id FROM {index.VEC_TABLE} v
                  WHERE v.embedding MATCH vec_quantize_binary(?) AND k = ?"""
    fetch_sql = "SELECT id, page_id, vector FROM chunks WHERE id IN ({})"
    for q in queries[:10]:  # warm-up
        vector = embedder.encode_query(q)
        ranking.rank_pages(conn, q, vector, "hybrid", 10)
    for q in queries:
        t0 = time.perf_counter()
        vector = embedder.encode_query(q)
        t1 = time.perf_counter()
        conn.execute("BEGIN")
        lexical = ranking.lexical_chunks(conn, q, fusion.WORD_DEPTH)
        t2 = time.perf_counter()
        ids = [r["id"] for r in conn.execute(knn_sql, (vector.tobytes(), ranking.RESCORE))]
        t3 = time.perf_counter()
        rows = list(conn.execute(fetch_sql.format(",".join("?" * len(ids))), ids))
        t4 = time.perf_counter()
        matrix = np.vstack([index.from_blob(r["vector"]) for r in rows])
        scores = matrix @ vector
        order = np.argsort(-scores)[: ranking.CANDIDATES]
        semantic = [ranking.Hit(rows[i]["id"], rows[i]["page_id"], float(scores[i])) for i in order]
        t5 = time.perf_counter()
        hits = fusion.hybrid_pages(conn, lexical, semantic, vector, bits)[:10]  # with its second (feedback) pass
        t6 = time.perf_counter()
        ranking.describe(conn, hits)
        t7 = time.perf_counter()
        bits.nearest(conn, vector, ranking.RESCORE)
        t8 = time.perf_counter()
        conn.execute("COMMIT")
        for name, value in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5, t7 - t6, t7 - t0,
                                        t8 - t7), strict=True):
            value = value * 1000
            stages[name].append(value)
    conn.close()
    return {**{name: common.percentiles(values) for name, values in stages.items()},
            "signbits_snapshot_load_ms": snapshot_load_ms}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=300, help="measured queries per size (distinct)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--sizes", default="10000,100000", help="chunk counts (10000 = the SciFact index as is)")
    parser.add_argument("--model", default=common.DEFAULT_MODEL)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the synthetic database")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--output", default="search_latency.json")
    parser.add_argument("--proposals", default="",
                        help=f"also measure with proposed fixes patched into the server: comma-separated sets of "
                             f"{'+'.join(PROPOSALS)}, e.g. topjoin,topjoin+overlap")
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-with":  # the measured server, launched by this script
        serve_with([n for n in sys.argv[2].split(",") if n], sys.argv[4:])
        return 0
    args = parser.parse_args()

    common.warn_if_busy()
    result = {**common.run_facts(), "what": "hybrid /api/search latency through HTTP, sequential client",
              "parameters": {"CANDIDATES": ranking.CANDIDATES, "RESCORE": ranking.RESCORE,
                             "LEXICAL_WEIGHT": ranking.LEXICAL_WEIGHT},
              "sizes": {}}
    texts = [text for _, text in common.train_queries()]
    random.Random(1).shuffle(texts)
    needed = args.warmup + args.queries
    if needed > len(texts):
        parser.error(f"at most {len(texts) - args.warmup} distinct queries")
    queries = texts[:needed]
    for size in (int(s) for s in args.sizes.split(",")):
        if size <= 10_500:
            path, info = common.build_scifact(args.model)
            info = {k: v for k, v in info.items() if k != "slug_to_doc"}
        else:
            path, info = synthetic_db(size, args.model, args.rebuild)
        print(f"{info['chunks']} chunks ({path.name})")
        entry = {"database": info, "http": measure_http(path, queries, args.warmup)}
        result["sizes"][str(size)] = entry
        w, t = entry["http"]["wall_ms"], entry["http"]["took_ms"]
        print(f"  as shipped, HTTP wall ms: p50 {w['p50']}  p95 {w['p95']}  p99 {w['p99']}  mean {w['mean']}   "
              f"(server took_ms: p50 {t['p50']}  p95 {t['p95']}  p99 {t['p99']}  mean {t['mean']})  "
              f"target p95 <= 50 ms at 100k")
        if not args.no_profile:
            entry["in_process_ms"] = stages = profile(path, queries[args.warmup :], args.model)
            print("  in process, p50/p95 ms: " + ", ".join(
                f"{name} {v['p50']}/{v['p95']}" for name, v in stages.items() if isinstance(v, dict)))
        for combo in [c for c in args.proposals.split(",") if c]:
            entry.setdefault("proposals", {})[combo] = run = measure_http(path, queries, args.warmup,
                                                                          combo.split("+"))
            w = run["wall_ms"]
            print(f"  with {combo}: HTTP wall ms p50 {w['p50']}  p95 {w['p95']}  p99 {w['p99']}  mean {w['mean']}")
    path = common.write_result(args.output, result)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
