"""Search quality: nDCG@10 on SciFact (train split) through the project's own index and ranking code.

    python tests/bench/bench_search_quality.py [--rebuild] [--model all-MiniLM-L6-v2] [--sweep]

Every SciFact document becomes a page (title = the document's title, body = its text) through
`sync.apply.apply_ops`; `search.indexer.Indexer` chunks and embeds them with the real model. The built database
is cached under results/ (key: model + the indexing code), so a rerun only ranks; `--rebuild` builds it again
(about 5 minutes on 2 cores). Each of the 809 train queries is then ranked by `search.ranking.rank_pages` in
the lexical, semantic and hybrid modes (limit 10; query vectors from the same embedder, in one batch) and
scored with nDCG@10 against qrels/train.tsv. `--sweep` also scores fusion variants from the same candidate
lists (train split only) and checks the chosen one by 2-fold cross-validation. Writes results/search_quality.json.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time

import bench_search_common as common
import numpy as np

from search import ranking
from search.embedder import load_embedder
from server.db import connect

MODES = ("lexical", "semantic", "hybrid")


def page_docs(conn, slug_to_doc: dict[str, str]) -> dict[int, str]:
    return {r["id"]: slug_to_doc[r["slug"]] for r in conn.execute("SELECT id, slug FROM pages")
            if r["slug"] in slug_to_doc}


def evaluate(ranked: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> float:
    return statistics.fmean(common.ndcg_at(ranked.get(q, []), rel) for q, rel in qrels.items())


# ----------------------------------------------------------------------------------------------------------------
# Fusion variants for --sweep (from the same per-query candidate lists as the shipped code uses).


def rrf(lex, sem, k, wl, ws):
    """Weighted reciprocal-rank fusion (the shipped method before d3ecae0, RRF_K 60, weights 1:1)."""
    scores: dict[int, float] = {}
    for weight, hits in ((wl, lex), (ws, sem)):
        for rank, hit in enumerate(hits):
            scores[hit.page_id] = scores.get(hit.page_id, 0.0) + weight / (k + rank + 1)
    return [ranking.Hit(0, p, s) for p, s in sorted(scores.items(), key=lambda x: -x[1])]


def normalised(lex, sem, alpha, how="minmax"):
    """Convex combination of per-query normalised page scores; a page missing from a list gets that list's floor."""
    def norm(hits):
        if not hits:
            return {}
        scores = np.array([h.score for h in hits])
        if how == "minmax":
            low, span = scores.min(), (scores.max() - scores.min()) or 1.0
            values = (scores - low) / span
        else:  # z-score
            values = (scores - scores.mean()) / (scores.std() or 1.0)
        return {h.page_id: float(v) for h, v in zip(hits, values, strict=True)}

    nl, ns = norm(lex), norm(sem)
    floor_l = min(nl.values(), default=0.0)
    floor_s = min(ns.values(), default=0.0)
    pages = set(nl) | set(ns)
    fused = {p: alpha * nl.get(p, floor_l) + (1 - alpha) * ns.get(p, floor_s) for p in pages}
    return [ranking.Hit(0, p, s) for p, s in sorted(fused.items(), key=lambda x: -x[1])]


def sweep(candidates: dict[str, tuple[list, list]], docs_of: dict[int, str],
          qrels: dict[str, dict[str, int]]) -> dict:
    def score(fn, queries=None) -> float:
        queries = queries or list(qrels)
        ranked = {q: [docs_of[h.page_id] for h in fn(*candidates[q])[:10]] for q in queries}
        return evaluate(ranked, {q: qrels[q] for q in queries})

    variants: dict[str, callable] = {}
    for k in (5, 10, 20, 30, 60, 100):
        for ratio in (0.5, 0.7, 1.0, 1.4, 2.0):
            variants[f"rrf k={k} lexical:semantic={ratio}"] = (
                lambda lex, sem, k=k, r=ratio: rrf(lex, sem, k, r, 1.0))
    for alpha in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
        variants[f"minmax alpha_lexical={alpha}"] = (lambda lex, sem, a=alpha: normalised(lex, sem, a, "minmax"))
        variants[f"zscore (ranking.fuse) lexical_weight={alpha}"] = (
            lambda lex, sem, a=alpha: ranking.fuse(lex, sem, lexical_weight=a))
    table = {name: round(score(fn), 4) for name, fn in variants.items()}

    # 2-fold cross-validation of "pick the best variant on one half": how much of the gain is overfitting?
    rng = random.Random(7)
    queries = list(qrels)
    rng.shuffle(queries)
    halves = [queries[: len(queries) // 2], queries[len(queries) // 2 :]]
    folds = []
    for tune, held in (halves, halves[::-1]):
        best = max(variants, key=lambda n: score(variants[n], tune))
        folds.append({"chosen_on_tune_half": best, "tune": round(score(variants[best], tune), 4),
                      "held_out": round(score(variants[best], held), 4),
                      "shipped_on_held_out": round(score(lambda lex, sem: ranking.fuse(lex, sem), held), 4)})
    return {"variants": dict(sorted(table.items(), key=lambda x: -x[1])), "cross_validation": folds}


def depth_sweep(conn, queries, vectors, docs_of, qrels) -> dict:
    """nDCG@10 for other CANDIDATES (chunks per ranking) and RESCORE (bit-KNN candidates re-scored) values."""
    out = {}
    for candidates, rescore in ((100, 400), (100, 200), (100, 120), (100, 100), (50, 100), (50, 50)):
        sem_ranked, hyb_ranked = {}, {}
        for (qid, text), vector in zip(queries, vectors, strict=True):
            sem = ranking.best_per_page(ranking.semantic_chunks(conn, vector, limit=candidates, rescore=rescore))
            lex = ranking.best_per_page(ranking.lexical_chunks(conn, text, limit=candidates))
            sem_ranked[qid] = [docs_of[h.page_id] for h in sem[:10]]
            hyb_ranked[qid] = [docs_of[h.page_id] for h in ranking.fuse(lex, sem)[:10]]
        out[f"CANDIDATES={candidates} RESCORE={rescore}"] = {"semantic": round(evaluate(sem_ranked, qrels), 4),
                                                              "hybrid": round(evaluate(hyb_ranked, qrels), 4)}
    return out


def common_terms(conn) -> tuple[int, dict[str, int]]:
    """Chunks, and each indexed term's chunk frequency (from an fts5vocab table in the temp schema)."""
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.bench_vocab USING fts5vocab(main, chunks_fts, 'row')")
    total = next(iter(conn.execute("SELECT count(*) AS n FROM chunks")))["n"]
    return total, {r["term"]: r["doc"] for r in conn.execute("SELECT term, doc FROM temp.bench_vocab")}


def lexical_variant(conn, query: str, stopwords: bool, df: dict[str, int] | None, total: int,
                    max_share: float = 1.0, limit: int = ranking.CANDIDATES) -> list:
    """A lexical query variant: each distinct word once; optionally without the stopword list and/or without
    words found in more than `max_share` of the chunks; the join to `chunks` done for the top `limit` rows only
    (same results as joining every match, fewer row reads)."""
    words = list(dict.fromkeys(ranking._WORD.findall(query.lower())))
    if stopwords:
        words = [w for w in words if w not in ranking.STOPWORDS] or words
    if df is not None:
        words = [w for w in words if df.get(porter(conn, w), 0) <= max_share * total] or words
    words = words[: ranking.MAX_QUERY_WORDS]
    if not words:
        return []
    match = " OR ".join(f'"{w}"' for w in words)
    sql = """SELECT c.id, c.page_id, f.score FROM (SELECT rowid, bm25(chunks_fts) AS score FROM chunks_fts
             WHERE chunks_fts MATCH ? ORDER BY score LIMIT ?) f JOIN chunks c ON c.id = f.rowid ORDER BY f.score"""
    return [ranking.Hit(r["id"], r["page_id"], -r["score"]) for r in conn.execute(sql, (match, limit))]


_stems: dict[str, str] = {}


def porter(conn, word: str) -> str:
    """The term FTS5's tokenizer (porter unicode61 remove_diacritics 2) makes of `word`."""
    if word not in _stems:
        conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.bench_stem USING fts5(x, "
                     "tokenize='porter unicode61 remove_diacritics 2')")
        conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.bench_stem_vocab USING fts5vocab(temp, bench_stem, "
                     "'instance')")
        conn.execute("DELETE FROM temp.bench_stem")
        conn.execute("INSERT INTO temp.bench_stem (x) VALUES (?)", (word,))
        row = next(iter(conn.execute("SELECT term FROM temp.bench_stem_vocab")), None)
        _stems[word] = row["term"] if row else word
    return _stems[word]


def lexical_sweep(conn, queries, vectors, docs_of, qrels) -> dict:
    total, df = common_terms(conn)
    out = {}
    for name, variant in (("shipped (stopword list)", None),
                          ("shipped, top-100 join", (True, None, 1.0)),
                          ("no stopword list", (False, None, 1.0)),
                          ("no list; words in > 50% of chunks dropped", (False, df, 0.5)),
                          ("no list; words in > 20% of chunks dropped", (False, df, 0.2)),
                          ("no list; words in > 10% of chunks dropped", (False, df, 0.1)),
                          ("stopword list and words in > 10% of chunks dropped", (True, df, 0.1))):
        lex_ranked, hyb_ranked = {}, {}
        for (qid, text), vector in zip(queries, vectors, strict=True):
            if variant is None:
                chunks = ranking.lexical_chunks(conn, text)
            else:
                stop, terms, share = variant
                chunks = lexical_variant(conn, text, stop, terms, total, share)
            lex = ranking.best_per_page(chunks)
            sem = ranking.best_per_page(ranking.semantic_chunks(conn, vector))
            lex_ranked[qid] = [docs_of[h.page_id] for h in lex[:10]]
            hyb_ranked[qid] = [docs_of[h.page_id] for h in ranking.fuse(lex, sem)[:10]]
        out[name] = {"lexical": round(evaluate(lex_ranked, qrels), 4), "hybrid": round(evaluate(hyb_ranked, qrels), 4)}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=common.DEFAULT_MODEL)
    parser.add_argument("--rebuild", action="store_true", help="build the indexed database again")
    parser.add_argument("--sweep", action="store_true", help="also score fusion variants (train split only)")
    parser.add_argument("--output", default="search_quality.json")
    args = parser.parse_args()

    common.warn_if_busy()
    facts = common.run_facts()
    db_path, info = common.build_scifact(args.model, rebuild=args.rebuild)
    qrels = common.scifact_qrels("train")
    queries = common.train_queries()

    embedder = load_embedder(args.model)
    started = time.perf_counter()
    vectors = embedder.encode([text for _, text in queries])
    encode_s = time.perf_counter() - started

    conn = connect(db_path, readonly=True)
    docs_of = page_docs(conn, info["slug_to_doc"])
    ranked: dict[str, dict[str, list[str]]] = {mode: {} for mode in MODES}
    timings: dict[str, list[float]] = {mode: [] for mode in MODES}
    for (qid, text), vector in zip(queries, vectors, strict=True):
        for mode in MODES:
            t = time.perf_counter()
            hits = ranking.rank_pages(conn, text, vector, mode, 10)
            timings[mode].append((time.perf_counter() - t) * 1000)
            ranked[mode][qid] = [docs_of[h.page_id] for h in hits]
    figures = {mode: round(evaluate(ranked[mode], qrels), 4) for mode in MODES}
    best_single = max(figures["lexical"], figures["semantic"])
    gap = round(figures["hybrid"] - best_single, 4)

    result = {
        **facts,
        "what": "nDCG@10, SciFact train split (809 queries), through search.ranking.rank_pages",
        "model": args.model,
        "index": {k: v for k, v in info.items() if k != "slug_to_doc"},
        "parameters": {"CANDIDATES": ranking.CANDIDATES, "RESCORE": ranking.RESCORE,
                             "LEXICAL_WEIGHT": ranking.LEXICAL_WEIGHT},
        "ndcg_at_10": figures,
        "hybrid_minus_best_single": gap,
        "targets": {"hybrid >= 0.70": figures["hybrid"] >= 0.70, "hybrid >= best single + 0.03": gap >= 0.03},
        "queries": len(qrels),
        "query_encode_ms_per_query": round(encode_s * 1000 / len(queries), 2),
        "rank_ms_in_process": {mode: common.percentiles(t) for mode, t in timings.items()},
        "anchors_test_split": {"BM25 (BEIR)": 0.665, "all-MiniLM-L6-v2 dense (MTEB)": 0.645},
    }
    print(f"SciFact train, {len(qrels)} queries, {info['pages']} pages, {info['chunks']} chunks, model {args.model}")
    for mode in MODES:
        print(f"  nDCG@10 {mode:9s} {figures[mode]:.4f}")
    print(f"  hybrid - max(single) = {gap:+.4f}   (targets: hybrid >= 0.70: "
          f"{'met' if figures['hybrid'] >= 0.70 else 'NOT met'}; gap >= 0.03: {'met' if gap >= 0.03 else 'NOT met'})")

    if args.sweep:
        candidates = {}
        for (qid, text), vector in zip(queries, vectors, strict=True):
            lex = ranking.best_per_page(ranking.lexical_chunks(conn, text))
            sem = ranking.best_per_page(ranking.semantic_chunks(conn, vector))
            candidates[qid] = (lex, sem)
        result["sweep"] = sweep(candidates, docs_of, qrels)
        result["sweep"]["depth"] = depth_sweep(conn, queries, vectors, docs_of, qrels)
        result["sweep"]["lexical_query"] = lexical_sweep(conn, queries, vectors, docs_of, qrels)
        print("fusion variants on train (best 12):")
        for name, value in list(result["sweep"]["variants"].items())[:12]:
            print(f"  {value:.4f}  {name}")
        print("candidate depth (semantic / hybrid nDCG@10, shipped fusion):")
        for name, value in result["sweep"]["depth"].items():
            print(f"  {name}: semantic {value['semantic']:.4f}  hybrid {value['hybrid']:.4f}")
        print("lexical query variants (lexical / hybrid nDCG@10):")
        for name, value in result["sweep"]["lexical_query"].items():
            print(f"  {name}: lexical {value['lexical']:.4f}  hybrid {value['hybrid']:.4f}")
        for fold in result["sweep"]["cross_validation"]:
            print(f"  2-fold CV: chose {fold['chosen_on_tune_half']!r}: tune {fold['tune']:.4f}, held-out "
                  f"{fold['held_out']:.4f} (shipped parameters on held-out {fold['shipped_on_held_out']:.4f})")
    conn.close()
    path = common.write_result(args.output, result)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
