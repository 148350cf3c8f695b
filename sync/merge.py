"""Three-way merge of page text: by lines (merge3), then by sentences, then by words.

Prose is often one long line per paragraph, so two people who change different sentences of the same
paragraph would conflict under a plain line merge. A line region that conflicts is merged again on its
sentences, and a sentence region that still conflicts on its words. At every level only changes that
do not overlap are taken (merge3's rule: a region changed on one side only, or changed the same way on
both); anything else stays a conflict that keeps both sides whole. Each region merged finer than lines is
checked once more (`keeps_both_sides`), so that a merge never silently drops text either side added.

One overlap is not a conflict: when both sides only inserted whole lines at the same place (two people adding
an entry to one list, issue 10 item 14), both are kept, the head's lines first. Nothing is lost and nothing
was changed under anyone, so there is nothing for a person to decide.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from merge3 import Merge3

MARK_START = "<<<<<<< current version"
MARK_MIDDLE = "======="
MARK_END = ">>>>>>> your version"

# Finer merges run on the single writer thread, and difflib without autojunk slows down with the number of
# equal-token pairs it must consider: a region longer or more repetitive than this is left as a conflict
# rather than stall every write (about 50 ms at the limits; real paragraphs stay far below).
MAX_REFINE_TOKENS = 4000
MAX_REFINE_PAIRS = 100_000

_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*[^\S\n]+|\n")
_WORD = re.compile(r"\w+[^\S\n]*|[^\w\s][^\S\n]*|\s+")
_BARE_WORD = re.compile(r"\w+|[^\w\s]")


def split_lines(text: str) -> list[str]:
    """Lines with their newline; only `\\n` counts (str.splitlines also splits on form feeds and U+2028)."""
    pieces = text.split("\n")
    return [p + "\n" for p in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])


def split_sentences(text: str) -> list[str]:
    """Sentences with their trailing space; a newline also ends one. Joining them gives the text back."""
    out, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        out.append(text[start : match.end()])
        start = match.end()
    if start < len(text):
        out.append(text[start:])
    return out


def split_words(text: str) -> list[str]:
    """Words and single punctuation marks, each with the spaces after it; newlines stand alone.

    Spaces ride on the word before them: as tokens of their own they would be most of the sequence, and
    difflib's time grows with such frequent tokens (1.8 s against 37 ms on a 2,000-word line).
    """
    return _WORD.findall(text)


@dataclass(frozen=True)
class Part:
    """A stretch of the result: clean text, or a conflict holding both sides (and the base) whole.

    In a conflict, `theirs` is the current head's version of the region and `ours` the author's, each
    with the other side's non-overlapping changes inside the region already applied.
    """

    text: str = ""
    conflict: bool = False
    base: str = ""
    theirs: str = ""
    ours: str = ""

    def as_dict(self) -> dict[str, object]:
        if self.conflict:
            return {"conflict": True, "base": self.base, "theirs": self.theirs, "ours": self.ours}
        return {"conflict": False, "text": self.text}


@dataclass(frozen=True)
class MergeResult:
    clean: bool
    merged: str | None  # the merged text when clean
    proposal: str  # the merged text, or (unclean) the text with conflict markers around each conflict
    parts: tuple[Part, ...]
    kept_both: int = 0  # places where both sides added different lines and both were kept


# Without autojunk: difflib otherwise ignores tokens that are frequent in long inputs (spaces, "the"),
# which makes alignments worse, never better.
_MATCHER = functools.partial(difflib.SequenceMatcher, autojunk=False)


def _groups(base: Sequence[str], theirs: Sequence[str], ours: Sequence[str], matcher: Callable | None):
    return Merge3(base, theirs, ours, sequence_matcher=matcher).merge_groups()


def _refine(base: str, theirs: str, ours: str, splitters: Sequence[Callable[[str], list[str]]]) -> list[Part]:
    """Merge one conflicting region at the next finer level; what still conflicts at the finest is a Part."""
    if not splitters:
        return [Part(conflict=True, base=base, theirs=theirs, ours=ours)]
    split, finer = splitters[0], splitters[1:]
    tokens = [split(base), split(theirs), split(ours)]
    if max(len(t) for t in tokens) > MAX_REFINE_TOKENS or _pairs(tokens) > MAX_REFINE_PAIRS:
        return [Part(conflict=True, base=base, theirs=theirs, ours=ours)]
    parts: list[Part] = []
    for group in _groups(*tokens, _MATCHER):
        if group[0] == "conflict":
            parts.extend(_refine("".join(group[1]), "".join(group[2]), "".join(group[3]), finer))
        else:
            parts.append(Part(text="".join(group[1])))
    return parts


def _pairs(tokens: list[list[str]]) -> int:
    """Equal-token pairs between the base and each side: what difflib's matching work grows with."""
    base = Counter(tokens[0])
    return max(sum(base[t] * n for t, n in Counter(side).items() if t in base) for side in tokens[1:])


def _coalesce(parts: list[Part]) -> tuple[Part, ...]:
    out: list[Part] = []
    for part in parts:
        if out and not part.conflict and not out[-1].conflict:
            out[-1] = Part(text=out[-1].text + part.text)
        elif part.conflict or part.text:
            out.append(part)
    return tuple(out)


def _with_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def _proposal(parts: Sequence[Part]) -> str:
    out = []
    for part in parts:
        if part.conflict:
            out.append(f"{MARK_START}\n{_with_newline(part.theirs)}{MARK_MIDDLE}\n{_with_newline(part.ours)}{MARK_END}\n")
        else:
            out.append(part.text)
    return "".join(out)


def keeps_both_sides(base: str, theirs: str, ours: str, merged: str) -> bool:
    """Every word either side added (counted against the base) is in the merged text as often.

    In a merge of non-overlapping regions, merged = base + what theirs changed + what ours changed, so a
    word added n times by one side appears at least n times: a clean merge failing this lost text.
    """
    merged_count, base_count = Counter(_BARE_WORD.findall(merged)), Counter(_BARE_WORD.findall(base))
    for side in (theirs, ours):
        for word, n in (Counter(_BARE_WORD.findall(side)) - base_count).items():
            if merged_count[word] < n:
                return False
    return True


def _insertions(base: Sequence[str], side: Sequence[str]) -> list[list[str]] | None:
    """The lines `side` inserted before each base line (the last slot: after them all), or None when it
    deleted or changed a base line."""
    slots: list[list[str]] = [[] for _ in range(len(base) + 1)]
    for tag, i1, _, j1, j2 in _MATCHER(None, base, side).get_opcodes():
        if tag == "insert":
            slots[i1].extend(side[j1:j2])
        elif tag != "equal":
            return None
    return slots


def _holds(longer: Sequence[str], shorter: Sequence[str]) -> bool:
    """Whether every line of `shorter` is in `longer`, in order (the one addition already holds the other)."""
    lines = iter(longer)
    return all(line in lines for line in shorter)


def _keep_both(base: Sequence[str], theirs: Sequence[str], ours: Sequence[str]) -> tuple[str, int] | None:
    """When both sides only inserted lines, every base line kept: all the lines, the head's first at each place.

    An addition that the other side's addition holds already (the same lines in order, as when an author's
    later edit of their own list arrives after it) is taken once. Returns the text and how many places kept
    two different additions; None when a side deleted or changed a line of the region.
    """
    their_slots, our_slots = _insertions(base, theirs), _insertions(base, ours)
    if their_slots is None or our_slots is None:
        return None
    out: list[str] = []
    both = 0
    for index, (their_lines, our_lines) in enumerate(zip(their_slots, our_slots, strict=True)):
        if _holds(their_lines, our_lines):
            out.extend(their_lines)
        elif _holds(our_lines, their_lines):
            out.extend(our_lines)
        else:
            out.extend([*their_lines, *our_lines])
            both += 1
        if index < len(base):
            out.append(base[index])
    return "".join(out), both


def merge_three_way(base: str, theirs: str, ours: str) -> MergeResult:
    """Merge `ours` (the author's text, made from `base`) into `theirs` (the current head)."""
    # A missing final newline would make the last line differ on every side that appends after it.
    added_newline = not theirs.endswith("\n") and not ours.endswith("\n") and bool(theirs or ours)
    base_n, theirs_n, ours_n = _with_newline(base), _with_newline(theirs), _with_newline(ours)
    parts: list[Part] = []
    kept_both = 0
    for group in _groups(split_lines(base_n), split_lines(theirs_n), split_lines(ours_n), None):
        if group[0] != "conflict":
            parts.append(Part(text="".join(group[1])))
            continue
        added = _keep_both(*group[1:])
        if added is not None:
            parts.append(Part(text=added[0]))
            kept_both += added[1]
            continue
        region = ["".join(lines) for lines in group[1:]]
        inner = _refine(*region, (split_sentences, split_words))
        if not any(p.conflict for p in inner):
            merged_region = "".join(p.text for p in inner)
            if keeps_both_sides(*region, merged_region):
                parts.append(Part(text=merged_region))
                continue
            inner = [Part(conflict=True, base=region[0], theirs=region[1], ours=region[2])]
        parts.append(Part(
            conflict=True, base=region[0],
            theirs="".join(p.theirs if p.conflict else p.text for p in inner),
            ours="".join(p.ours if p.conflict else p.text for p in inner),
        ))
    merged_parts = _coalesce(parts)
    if not any(p.conflict for p in merged_parts):
        merged = merged_parts[0].text if merged_parts else ""
        if added_newline and merged.endswith("\n"):
            merged = merged[:-1]
        return MergeResult(True, merged, merged, merged_parts, kept_both)
    return MergeResult(False, None, _proposal(merged_parts), merged_parts, kept_both)


def merge_lines_only(base: str, theirs: str, ours: str) -> bool:
    """Whether a plain line-based diff3 (merge3 on lines, nothing finer) merges cleanly; for comparison."""
    groups = _groups(split_lines(_with_newline(base)), split_lines(_with_newline(theirs)),
                     split_lines(_with_newline(ours)), None)
    return not any(group[0] == "conflict" for group in groups)
