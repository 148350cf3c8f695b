"""Offline search quality (issue 12 item 8): the phone's MiniSearch ranking, before and after, in node.

    nice -n 10 .venv/bin/python tests/bench/bench_offline_search.py [--no-scifact] [--no-variants]

`pwa/static/js/offline-search.js` is run in node through `tldr_minisearch.js` (its own `rank`, as the phone calls
it) over the 7,425 tldr pages (as the phone indexes them: the rendered page as plain text) and over SciFact
(5,183 abstracts), and scored with nDCG@10 on the tldr development set (`questions/tldr_dev.jsonl`) and SciFact
train (809 queries), with each query's time in node (p50/p95). "before" is the file as shipped before issue 12
(`BEFORE`, combineWith "AND"), read from git. Also: the share of questions with no result, variants of the
prefix/fuzzy/title options (one change at a time), the share of questions that still find a judged page in the
top 10 with one typo each (`bench_tldr_questions.inject_typo`, same seed), and the "no good match" flag on the
development set plus `questions/tldr_unanswerable.jsonl` (50 questions no page answers): precision and recall for
"unanswerable", for the shipped rule and for the best threshold of each signal, that threshold also chosen on one
fold and scored on the other.
Writes results/offline_search.json.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench_search_common as common
import bench_tldr_questions as tldr

# The last commit of offline-search.js before issue 12 (MiniSearch with combineWith "AND").
BEFORE = "00daf94224f2da443457b64a09e679348dee675c"
OFFLINE_SEARCH = common.ROOT / "pwa/static/js/offline-search.js"
MINISEARCH = common.ROOT / "pwa/vendor/minisearch.js"
# One change at a time from the shipped options (prefix/fuzzy: words of n letters or more; 0 = none).
VARIANTS = {
    "prefix none": {"prefix": 0}, "prefix 4+": {"prefix": 4}, "prefix all": {"prefix": 1},
    "fuzzy none": {"fuzzy": 0}, "fuzzy 5+": {"fuzzy": 5}, "fuzzy 4+": {"fuzzy": 4},
    "no prefix or fuzzy": {"prefix": 0, "fuzzy": 0},
    "title boost 0.5": {"title": 0.5}, "title boost 2": {"title": 2}, "title boost 3 (before)": {"title": 3},
    "AND (same words)": {"combineWith": "AND"},
    "fuzzy 0.3": {"fuzzy_ratio": 0.3}, "fuzzy 5+, 0.3": {"fuzzy": 5, "fuzzy_ratio": 0.3},
}
SIGNALS = ("share", "exact_share", "idf_share", "score", "strength")


def run_node(script: Path, docs: list[dict], queries: list[str], variants: dict | None = None) -> dict:
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node is not installed (apt-get install nodejs)")
    with tempfile.TemporaryDirectory(prefix="offline-search-") as tmp:
        source = Path(tmp) / "input.json"
        source.write_text(json.dumps({"docs": docs, "queries": queries, "variants": variants or {}}))
        done = subprocess.run([node, str(tldr.OFFLINE_RUNNER), str(MINISEARCH), str(script), str(source)],
                              capture_output=True, text=True, timeout=3600)
    if done.returncode:
        raise RuntimeError(f"node failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def tldr_docs() -> list[dict]:
    """The tldr pages as the phone indexes them: title, and the rendered page as plain text (plainText)."""
    from server.render import render

    tag, entity = re.compile(r"<[^>]*>"), re.compile(r"&[#a-z0-9]+;", re.IGNORECASE)
    toc = re.compile(r'<nav class="toc".*?</nav>', re.DOTALL)  # tldr pages have none; the phone drops it
    docs = []
    for page in tldr.tldr_slugs():
        html = toc.sub(" ", render(page["body"], page["title"])[0])
        docs.append({"id": page["slug"], "title": page["title"],
                     "text": " ".join(entity.sub(" ", tag.sub(" ", html)).split())})
    return docs


def ndcg(ranked: list[list[str]], relevant: list[dict]) -> dict:
    scores = [common.ndcg_at(r, rel) for r, rel in zip(ranked, relevant, strict=True)]
    return {"ndcg_at_10": round(sum(scores) / len(scores), 4), "no_result": sum(not r for r in ranked),
            "n": len(ranked)}


def flag_figures(flags: list[bool], unanswerable: list[bool]) -> dict:
    true = sum(f and u for f, u in zip(flags, unanswerable, strict=True))
    flagged, total = sum(flags), sum(unanswerable)
    return {"precision": round(true / flagged, 3) if flagged else None, "recall": round(true / total, 3),
            "flagged": flagged, "flagged_answerable": flagged - true}


def best_threshold(values: list[float], unanswerable: list[bool]) -> tuple[float, float]:
    """The threshold t (flag when value < t) with the best F1 for "unanswerable"; (t, F1)."""
    best = (0.0, -1.0)
    for t in sorted(set(values)) + [max(values) + 1e-9]:
        flags = [v < t for v in values]
        true = sum(f and u for f, u in zip(flags, unanswerable, strict=True))
        if not true:
            continue
        precision, recall = true / sum(flags), true / sum(unanswerable)
        f1 = 2 * precision * recall / (precision + recall)
        if f1 > best[1]:
            best = (t, f1)
    return best


def calibration(signals: list[dict], unanswerable: list[bool], folds: list[int]) -> dict:
    """The shipped flag, and per signal the best threshold (all questions, and chosen on one fold, scored on
    the other)."""
    out = {"shipped rule": flag_figures([s["no_good_match"] for s in signals], unanswerable)}
    for name in SIGNALS:
        values = [s[name] for s in signals]
        threshold, _ = best_threshold(values, unanswerable)
        row = {"threshold": round(threshold, 4), **flag_figures([v < threshold for v in values], unanswerable)}
        held_out = []
        for fold in (0, 1):
            train = [i for i, f in enumerate(folds) if f != fold]
            test = [i for i, f in enumerate(folds) if f == fold]
            t, _ = best_threshold([values[i] for i in train], [unanswerable[i] for i in train])
            held_out.append({"fold": fold, "threshold": round(t, 4), **flag_figures(
                [values[i] < t for i in test], [unanswerable[i] for i in test])})
        row["cross_validated"] = held_out
        out[name] = row
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-scifact", action="store_true", help="the tldr set only")
    parser.add_argument("--no-variants", action="store_true", help="the shipped options only")
    parser.add_argument("--output", default="offline_search.json")
    args = parser.parse_args()
    common.warn_if_busy()
    result = {**common.run_facts(), "before_commit": BEFORE}
    with tempfile.TemporaryDirectory(prefix="offline-before-") as tmp:
        before = Path(tmp) / "offline-search.js"
        before.write_text(subprocess.run(["git", "show", f"{BEFORE}:pwa/static/js/offline-search.js"],
                                         cwd=common.ROOT, capture_output=True, text=True, check=True).stdout)

        questions = common.read_jsonl(tldr.DEV)
        unanswerable = common.read_jsonl(tldr.UNANSWERABLE)
        docs = tldr_docs()
        rng = random.Random(12)  # the typos of bench_tldr_questions.py: one per question, same seed
        typos = [tldr.inject_typo(q["query"], rng) for q in questions]
        queries = [q["query"] for q in questions + unanswerable] + typos
        relevant = [q["relevant"] for q in questions]
        started = time.perf_counter()
        now = run_node(OFFLINE_SEARCH, docs, queries, None if args.no_variants else VARIANTS)
        old = run_node(before, docs, [q["query"] for q in questions])
        n, m = len(questions), len(questions) + len(unanswerable)
        rows = {"before (AND, as shipped)": old["shipped"], "before, with OR": old["or"],
                "after (shipped)": now["shipped"][:n],
                **{f"  {name}": ranked[:n] for name, ranked in now["variants"].items()}}
        result["tldr"] = {name: ndcg(ranked, relevant) for name, ranked in rows.items()}
        # With one typo per question: the share that still finds a judged page in the top 10.
        typo_rows = {"after (shipped)": now["shipped"][m:],
                     **{f"  {name}": ranked[m:] for name, ranked in now["variants"].items()}}
        result["tldr_typos"] = {
            name: {"found_in_top_10": round(sum(any(s in q["relevant"] for s in r) for q, r in
                                              zip(questions, ranked, strict=True)) / n, 4),
                   "without_typos": round(sum(any(s in q["relevant"] for s in r) for q, r in
                                              zip(questions, rows[name][:n], strict=True)) / n, 4)}
            for name, ranked in typo_rows.items()}
        result["tldr_s"] = round(time.perf_counter() - started, 1)
        result["tldr_query_ms"] = {"before": common.percentiles(old["ms"]), "after": common.percentiles(now["ms"][:n])}
        result["no_good_match"] = calibration(now["signals"][:m], [not q["relevant"] for q in questions + unanswerable],
                                              [q["fold"] for q in questions + unanswerable])
        result["signals"] = {q["id"]: s for q, s in zip(questions + unanswerable, now["signals"][:m], strict=True)}
        # An answerable question whose top 10 holds no judged page is flagged honestly too.
        missed = [not any(s in q["relevant"] for s in r) for q, r in zip(questions, now["shipped"][:n], strict=True)]
        flags = [s["no_good_match"] for s in now["signals"][:n]]
        result["no_good_match"]["answerable flagged, top 10 without a judged page"] = (
            f"{sum(f and m for f, m in zip(flags, missed, strict=True))} of {sum(flags)} flagged "
            f"({sum(missed)} answerable questions have no judged page in the top 10)")

        if not args.no_scifact:
            corpus = common.scifact_corpus()
            sdocs = [{"id": d["_id"], "title": d.get("title", ""), "text": d["text"]} for d in corpus]
            train = common.train_queries()
            qrels = common.scifact_qrels("train")
            srelevant = [qrels[qid] for qid, _ in train]
            started = time.perf_counter()
            snow = run_node(OFFLINE_SEARCH, sdocs, [t for _, t in train], None if args.no_variants else VARIANTS)
            sold = run_node(before, sdocs, [t for _, t in train])
            srows = {"before (AND, as shipped)": sold["shipped"], "before, with OR": sold["or"],
                     "after (shipped)": snow["shipped"],
                     **{f"  {name}": ranked for name, ranked in snow["variants"].items()}}
            result["scifact_train"] = {name: ndcg(ranked, srelevant) for name, ranked in srows.items()}
            result["scifact_s"] = round(time.perf_counter() - started, 1)
            result["scifact_query_ms"] = {"before": common.percentiles(sold["ms"]),
                                          "after": common.percentiles(snow["ms"])}

    print("offline search, nDCG@10 (questions with no result); server lexical for comparison: tldr 0.429, "
          "SciFact train 0.701")
    for name in result["tldr"]:
        t = result["tldr"][name]
        s = result.get("scifact_train", {}).get(name)
        line = f"  {name:28s} tldr {t['ndcg_at_10']:.4f} ({t['no_result']:3d}/{t['n']})"
        if s:
            line += f"   SciFact train {s['ndcg_at_10']:.4f} ({s['no_result']:3d}/{s['n']})"
        print(line)
    print("one typo per tldr question: found a judged page in the top 10 (without the typo)")
    for name, row in result["tldr_typos"].items():
        print(f"  {name:28s} {row['found_in_top_10']:.4f} ({row['without_typos']:.4f})")
    for name in ("tldr_query_ms", "scifact_query_ms"):
        if name in result:
            print(f"  {name} (node on this machine, one query): " + ", ".join(
                f"{when} p50 {p['p50']} / p95 {p['p95']}" for when, p in result[name].items()))
    print("no good match, for the unanswerable questions (precision / recall, flagged answerable):")
    for name, row in result["no_good_match"].items():
        if isinstance(row, str):
            print(f"  {name}: {row}")
            continue
        held = "".join(f"; fold {h['fold']} (t {h['threshold']}): {h['precision']} / {h['recall']}"
                       for h in row.get("cross_validated", []))
        threshold = f" < {row['threshold']}" if "threshold" in row else ""
        print(f"  {name}{threshold}: {row['precision']} / {row['recall']} ({row['flagged_answerable']}){held}")
    path = common.write_result(args.output, result)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
