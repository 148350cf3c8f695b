"""Search quality on questions people type: nDCG@10 on the tldr development set (issue 12).

    nice -n 10 python tests/bench/bench_tldr_questions.py [--rebuild] [--model all-MiniLM-L6-v2] [--fold 0|1]

The 7,425 tldr pages (`../shared/data/tldr/pages.jsonl`) are imported the way `commonplace import` does it
(starter pages first, then `server.importer.import_path`, so repeated titles get the slugs a server gives them:
`cal`, `cal (2)` -> `cal-2`), and `search.indexer.Indexer` chunks and embeds them with the real model. The built
database is cached under results/ (key: model + the indexing and import code + the data file), so a rerun only
ranks; `--rebuild` builds it again. Each question of `questions/tldr_dev.jsonl` is then answered by
`search.service.SearchService.search`, the call behind `/api/search`, in the lexical, semantic and hybrid
modes (limit 10), on a copy of the cached database. Beside them, two rankers outside the project:

- plain BM25 (k1 0.9, b 0.4) over whole pages (title + text), lower-case word tokens, no stemming or stopwords;
- the offline MiniSearch with the options of `pwa/static/js/offline-search.js` (run with `node`; skipped when
  node is missing), and the same index with `combineWith: "OR"`.

Scores: nDCG@10 (graded 2/1), recall@10 (share of judged pages in the top 10) and top-3 (share of questions
with a grade-2 page in the top 3); also per fold and per kind of question. The unanswerable questions
(`questions/tldr_unanswerable.jsonl`) are run too and their top scores kept, for the "no good match" work.
Writes results/tldr_questions.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import bench_search_common as common

QUESTIONS = common.HERE / "questions"
DEV = QUESTIONS / "tldr_dev.jsonl"
UNANSWERABLE = QUESTIONS / "tldr_unanswerable.jsonl"
MODES = ("lexical", "semantic", "hybrid")
IMPORT_CODE = ["server/importer.py", "server/seed.py"]
BUILD_VERSION = "1"  # bump when build_tldr changes what it writes
OFFLINE_RUNNER = common.HERE / "tldr_minisearch.js"


# ----------------------------------------------------------------------------------------------------------------
# The tldr index, built once per model and index code.


def tldr_paths(model: str) -> tuple[Path, Path]:
    digest = hashlib.sha256(f"{model}\0{BUILD_VERSION}".encode())
    for name in common.INDEX_CODE + IMPORT_CODE:
        digest.update(name.encode() + b"\0" + (common.ROOT / name).read_bytes())
    digest.update(f"{common.TLDR.stat().st_size}:{common.TLDR.stat().st_mtime_ns}".encode())
    key = f"{model.replace('/', '_')}-{digest.hexdigest()[:16]}"
    return common.RESULTS / f"tldr-{key}.db", common.RESULTS / f"tldr-{key}.json"


def build_tldr(model: str, rebuild: bool = False, log=print) -> tuple[Path, dict]:
    with common.build_lock("tldr"):
        return _build_tldr(model, rebuild, log)


def _build_tldr(model: str, rebuild: bool, log) -> tuple[Path, dict]:
    """All tldr pages imported as `commonplace import` does and indexed with `model`; cached under results/."""
    from search.embedder import LazyEmbedder
    from search.indexer import Indexer
    from server.db import Database
    from server.importer import import_path
    from server.seed import seed_if_empty

    db_path, info_path = tldr_paths(model)
    info = common.cached_build(db_path, info_path, rebuild, log)
    if info is not None:
        return db_path, info
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    for old in [*common.RESULTS.glob("tldr-*.db*"), *common.RESULTS.glob("tldr-*.json")]:
        old.unlink()
    tmp = db_path.with_name(db_path.name + ".building")
    db = Database(tmp)
    try:
        started = time.perf_counter()
        seeded = seed_if_empty(db)
        report = import_path(db, common.TLDR)
        import_s = time.perf_counter() - started
        log(f"imported {report.created} pages (+{seeded} starter pages; {len(report.rejected)} rejected) "
            f"in {import_s:.1f} s")
        embedder = LazyEmbedder(model)
        if embedder.get(timeout=None) is None:
            raise RuntimeError(f"the model {model} did not load: {embedder.error}")
        indexer = Indexer(db, embedder)
        started = last = time.perf_counter()
        done = 0

        def progress(pages: int) -> None:
            nonlocal done, last
            done += pages
            if time.perf_counter() - last > 30:
                last = time.perf_counter()
                log(f"  indexed {done} pages, {indexer.stats.chunks} chunks, "
                    f"{indexer.stats.chunks / (last - started):.1f} chunks/s")

        stats = indexer.drain(progress)
        index_s = time.perf_counter() - started
        chunks = db.read(lambda c: next(iter(c.execute("SELECT count(*) AS n FROM chunks")))["n"])
        log(f"indexed {stats.pages} pages into {chunks} chunks in {index_s:.1f} s ({chunks / index_s:.1f} chunks/s)")
    finally:
        db.close()
    common.checkpoint(tmp)
    tmp.rename(db_path)
    info = {"built": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "model": model, "key": db_path.stem,
            "pages": report.created + seeded, "tldr_pages": report.created, "starter_pages": seeded,
            "chunks": chunks, "import_s": round(import_s, 1), "index_s": round(index_s, 1),
            "chunks_per_s": round(chunks / index_s, 1), "load_average_after_build": common.load_average()}
    info_path.write_text(json.dumps(info) + "\n")
    info["cached"] = False
    return db_path, info


def db_slugs(db_path: Path) -> set[str]:
    from server.db import connect

    conn = connect(db_path, readonly=True)
    try:
        return {r["slug"] for r in conn.execute("SELECT slug FROM pages")}
    finally:
        conn.close()


def tldr_slugs() -> list[dict]:
    """Slug, title and text of every tldr page, as the importer names them (repeats numbered in file order)."""
    from server.slugs import clean_title, slugify

    seen: Counter = Counter()
    out = []
    for record in common.tldr_pages():
        title = clean_title(record["title"])
        seen[slugify(title)] += 1
        if seen[slugify(title)] > 1:
            title = f"{title} ({seen[slugify(title)]})"
        out.append({"slug": slugify(title), "title": title, "body": record["text"], "platform": record["platform"]})
    return out


# ----------------------------------------------------------------------------------------------------------------
# Rankers.


def project_rankings(db_path: Path, model: str, queries: list[str], typo_queries: list[str]) -> dict[str, list[dict]]:
    """Each mode's answers through `SearchService.search` (as `/api/search`), on a copy of the cached database.

    Also the queries with one typo each (`typo_queries`), in hybrid and lexical mode, with the spelling
    correction on (`typos_hybrid`, `typos_lexical`) and off (`typos_hybrid_uncorrected`).
    """
    from search import spelling
    from search.service import SearchService
    from server.db import Database

    with tempfile.TemporaryDirectory(prefix="tldr-bench-") as tmp:
        copy = Path(tmp) / "commonplace.db"
        shutil.copyfile(db_path, copy)
        db = Database(copy)
        service = SearchService(db, model)
        try:
            service.embedder.start()
            if service.embedder.get(timeout=None) is None:
                raise RuntimeError(f"the model {model} did not load: {service.embedder.error}")
            service.search("warm up", 10, "semantic")  # loads the in-memory sign bits, as a running server has
            if service.bits._thread is not None:
                service.bits._thread.join()
            out: dict[str, list[dict]] = {}
            runs = [(mode, mode, queries) for mode in MODES]
            runs += [("typos_hybrid", "hybrid", typo_queries), ("typos_lexical", "lexical", typo_queries)]
            for name, mode, texts in runs:
                out[name] = [service.search(query, 10, mode) for query in texts]
                wrong = [r for r in out[name] if r["mode"] != mode and r.get("language") != "other"]
                if wrong:
                    raise RuntimeError(f"{mode} answered as {wrong[0]['mode']}: {wrong[0].get('notice')}")
            correct, spelling.correct = spelling.correct, lambda *args: None
            try:
                out["typos_hybrid_uncorrected"] = [service.search(query, 10, "hybrid") for query in typo_queries]
            finally:
                spelling.correct = correct
        finally:
            service.stop()
            db.close()
    return out


def inject_typo(query: str, rng: random.Random) -> str:
    """One typo in one word of four letters or more that is not a stopword: two neighbours swapped, a letter
    dropped, doubled or changed to a neighbour on the keyboard (the word is picked at random, seeded)."""
    from search.ranking import STOPWORDS

    words = [m for m in re.finditer(r"[A-Za-z]{4,}", query) if m.group().lower() not in STOPWORDS]
    if not words:
        return query
    match = rng.choice(words)
    word, i = match.group(), rng.randrange(1, len(match.group()) - 1)
    kind = rng.choice(("swap", "drop", "double", "change"))
    if kind == "swap":
        typo = word[:i] + word[i + 1] + word[i] + word[i + 2:]
    elif kind == "drop":
        typo = word[:i] + word[i + 1:]
    elif kind == "double":
        typo = word[:i] + word[i] + word[i:]
    else:
        row = next((r for r in KEYBOARD if word[i].lower() in r), "")
        at = row.find(word[i].lower())
        typo = word[:i] + (row[at - 1] if at > 0 else row[at + 1:at + 2] or "x") + word[i + 1:]
    return query[:match.start()] + typo + query[match.end():]


KEYBOARD = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
TYPO_EXAMPLES = {"histroy": "history", "grpe": "grep", "dokcer compose": "docker-compose"}


def no_good_match_figures(replies: list[dict], answerable: int) -> dict:
    """Precision and recall of `no_good_match` as a detector of the unanswerable questions (listed after the
    answerable ones)."""
    flagged = [bool(r.get("no_good_match")) for r in replies]
    true_pos = sum(flagged[answerable:])
    false_pos = sum(flagged[:answerable])
    unanswerable = len(replies) - answerable
    return {"precision": round(true_pos / (true_pos + false_pos), 4) if true_pos + false_pos else None,
            "recall": round(true_pos / unanswerable, 4) if unanswerable else None,
            "flagged_unanswerable": true_pos, "flagged_answerable": false_pos,
            "answerable": answerable, "unanswerable": unanswerable}


_TOKEN = re.compile(r"\w+", re.UNICODE)


def word_tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def fts_tokens() -> Callable[[str], list[str]]:
    """Tokens as chunks_fts makes them (porter over unicode61, diacritics removed)."""
    import apsw

    from search import ranking, tokenizer

    conn = apsw.Connection(":memory:")
    tokenizer.register(conn)
    tokenize = conn.fts5_tokenizer(*ranking.FTS_TOKENIZER)
    return lambda text: [t[2] for t in tokenize(text.encode("utf-8", "surrogatepass"),
                                                 apsw.FTS5_TOKENIZE_DOCUMENT, None)]


class BM25:
    """Okapi BM25 over whole documents (by default lower-case word tokens, no stemming, no stopwords)."""

    def __init__(self, docs: dict[str, str], k1: float = 0.9, b: float = 0.4,
                 tokenize: Callable[[str], list[str]] = word_tokens) -> None:
        self.k1, self.b, self.tokenize = k1, b, tokenize
        self.tf = {key: Counter(tokenize(text)) for key, text in docs.items()}
        self.length = {key: sum(tf.values()) for key, tf in self.tf.items()}
        self.average = statistics.fmean(self.length.values())
        df: Counter = Counter()
        for tf in self.tf.values():
            df.update(tf.keys())
        n = len(docs)
        self.idf = {term: math.log(1 + (n - count + 0.5) / (count + 0.5)) for term, count in df.items()}
        self.postings: dict[str, list[str]] = {}
        for key, tf in self.tf.items():
            for term in tf:
                self.postings.setdefault(term, []).append(key)

    def search(self, query: str, limit: int = 10, stopwords: frozenset[str] = frozenset()) -> list[tuple[str, float]]:
        words = [w for w in word_tokens(query) if w not in stopwords] or word_tokens(query)
        scores: Counter = Counter()
        for term in set(self.tokenize(" ".join(words))):
            idf = self.idf.get(term, 0.0)
            for key in self.postings.get(term, ()):
                tf = self.tf[key][term]
                norm = self.k1 * (1 - self.b + self.b * self.length[key] / self.average)
                scores[key] += idf * tf * (self.k1 + 1) / (tf + norm)
        return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]


def lexical_diagnosis(db_path: Path, pages: list[dict], questions: list[dict], log=print) -> dict:
    """Why the word search is below plain BM25 (issue 12 item 3): one difference of chunks_fts at a time.

    Page-level BM25 with the project's stopword list, FTS5's tokenizer (porter stemming), FTS5's bm25 constants
    (k1 1.2, b 0.75), and all three; then the shipped chunk-level search without its stopword list and without
    its postings budget.
    """
    from bench_search_quality import lexical_variant

    from search import ranking
    from server.db import connect

    docs = {p["slug"]: p["title"] + "\n" + p["body"] for p in pages}
    stemmed = fts_tokens()
    plain, fts_like = BM25(docs), BM25(docs, 1.2, 0.75, stemmed)
    variants = {
        "page BM25 plain (k1 0.9, b 0.4)": (plain, frozenset()),
        "  + the project's stopword list": (plain, ranking.STOPWORDS),
        "  + FTS5 tokenizer (porter)": (BM25(docs, tokenize=stemmed), frozenset()),
        "  + FTS5 bm25 constants (k1 1.2, b 0.75)": (BM25(docs, 1.2, 0.75), frozenset()),
        "  all three (FTS5's scoring over pages)": (fts_like, ranking.STOPWORDS),
    }
    out = {}
    for name, (index, stop) in variants.items():
        ranked = [[slug for slug, _ in index.search(q["query"], stopwords=stop)] for q in questions]
        out[name] = scores_of(ranked, questions)["ndcg_at_10"]
    conn = connect(db_path, readonly=True)
    try:
        slug_of = {r["id"]: r["slug"] for r in conn.execute("SELECT id, slug FROM pages")}

        def chunk_level(fn) -> float:
            ranked = [[slug_of[h.page_id] for h in ranking.best_per_page(fn(q["query"]))[:10]] for q in questions]
            return scores_of(ranked, questions)["ndcg_at_10"]

        out["chunks_fts as shipped (lexical mode)"] = chunk_level(lambda q: ranking.lexical_chunks(conn, q))
        out["  without the postings budget"] = chunk_level(lambda q: ranking.lexical_chunks(conn, q, budget=10**12))
        out["  without the stopword list (and budget)"] = chunk_level(
            lambda q: lexical_variant(conn, q, False, None, 0))
        out["chunks per page"] = round(next(iter(conn.execute("SELECT count(*) AS n FROM chunks")))["n"]
                                       / max(1, len(slug_of)), 3)
    finally:
        conn.close()
    for name, value in out.items():
        log(f"    {name:45s} {value:.4f}")
    return out


def offline_rankings(pages: list[dict], queries: list[str]) -> dict[str, list[list[str]]] | None:
    """MiniSearch as offline-search.js configures it (AND) and the same with OR; None when node is missing."""
    node = shutil.which("node")
    if node is None:
        return None
    from server.render import render

    tag, entity = re.compile(r"<[^>]*>"), re.compile(r"&[#a-z0-9]+;", re.IGNORECASE)
    docs = []
    for page in pages:  # the text the phone indexes: the rendered page as plain text (offline-search.js plainText)
        html = render(page["body"], page["title"])[0]
        docs.append({"id": page["slug"], "title": page["title"],
                     "text": " ".join(entity.sub(" ", tag.sub(" ", html)).split())})
    with tempfile.TemporaryDirectory(prefix="tldr-minisearch-") as tmp:
        source = Path(tmp) / "input.json"
        source.write_text(json.dumps({"docs": docs, "queries": queries}))
        done = subprocess.run([node, str(OFFLINE_RUNNER), str(common.ROOT / "pwa/vendor/minisearch.js"),
                               str(common.ROOT / "pwa/static/js/offline-search.js"), str(source)],
                              capture_output=True, text=True, timeout=3600)
    if done.returncode:
        raise RuntimeError(f"node failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


# ----------------------------------------------------------------------------------------------------------------
# Scores.


def scores_of(ranked: list[list[str]], questions: list[dict]) -> dict:
    ndcg = [common.ndcg_at(r, q["relevant"]) for r, q in zip(ranked, questions, strict=True)]
    recall = [len(set(r[:10]) & set(q["relevant"])) / len(q["relevant"])
              for r, q in zip(ranked, questions, strict=True)]
    top3 = [any(q["relevant"].get(s) == 2 for s in r[:3]) for r, q in zip(ranked, questions, strict=True)]
    empty = [not r for r in ranked]
    return {"ndcg_at_10": round(statistics.fmean(ndcg), 4), "recall_at_10": round(statistics.fmean(recall), 4),
            "answer_in_top_3": round(statistics.fmean(top3), 4), "no_result": sum(empty), "n": len(questions),
            "per_question": [round(x, 4) for x in ndcg]}


def breakdown(ranked: list[list[str]], questions: list[dict], field: str) -> dict:
    out = {}
    for value in sorted({str(q[field]) for q in questions}):
        picked = [i for i, q in enumerate(questions) if str(q[field]) == value]
        out[value] = scores_of([ranked[i] for i in picked], [questions[i] for i in picked])["ndcg_at_10"]
    return out


def typo_figures(replies: dict[str, list[dict]], questions: list[dict], typo_queries: list[str]) -> dict:
    """Share of questions that still find a judged page in the top 10 with one typo each, and the examples."""
    def share(name: str) -> float:
        hits = [any(r["slug"] in q["relevant"] for r in reply["results"][:10])
                for reply, q in zip(replies[name], questions, strict=False)]
        return round(statistics.fmean(hits), 4)

    n = len(questions)
    examples = {query: tuple(slug in [r["slug"] for r in replies[name][n + i]["results"][:3]]
                             for name in ("typos_hybrid", "typos_lexical"))
                for i, (query, slug) in enumerate(TYPO_EXAMPLES.items())}
    shares = {"hybrid, no typo": "hybrid", "hybrid, typo, corrected": "typos_hybrid",
              "hybrid, typo, no correction": "typos_hybrid_uncorrected", "lexical, no typo": "lexical",
              "lexical, typo, corrected": "typos_lexical"}
    return {"share_in_top_10": {label: share(name) for label, name in shares.items()},
            "corrected": sum("corrected_query" in r for r in replies["typos_hybrid"][:n]),
            "typo_queries": dict(zip([q["id"] for q in questions], typo_queries, strict=True)),
            "examples": examples}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=common.DEFAULT_MODEL)
    parser.add_argument("--rebuild", action="store_true", help="build the indexed database again")
    parser.add_argument("--build-only", action="store_true", help="build (or find) the cached index and stop")
    parser.add_argument("--no-offline", action="store_true", help="skip the MiniSearch rankers")
    parser.add_argument("--no-diagnosis", action="store_true", help="skip the lexical-versus-BM25 variants")
    parser.add_argument("--output", default="tldr_questions.json")
    args = parser.parse_args()

    common.warn_if_busy()
    facts = common.run_facts()
    db_path, info = build_tldr(args.model, rebuild=args.rebuild)
    if args.build_only:
        return 0
    questions = common.read_jsonl(DEV)
    unanswerable = common.read_jsonl(UNANSWERABLE)
    pages = tldr_slugs()
    known = {p["slug"] for p in pages}
    if known - db_slugs(db_path):
        raise SystemExit(f"the importer named pages otherwise than tldr_slugs: {sorted(known - db_slugs(db_path))[:5]}")
    missing = sorted({s for q in questions for s in q["relevant"] if s not in known})
    if missing:
        raise SystemExit(f"judged slugs that are not tldr pages: {missing}")

    rng = random.Random(12)
    typo_queries = [inject_typo(q["query"], rng) for q in questions]
    started = time.perf_counter()
    replies = project_rankings(db_path, args.model, [q["query"] for q in questions + unanswerable],
                               typo_queries + list(TYPO_EXAMPLES))
    project_s = time.perf_counter() - started
    typos = typo_figures(replies, questions, typo_queries)
    ranked = {mode: [[r["slug"] for r in reply["results"]] for reply in replies[mode][: len(questions)]]
              for mode in MODES}
    top_scores = {mode: {"answerable": [reply["results"][0]["score"] if reply["results"] else None
                                        for reply in replies[mode][: len(questions)]],
                         "unanswerable": [reply["results"][0]["score"] if reply["results"] else None
                                          for reply in replies[mode][len(questions):]]} for mode in MODES}

    bm25 = BM25({p["slug"]: p["title"] + "\n" + p["body"] for p in pages})
    ranked["bm25"] = [[slug for slug, _ in bm25.search(q["query"])] for q in questions]
    offline_note = "skipped (--no-offline)" if args.no_offline else None
    if not args.no_offline:
        offline = offline_rankings(pages, [q["query"] for q in questions])
        if offline is None:
            offline_note = "skipped: node is not installed"
        else:
            ranked["offline"] = offline["shipped"]

    figures = {name: scores_of(r, questions) for name, r in ranked.items()}
    result = {
        **facts,
        "what": "tldr development set (tests/bench/questions/tldr_dev.jsonl) through SearchService.search "
                "(as /api/search), plus plain BM25 and the offline MiniSearch",
        "model": args.model,
        "index": info,
        "questions": len(questions), "unanswerable_questions": len(unanswerable),
        "scores": figures,
        "by_fold": {name: breakdown(r, questions, "fold") for name, r in ranked.items()},
        "by_kind": {name: breakdown(r, questions, "kind") for name, r in ranked.items()},
        "by_platform": {name: breakdown(r, questions, "platform") for name, r in ranked.items()},
        "top_scores": top_scores,
        "no_good_match": {mode: no_good_match_figures(replies[mode], len(questions)) for mode in MODES},
        "typos": typos,
        "offline": offline_note or "run: offline = offline-search.js as shipped (more in bench_offline_search.py)",
        "project_search_s": round(project_s, 1),
        "rankings": {name: {q["id"]: r for q, r in zip(questions, rs, strict=True)} for name, rs in ranked.items()},
    }
    print(f"tldr development set: {len(questions)} questions, {info['pages']} pages, {info['chunks']} chunks, "
          f"model {args.model}")
    print(f"  {'ranker':12s} {'nDCG@10':>8s} {'recall@10':>10s} {'top-3':>7s} {'empty':>6s}   fold 0 / fold 1")
    for name, f in figures.items():
        folds = result["by_fold"][name]
        print(f"  {name:12s} {f['ndcg_at_10']:8.4f} {f['recall_at_10']:10.4f} {f['answer_in_top_3']:7.4f} "
              f"{f['no_result']:6d}   {folds.get('0', 0):.4f} / {folds.get('1', 0):.4f}")
    if offline_note:
        print(f"  offline MiniSearch: {offline_note}")
    print("  no_good_match as a detector of the 50 unanswerable questions (precision / recall):")
    for mode, f in result["no_good_match"].items():
        print(f"    {mode:9s} {f['precision']} / {f['recall']}  ({f['flagged_unanswerable']} of {f['unanswerable']} "
              f"unanswerable flagged, {f['flagged_answerable']} of {f['answerable']} answerable)")
    print("  one typo per question, share with a judged page in the top 10:")
    for name, share in typos["share_in_top_10"].items():
        print(f"    {name:28s} {share:.4f}")
    found = [f"{q!r} {'yes' if a else 'NO'}/{'yes' if b else 'NO'}" for q, (a, b) in typos["examples"].items()]
    print("  typo examples in the top 3 (hybrid / lexical): " + ", ".join(found))
    if not args.no_diagnosis:
        print("  word search versus plain BM25, one difference at a time (nDCG@10):")
        result["lexical_diagnosis"] = lexical_diagnosis(db_path, pages, questions)
    path = common.write_result(args.output, result)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
