"""Word search for scripts written without spaces: CJK runs become overlapping two-character pieces.

FTS5's `unicode61` takes a whole Chinese sentence for one token, so a word inside it is never found, and the
`trigram` tokenizer misses two-character words (issue 12 item 6). The `cjk_bigrams` tokenizer cuts every maximal
run of CJK characters into its overlapping pairs ("数据库" -> "数据", "据库"; a lone character stays itself) and
hands all other text to the tokenizer named in its arguments (for chunks_fts: porter over unicode61). The offline
search on the phone splits the same way, so both sides find the same words.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import apsw

NAME = "cjk_bigrams"
# Kana, CJK ext. A, unified Han, compatibility Han, Hangul syllables, Han ext. B and later (the shared decision).
_CJK_RANGES = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\U00020000-\U0002fa1f"
CJK_RUN = re.compile(f"[{_CJK_RANGES}]+")


def bigrams(run: str) -> list[str]:
    """A run of CJK characters as its overlapping pairs; a run of one character as itself."""
    if len(run) < 2:
        return [run] if run else []
    return [run[i:i + 2] for i in range(len(run) - 1)]


def split_runs(text: str) -> Iterator[tuple[bool, str]]:
    """The text as alternating pieces: (True, a CJK run) or (False, anything else), in order, none empty."""
    last = 0
    for match in CJK_RUN.finditer(text):
        if match.start() > last:
            yield False, text[last:match.start()]
        yield True, match.group()
        last = match.end()
    if last < len(text):
        yield False, text[last:]


def _run_tokens(run: str, byte_start: int) -> Iterator[tuple[int, int, str]]:
    """The pieces of one CJK run with their UTF-8 byte offsets (BMP characters take 3 bytes, the rest 4)."""
    ends = []
    offset = byte_start
    for char in run:
        offset += 3 if ord(char) < 0x10000 else 4
        ends.append(offset)
    if len(run) == 1:
        yield byte_start, ends[0], run
        return
    for i in range(len(run) - 1):
        yield (ends[i - 1] if i else byte_start), ends[i + 1], run[i:i + 2]


def cjk_bigrams(conn: apsw.Connection, args: list[str]) -> apsw.Tokenizer:
    """FTS5 tokenizer factory: `cjk_bigrams <inner tokenizer and its arguments>`."""
    if not args:
        raise ValueError(f"{NAME} needs the tokenizer for the rest of the text, e.g. '{NAME} unicode61'")
    inner = conn.fts5_tokenizer(args[0], args[1:])

    def tokenize(utf8: bytes, flags: int, locale: str | None) -> list | Iterator:
        # Most text holds no CJK at all: hand it over whole, so it costs one call to the C tokenizer.
        if utf8.isascii():
            return inner(utf8, flags, locale)
        text = utf8.decode("utf-8", "surrogateescape")
        if not CJK_RUN.search(text):
            return inner(utf8, flags, locale)
        return _mixed(text, flags, locale)

    def _mixed(text: str, flags: int, locale: str | None) -> Iterator[tuple]:
        offset = 0
        for is_cjk, piece in split_runs(text):
            if is_cjk:
                yield from _run_tokens(piece, offset)
                offset += len(piece.encode("utf-8", "surrogateescape"))
                continue
            raw = piece.encode("utf-8", "surrogateescape")
            for start, end, *tokens in inner(raw, flags, locale):
                yield start + offset, end + offset, *tokens
            offset += len(raw)

    return tokenize


def register(conn: apsw.Connection) -> None:
    """Make `cjk_bigrams` known to this connection (each connection needs it before it touches chunks_fts)."""
    conn.register_fts5_tokenizer(NAME, cjk_bigrams)
