"""Merging real edit history: how often concurrent edits on stale bases merge cleanly, and that none lose text.

    python tests/bench/bench_sync_merge.py [--gaps 1,2,3]

Reads ../shared/data/tldr/edit_history.jsonl (every revision of the 50 most-edited tldr pages, in order).
For each page's distinct successive texts r0, r1, ... and a gap k: the edit r[i+k] -> r[i+k+1] is replayed as
if its author had made it offline on r[i] (a base k revisions stale) while r[i+1..i+k] landed meanwhile. The
author's version is that edit transplanted onto r[i] word by word; when the edit touches words that only
exist in the newer revisions, it cannot have been made on r[i] and the pair is counted as "dependent" and
skipped. Each remaining triple (base r[i], theirs r[i+k], ours) is merged by sync.merge.merge_three_way and by
a plain line diff3 (merge3 on lines only) in the same run. For every clean merge the script checks that no
text was lost: every word either side added is there (as often), every line either side added is there, and
it counts how often the result equals the real later revision r[i+k+1], and how many clean merges kept two
different additions at the same place (issue 10 item 14). Writes results/sync_merge.json.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sync.merge import keeps_both_sides, merge_lines_only, merge_three_way, split_lines, split_words  # noqa: E402

HISTORY = ROOT.parent / "shared" / "data" / "tldr" / "edit_history.jsonl"


def load_history(path: Path) -> dict[str, list[str]]:
    """Each page's texts in revision order, with consecutive repeats (merge commits) and deletions dropped."""
    rows: dict[str, list[tuple[int, str]]] = defaultdict(list)
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            rows[record["page"]].append((record["rev"], record["text"]))
    pages = {}
    for page, revisions in rows.items():
        texts: list[str] = []
        for _, text in sorted(revisions):
            if text is not None and (not texts or texts[-1] != text):  # None: the file was deleted
                texts.append(text)
        pages[page] = texts
    return pages


def transplant(old: str, middle: str, new: str) -> str | None:
    """Apply the edit middle -> new onto old, or None when it touches words that old does not have.

    Each changed span must sit, with one token of context on each side, in text that middle and old share.
    """
    t_old, t_mid, t_new = split_words(old), split_words(middle), split_words(new)
    to_old: dict[int, int] = {}
    for a, b, size in difflib.SequenceMatcher(None, t_mid, t_old, autojunk=False).get_matching_blocks():
        for k in range(size):
            to_old[a + k] = b + k
    edits = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, t_mid, t_new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        left, right = i1 - 1, i2  # context tokens around the changed span
        anchors = [i for i in range(max(left, 0), min(right, len(t_mid) - 1) + 1)]
        if any(i not in to_old for i in anchors):
            return None
        if anchors and to_old[anchors[-1]] - to_old[anchors[0]] != anchors[-1] - anchors[0]:
            return None
        start = to_old[i1] if i1 in to_old else (to_old[left] + 1 if left >= 0 else 0)
        edits.append((start, start + (i2 - i1), t_new[j1:j2]))
    out = list(t_old)
    for start, end, tokens in reversed(edits):
        out[start:end] = tokens
    return "".join(out)


def added_lines(base: str, side: str) -> list[str]:
    matcher = difflib.SequenceMatcher(None, split_lines(base), split_lines(side), autojunk=False)
    return [line for tag, _, _, j1, j2 in matcher.get_opcodes() if tag == "insert"
            for line in split_lines(side)[j1:j2] if line.strip()]


def lost_lines(base: str, theirs: str, ours: str, merged: str) -> int:
    merged_lines = set(split_lines(merged if merged.endswith("\n") else merged + "\n"))
    missing = 0
    for side in (theirs, ours):
        for line in added_lines(base, side):
            missing += (line if line.endswith("\n") else line + "\n") not in merged_lines
    return missing


def run(pages: dict[str, list[str]], gap: int) -> dict[str, object]:
    counts = defaultdict(int)
    started = time.perf_counter()
    for texts in pages.values():
        for i in range(len(texts) - gap - 1):
            base, theirs, real = texts[i], texts[i + gap], texts[i + gap + 1]
            ours = transplant(base, theirs, real)
            if ours is None:
                counts["dependent"] += 1
                continue
            if ours == base or theirs == base:
                counts["trivial"] += 1
                continue
            counts["triples"] += 1
            counts["lines_clean"] += merge_lines_only(base, theirs, ours)
            result = merge_three_way(base, theirs, ours)
            if not result.clean:
                continue
            counts["clean"] += 1
            counts["kept_both"] += result.kept_both > 0
            counts["equals_real"] += result.merged == real
            counts["lost_words"] += not keeps_both_sides(base, theirs, ours, result.merged)
            counts["lost_lines"] += lost_lines(base, theirs, ours, result.merged)
    seconds = time.perf_counter() - started
    triples = max(counts["triples"], 1)
    return {"gap": gap, **counts, "clean_share": counts["clean"] / triples,
            "lines_clean_share": counts["lines_clean"] / triples, "seconds": round(seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gaps", default="1,2,3", help="how many revisions stale the base is (comma list)")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "sync_merge.json")
    args = parser.parse_args()
    pages = load_history(HISTORY)
    print(f"{len(pages)} pages, {sum(len(t) for t in pages.values())} distinct revisions")
    rows = [run(pages, int(gap)) for gap in args.gaps.split(",")]
    for row in rows:
        print(f"gap {row['gap']}: {row['triples']} concurrent pairs ({row['dependent']} dependent, "
              f"{row.get('trivial', 0)} trivial skipped); clean: ours {row['clean_share']:.1%} "
              f"vs line diff3 {row['lines_clean_share']:.1%}; clean merges equal to the real revision "
              f"{row['equals_real']}/{row['clean']}; kept both additions {row['kept_both']}; "
              f"lost words {row['lost_words']}, lost added lines "
              f"{row['lost_lines']} ({row['seconds']} s)")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"history": str(HISTORY), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
