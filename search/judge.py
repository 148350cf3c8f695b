"""Whether a search found anything good: "no good match" instead of a confident list of unrelated pages.

Calibrated on the tldr development set (259 answerable questions) and 50 questions no tldr page answers
(tests/bench/questions/), by tests/bench/bench_tldr_questions.py; the figures are in tests/bench/README.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from search.ranking import Hit

# all-MiniLM-L6-v2 cosine of the best passage: median 0.59 for answerable questions, 0.29 for unanswerable ones.
SEMANTIC_FLOOR = 0.40


@dataclass
class Found:
    """A ranking and the evidence behind it."""

    mode: str
    hits: list[Hit]
    lexical: list[Hit] = field(default_factory=list)
    semantic: list[Hit] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    notice: str | None = None


def no_good_match(found: Found) -> bool:
    if not found.hits:
        return True
    if found.semantic:
        return max(h.score for h in found.semantic) < SEMANTIC_FLOOR
    return False
