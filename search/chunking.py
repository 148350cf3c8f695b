"""Split a page into chunks that an embedding model reads whole.

A page's Markdown is split into sections by headings, sections into paragraphs (fenced code blocks and lists stay
whole where they fit), and consecutive paragraphs of one section are packed greedily into chunks. Every chunk's
text starts with the page title (and the section heading), and `count_tokens(chunk.text) <= max_tokens` always
holds: an over-long paragraph is split by lines, then sentences, clauses, words, and at last characters.

Packing restarts at every section, so an edit in one section never moves the chunks of another; chunks are keyed
by the hash of their text, so unchanged chunks keep their embeddings.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

HEADING_SEPARATOR = " — "
PREFIX_SEPARATOR = "\n\n"
PARAGRAPH_SEPARATOR = "\n\n"
MIN_MAX_TOKENS = 8

CountTokens = Callable[[str], int]


@dataclass(frozen=True)
class Chunk:
    ord: int  # position in the page, 0..n-1
    heading: str  # nearest heading above ("" for the intro)
    text: str  # what is embedded and lexically indexed; starts with the title (and heading)
    hash: str  # sha256 hex of text (embedding cache key)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# --------------------------------------------------------------------------------------------------------------
# Markdown blocks.

_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$")
_LIST_ITEM = re.compile(r"^\s{0,3}(?:[-*+]|\d{1,9}[.)])(?:\s|$)")
_INDENTED = re.compile(r"^(?: {2,}|\t)\S")


@dataclass
class _Block:
    lines: list[str]
    code: bool = False
    is_list: bool = False


def _sections(body: str) -> list[tuple[str, list[_Block]]]:
    """(raw heading, blocks) in page order; the first section is the intro (heading "")."""
    sections: list[tuple[str, list[_Block]]] = [("", [])]
    block: _Block | None = None
    fence: str | None = None  # the opening fence while inside a fenced block
    blank_after_list = False

    def finish() -> None:
        nonlocal block, blank_after_list
        if block is not None and any(line.strip() for line in block.lines):
            sections[-1][1].append(block)
        block = None
        blank_after_list = False

    for line in body.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if fence is not None:
            assert block is not None
            stripped = line.strip()
            if stripped.startswith(fence[0]) and set(stripped) == {fence[0]} and len(stripped) >= len(fence):
                fence = None
                finish()
            else:
                block.lines.append(line)
            continue
        opening = _FENCE_OPEN.match(line)
        if opening and not (opening.group(1)[0] == "`" and "`" in opening.group(2)):
            finish()
            fence = opening.group(1)
            block = _Block([], code=True)
            continue
        heading = _HEADING.match(line)
        if heading:
            finish()
            text = re.sub(r"[ \t]+#+$", "", heading.group(2) or "").strip()
            text = "" if set(text) <= {"#"} else text
            sections.append((text, []))
            continue
        if not line.strip():
            if block is not None and block.is_list:
                blank_after_list = True  # a loose list may continue after the blank line
            else:
                finish()
            continue
        if block is not None and blank_after_list:
            if _LIST_ITEM.match(line) or _INDENTED.match(line):
                block.lines.append(line)
                blank_after_list = False
                continue
            finish()
        if block is None:
            block = _Block([line], is_list=bool(_LIST_ITEM.match(line)))
        else:
            block.lines.append(line)
    finish()  # an unclosed fence runs to the end of the page, as in CommonMark
    return sections


# --------------------------------------------------------------------------------------------------------------
# Light Markdown stripping: keep the words, drop the syntax.

_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_IMAGE = re.compile(r"!\[([^\]]*)\](?:\((?:[^()]|\([^()]*\))*\)|\[[^\]]*\])")
_WIKI_LINK = re.compile(r"\[\[([^\[\]\n]+?)\]\]")
_LINK = re.compile(r"\[([^\[\]]*)\]\((?:[^()]|\([^()]*\))*\)")
_REF_LINK = re.compile(r"\[([^\[\]]+)\]\[[^\[\]]*\]")
_AUTOLINK = re.compile(r"<((?:[a-zA-Z][a-zA-Z0-9+.-]{1,31}:[^<>\s]+)|(?:[^<>\s@]+@[^<>\s@]+))>")
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")
_MNEMONIC = re.compile(r"\[(\w{1,3})\](?=\w)|(?<=\w)\[(\w{1,3})\]")  # tldr's "[n]ame", "e[x]tract"
_STRONG = re.compile(r"\*\*|__")
_EMPHASIS = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])|(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_LINE_PREFIX = re.compile(r"^\s*(?:>\s?)*\s*(?:(?:[-*+]|\d{1,9}[.)])\s+)?(?:\[[ xX]\]\s+)?")
_RULE = re.compile(r"^\s*(?:(?:-\s*){3,}|(?:\*\s*){3,}|(?:_\s*){3,}|=+)\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)+\|?\s*$")
_REF_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+.*$")
_SPACES = re.compile(r"[ \t\u00a0]+")


def _wiki_label(match: re.Match[str]) -> str:
    target, _, label = match.group(1).partition("|")
    return (label.strip() or target.strip()) if label else target.strip()


def _clean_prose(text: str) -> str:
    text = _IMAGE.sub(r"\1", text)
    text = _WIKI_LINK.sub(_wiki_label, text)
    text = _LINK.sub(r"\1", text)
    text = _REF_LINK.sub(r"\1", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _HTML_TAG.sub(" ", text)
    text = _PLACEHOLDER.sub(r"\1", text)
    text = _MNEMONIC.sub(lambda m: m.group(1) or m.group(2), text)
    text = _STRONG.sub("", text)
    text = _EMPHASIS.sub(lambda m: m.group(1) or m.group(2) or "", text)
    return _ESCAPE.sub(r"\1", text)


def clean_inline(text: str) -> str:
    """Markdown inline syntax stripped to its words; code spans keep their text (their own syntax is left alone)."""
    text = _HTML_COMMENT.sub(" ", text)
    out: list[str] = []
    at = 0
    for span in _CODE_SPAN.finditer(text):
        out.append(_clean_prose(text[at : span.start()]))
        out.append(_PLACEHOLDER.sub(r"\1", span.group(2).strip()))
        at = span.end()
    out.append(_clean_prose(text[at:]))
    return _SPACES.sub(" ", "".join(out)).strip()


def _clean_block(block: _Block) -> str:
    if block.code:
        lines = [line.rstrip() for line in block.lines]
        while lines and not lines[0].strip():
            lines.pop(0)
        while lines and not lines[-1].strip():
            lines.pop()
        return "\n".join(lines)
    kept = []
    for line in block.lines:
        if _RULE.match(line) or _TABLE_RULE.match(line) or _REF_DEFINITION.match(line):
            continue
        kept.append(_LINE_PREFIX.sub("", line))
    # Inline syntax may span lines (a link label broken over two lines), so clean the paragraph as a whole.
    lines = (line.strip() for line in clean_inline("\n".join(kept)).split("\n"))
    return "\n".join(line for line in lines if line)


def markdown_to_text(body: str) -> str:
    """The whole body as plain text (sections' headings included), for callers that want it unchunked."""
    parts = []
    for heading, blocks in _sections(body):
        if heading:
            parts.append(clean_inline(heading))
        parts.extend(text for text in (_clean_block(b) for b in blocks) if text)
    return PARAGRAPH_SEPARATOR.join(parts)


# --------------------------------------------------------------------------------------------------------------
# Packing under a token limit.

_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+")
_CLAUSE_END = re.compile(r"(?<=[;:,；：，])\s+")


class _Packer:
    """Greedy packing of pieces under the token limit, for one section (one title-and-heading prefix).

    Counting every candidate chunk anew costs a tokenizer call per paragraph on ever longer text, so by default
    token counts are summed per piece (WordPiece and the hashing counter split at whitespace, so joining pieces
    with whitespace adds nothing). `chunk_page` checks every resulting chunk with a real count and redoes a
    section with `exact=True` (every candidate counted whole) if the sum was ever wrong for some tokenizer.
    """

    def __init__(self, prefix: str, count_tokens: CountTokens, max_tokens: int, exact: bool = False) -> None:
        self.prefix = prefix
        self.count = count_tokens
        self.max = max_tokens
        self.exact = exact
        self.specials = count_tokens("")
        self.prefix_tokens = count_tokens(prefix)
        self._costs: dict[str, int] = {}

    def render(self, body: str) -> str:
        if not body:
            return self.prefix
        return self.prefix + PREFIX_SEPARATOR + body if self.prefix else body

    def cost(self, piece: str) -> int:
        """Tokens `piece` adds to a chunk (special tokens not counted again)."""
        known = self._costs.get(piece)
        if known is None:
            known = self._costs[piece] = self.count(piece) - self.specials
        return known

    def fits(self, body: str) -> bool:
        if self.exact:
            return self.count(self.render(body)) <= self.max
        return self.prefix_tokens + self.cost(body) <= self.max

    def checked(self, body: str) -> bool:
        return self.count(self.render(body)) <= self.max

    def pack(self, pieces: list[str], separator: str) -> list[str]:
        """Greedy: consecutive pieces (each fitting alone) joined while the whole still fits."""
        groups: list[str] = []
        current: list[str] = []
        total = self.prefix_tokens
        for piece in pieces:
            if current:
                if self.exact:
                    full = not self.fits(separator.join([*current, piece]))
                else:
                    full = total + self.cost(piece) > self.max
                if full:
                    groups.append(separator.join(current))
                    current, total = [], self.prefix_tokens
            current.append(piece)
            if not self.exact:
                total += self.cost(piece)
        if current:
            groups.append(separator.join(current))
        return groups

    def pack_evenly(self, pieces: list[str], separator: str) -> list[str]:
        """As few groups as greedy packing makes, but of even size (not one full chunk and a scrap)."""
        greedy = self.pack(pieces, separator)
        if self.exact or len(greedy) < 2:
            return greedy
        costs = [self.cost(piece) for piece in pieces]

        def groups(capacity: int) -> list[list[int]]:
            out: list[list[int]] = [[]]
            total = 0
            for index, cost in enumerate(costs):
                if out[-1] and total + cost > capacity:
                    out.append([])
                    total = 0
                out[-1].append(index)
                total += cost
            return out

        low, high = max(costs), self.max - self.prefix_tokens  # the smallest capacity giving as few groups
        while low < high:
            middle = (low + high) // 2
            if len(groups(middle)) <= len(greedy):
                high = middle
            else:
                low = middle + 1
        return [separator.join(pieces[i] for i in group) for group in groups(low)]

    def fit(self, unit: str) -> list[str]:
        """`unit` cut into pieces that each fit alone: by lines, sentences, clauses, words, then characters."""
        if self.fits(unit):
            return [unit]
        for split, separator in (
            (lambda t: t.split("\n"), "\n"),
            (_SENTENCE_END.split, " "),
            (_CLAUSE_END.split, " "),
            (str.split, " "),
        ):
            parts = [part.strip() for part in split(unit) if part.strip()]
            if len(parts) > 1:
                return self.pack_evenly([piece for part in parts for piece in self.fit(part)], separator)
        return self._split_characters(unit)

    def _split_characters(self, unit: str) -> list[str]:
        pieces = []
        while unit:
            low, high = 1, len(unit)  # the longest prefix that fits (at least one character, always)
            while low < high:
                middle = (low + high + 1) // 2
                if self.checked(unit[:middle]):
                    low = middle
                else:
                    high = middle - 1
            pieces.append(unit[:low])
            unit = unit[low:]
        return pieces


def _shorten(text: str, count_tokens: CountTokens, budget: int) -> str:
    """`text` cut (at a word if possible) so that it counts at most `budget` tokens."""
    if count_tokens(text) <= budget:
        return text
    words = text.split()
    kept = ""
    for word in words:
        candidate = f"{kept} {word}" if kept else word
        if count_tokens(candidate + " …") > budget:
            break
        kept = candidate
    if not kept:
        low, high = 0, len(text)
        while low < high:
            middle = (low + high + 1) // 2
            if count_tokens(text[:middle] + "…") <= budget:
                low = middle
            else:
                high = middle - 1
        return text[:low] + "…" if low else ""
    return kept + " …"


def _prefix(title: str, heading: str, count_tokens: CountTokens, max_tokens: int) -> str:
    prefix = HEADING_SEPARATOR.join(part for part in (title, heading) if part)
    # The title and heading may take at most half of a chunk, so every chunk has room for its text.
    return _shorten(prefix, count_tokens, max_tokens // 2)


def _units(blocks: list[_Block], packer: _Packer) -> list[str]:
    """Paragraph texts, each fitting alone; a paragraph ending in ':' stays with the next one when both fit."""
    texts = [text for text in (_clean_block(block) for block in blocks) if text]
    units: list[str] = []
    index = 0
    while index < len(texts):
        text = texts[index]
        if text.endswith(":") and index + 1 < len(texts):
            joined = text + "\n" + texts[index + 1]
            if packer.fits(joined):
                units.append(joined)
                index += 2
                continue
        units.extend(packer.fit(text))
        index += 1
    return units


def _memo(count_tokens: CountTokens) -> CountTokens:
    """Counts remembered for one page (the empty string and the prefixes are asked for again and again)."""
    known: dict[str, int] = {}

    def count(text: str) -> int:
        value = known.get(text)
        if value is None:
            value = known[text] = count_tokens(text)
        return value

    return count


def chunk_page(title: str, body: str, count_tokens: CountTokens, max_tokens: int = 256) -> list[Chunk]:
    """The page's chunks, in order; never empty (an empty body gives one chunk holding the title)."""
    if max_tokens < MIN_MAX_TOKENS:
        raise ValueError(f"max_tokens must be at least {MIN_MAX_TOKENS}, not {max_tokens}")
    count_tokens = _memo(count_tokens)
    title = " ".join(title.split())
    plain_title = clean_inline(title)
    pieces: list[tuple[str, str]] = []  # (heading, text)
    for raw_heading, blocks in _sections(body or ""):
        heading = clean_inline(raw_heading) if raw_heading else ""
        if heading.casefold() == plain_title.casefold():
            heading = ""  # "# Tar" atop the page "Tar" is the intro, not a section
        if not blocks:
            continue
        prefix = _prefix(title, heading, count_tokens, max_tokens)
        packer = _Packer(prefix, count_tokens, max_tokens)
        groups = packer.pack(_units(blocks, packer), PARAGRAPH_SEPARATOR)
        if not all(packer.checked(group) for group in groups):
            packer = _Packer(prefix, count_tokens, max_tokens, exact=True)
            groups = packer.pack(_units(blocks, packer), PARAGRAPH_SEPARATOR)
        pieces.extend((heading, packer.render(group)) for group in groups)
    if not pieces:
        pieces.append(("", _prefix(title, "", count_tokens, max_tokens)))
    return [Chunk(ord=i, heading=heading, text=text, hash=text_hash(text)) for i, (heading, text) in enumerate(pieces)]
