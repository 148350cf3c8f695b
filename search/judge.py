"""Whether a search found anything good: "no good match" instead of a confident list of unrelated pages.

Calibrated on the tldr development set (259 answerable questions) and 50 questions no tldr page answers
(tests/bench/questions/), by tests/bench/bench_tldr_questions.py; the figures are in tests/bench/README.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import apsw

from search import ranking
from search.ranking import FTS_TOKENIZER, Hit
from search.tokenizer import CJK_RUN
from server.db import Conn

# all-MiniLM-L6-v2 cosine of the best passage: median 0.59 for answerable questions, 0.29 for unanswerable ones;
# at 0.40, precision 0.89 and recall 0.82 for the unanswerable (0.38: 0.93 / 0.74; 0.42: 0.87 / 0.90).
SEMANTIC_FLOOR = 0.40
# Without meaning (no model, or a query not in English): the best page lacks some of the query's words and its bm25
# is under this many times the weight (idf) of the query's rarest word. tldr set, lexical mode: precision 0.57,
# recall 0.78 (1.5: 0.70 / 0.42; 2.5: 0.40 / 0.88); "holds under a third of the words" alone gave 0.49 / 0.56.
WORD_SCORE_FLOOR = 2.0


@dataclass
class Found:
    """A ranking and the evidence behind it."""

    mode: str
    hits: list[Hit]
    lexical: list[Hit] = field(default_factory=list)
    semantic: list[Hit] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    notice: str | None = None
    exact_title: bool = False


def no_good_match(conn: Conn, found: Found) -> bool:
    """By meaning when it ranked; by words otherwise (see WORD_SCORE_FLOOR)."""
    if not found.hits:
        return True
    if found.exact_title:
        return False
    if found.semantic:
        return max(h.score for h in found.semantic) < SEMANTIC_FLOOR
    if word_share(conn, found.words, found.hits[0].chunk_id) >= 1.0:
        return False
    return found.hits[0].score < WORD_SCORE_FLOOR * rarest_weight(conn, found.words)


def rarest_weight(conn: Conn, words: list[str]) -> float:
    """The bm25 idf of the query's rarest word that the index holds (as FTS5 computes it)."""
    postings = [n for n in ranking.word_postings(conn, words).values() if n]
    if not postings:
        return 0.0
    chunks = next(iter(conn.execute("SELECT count(*) AS n FROM chunks")))["n"]
    return math.log(1 + (chunks - min(postings) + 0.5) / (min(postings) + 0.5))


def word_share(conn: Conn, words: list[str], chunk_id: int) -> float:
    """The share of `words` that the chunk holds, compared as the word index keeps them (stemmed, CJK pieces)."""
    row = next(iter(conn.execute("SELECT text FROM chunks WHERE id = ?", (chunk_id,))), None)
    if not words or row is None:
        return 0.0
    tokenize = conn.fts5_tokenizer(*FTS_TOKENIZER)

    def tokens(text: str, reason: int) -> set[str]:
        return {t[2] for t in tokenize(text.encode("utf-8", "surrogatepass"), reason, None)}

    # CJK pieces are left out: a sentence's pieces cross word boundaries ("件丢" in "文件丢失"), so most of them are
    # in no page however good the match; a query of CJK only is judged by whether anything matched at all.
    words = [w for w in words if not CJK_RUN.fullmatch(w)]
    if not words:
        return 1.0
    held = tokens(row["text"], apsw.FTS5_TOKENIZE_DOCUMENT)
    found = [w for w in words if (wanted := tokens(w, apsw.FTS5_TOKENIZE_QUERY)) and wanted <= held]
    return len(found) / len(words)
