"""Which SQLite binding: apsw, pysqlite3-binary or sqlean.py, measured on the work Commonplace does.

    python tests/bench/bench_sqlite_binding.py [--rows 20000] [--vectors 10000]

For each binding that is installed: its SQLite version, whether FTS5 and sqlite-vec load, and
the time to insert revision-like rows in one transaction, to read one page by key (p50 of 2,000
lookups), and to run a 384-dimension KNN query with sqlite-vec over `--vectors` rows (p50 of 50).
pysqlite3-binary and sqlean.py are benchmark-only extras: `pip install pysqlite3-binary sqlean.py`.
Writes tests/bench/results/sqlite_binding.json.
"""

from __future__ import annotations

import argparse
import importlib
import json
import random
import statistics
import struct
import tempfile
import time
from pathlib import Path

import sqlite_vec

RESULTS = Path(__file__).resolve().parent / "results"


def open_apsw(path: str):
    import apsw

    conn = apsw.Connection(path)
    conn.enable_load_extension(True)
    conn.load_extension(sqlite_vec.loadable_path())
    return conn, apsw.sqlite_lib_version()


def open_dbapi(module_name: str):
    def opener(path: str):
        module = importlib.import_module(module_name)
        conn = module.connect(path, isolation_level=None)
        conn.enable_load_extension(True)
        conn.load_extension(sqlite_vec.loadable_path())
        return conn, module.sqlite_version

    return opener


BINDINGS = {"apsw": open_apsw, "pysqlite3": open_dbapi("pysqlite3.dbapi2"), "sqlean": open_dbapi("sqlean")}


def measure(name: str, rows: int, vectors: int) -> dict:
    folder = tempfile.mkdtemp(prefix=f"bind-{name}-")
    conn, version = BINDINGS[name](str(Path(folder) / "b.db"))
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE revs (id INTEGER PRIMARY KEY, slug TEXT UNIQUE, body TEXT)")
    conn.execute("CREATE VIRTUAL TABLE fts USING fts5(body)")
    body = "lorem ipsum dolor sit amet " * 40
    started = time.perf_counter()
    conn.execute("BEGIN")
    for i in range(rows):
        conn.execute("INSERT INTO revs (slug, body) VALUES (?, ?)", (f"page-{i}", body))
    conn.execute("COMMIT")
    insert_s = time.perf_counter() - started
    lookups = []
    for _ in range(2000):
        slug = f"page-{random.randrange(rows)}"
        t = time.perf_counter()
        list(conn.execute("SELECT body FROM revs WHERE slug = ?", (slug,)))
        lookups.append(time.perf_counter() - t)
    conn.execute("CREATE VIRTUAL TABLE vecs USING vec0(embedding float[384])")
    rng = random.Random(1)
    conn.execute("BEGIN")
    for i in range(vectors):
        vec = struct.pack("384f", *(rng.random() for _ in range(384)))
        conn.execute("INSERT INTO vecs (rowid, embedding) VALUES (?, ?)", (i + 1, vec))
    conn.execute("COMMIT")
    knn = []
    for _ in range(50):
        query = struct.pack("384f", *(rng.random() for _ in range(384)))
        t = time.perf_counter()
        list(conn.execute("SELECT rowid, distance FROM vecs WHERE embedding MATCH ? AND k = 10", (query,)))
        knn.append(time.perf_counter() - t)
    conn.close()
    return {"binding": name, "sqlite": version, "fts5_and_vec": True, "insert_rows_per_s": rows / insert_s,
            "lookup_p50_us": statistics.median(lookups) * 1e6, "knn_p50_ms": statistics.median(knn) * 1e3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--vectors", type=int, default=10_000)
    args = parser.parse_args()
    results = []
    for name in BINDINGS:
        try:
            results.append(measure(name, args.rows, args.vectors))
        except ImportError as exc:
            results.append({"binding": name, "error": f"not installed ({exc})"})
    print(f"{'binding':10} {'sqlite':8} {'insert rows/s':>14} {'lookup p50 µs':>14} {'knn p50 ms':>11}")
    for r in results:
        if "error" in r:
            print(f"{r['binding']:10} {r['error']}")
            continue
        print(f"{r['binding']:10} {r['sqlite']:8} {r['insert_rows_per_s']:14,.0f} {r['lookup_p50_us']:14.1f} "
              f"{r['knn_p50_ms']:11.2f}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sqlite_binding.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
