"""Titles and the slugs derived from them (one rule, shared by pages, wiki links and imports)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

MAX_TITLE_CHARS = 200
MAX_SLUG_CHARS = 80
SLUG_HASH_CHARS = 10

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_NOT_SLUG = re.compile(r"[^\w\s-]")
_SEPARATORS = re.compile(r"[\s_-]+")
# ASCII letters, digits, spaces, `_` and `-`, with at least one letter or digit: for such a title every step of
# slug_text but the last two changes nothing and the result is never cut, so slugify can skip them (a page of
# 20,000 wiki links slugifies each one; tests/server/test_slugs.py checks it is the same slug).
# Separators first, so that the pattern can match a title one way only (no backtracking).
_PLAIN_ASCII_TITLE = re.compile(r"[ _-]*[A-Za-z0-9][A-Za-z0-9 _-]*")


class TitleError(ValueError):
    """A title that cannot name a page; the message says why, in plain words."""


def clean_title(title: str) -> str:
    """Normalise a title for display: NFC, no control or direction-override characters, one line."""
    if not isinstance(title, str):
        raise TitleError("The title must be text.")
    text = unicodedata.normalize("NFC", title)
    text = _CONTROL.sub("", text)
    text = " ".join(text.split())
    if not text:
        raise TitleError("The title is empty; give the page a name.")
    if len(text) > MAX_TITLE_CHARS:
        raise TitleError(f"The title is longer than {MAX_TITLE_CHARS} characters; shorten it.")
    return text


def slug_text(title: str) -> str:
    """A title's words as its slug spells them, before any shortening (empty for a title of symbols only)."""
    text = unicodedata.normalize("NFKC", clean_title(title)).lower()
    text = _NOT_SLUG.sub("", text)
    return _SEPARATORS.sub("-", text).strip("-")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:SLUG_HASH_CHARS]


def slugify(title: str) -> str:
    """The URL name of a page: lower case letters, digits and hyphens (any script).

    A slug longer than MAX_SLUG_CHARS keeps its first MAX_SLUG_CHARS characters and gets a hash of the whole:
    two titles that begin alike are two pages, not one (issue 11 item 12). Such a slug is always longer than
    MAX_SLUG_CHARS, so it never equals the slug of a shorter title, and it is still a function of the title
    alone, so wiki links, imports and the browser's guess (pwa/static/js/slugs.js) all find the same page.
    """
    if isinstance(title, str) and len(title) <= MAX_SLUG_CHARS and _PLAIN_ASCII_TITLE.fullmatch(title):
        return _SEPARATORS.sub("-", title.lower()).strip("-")
    text = slug_text(title)
    if not text:
        # Titles made only of symbols or emoji still need a stable, unique address.
        return "page-" + _digest(title)
    if len(text) <= MAX_SLUG_CHARS:
        return text
    return text[:MAX_SLUG_CHARS].rstrip("-") + "-" + _digest(text)


# Titles joined by newlines, each of them a plain ASCII title (see _PLAIN_ASCII_TITLE) of at most MAX_SLUG_CHARS.
_PLAIN_LINE = rf"(?=[^\n]{{0,{MAX_SLUG_CHARS}}}(?:\n|$))[ _-]*[A-Za-z0-9][A-Za-z0-9 _-]*"
_PLAIN_ASCII_TITLES = re.compile(rf"{_PLAIN_LINE}(?:\n{_PLAIN_LINE})*")
_SEPARATORS_AT_LINE_ENDS = re.compile(r"^-|-$", re.MULTILINE)


def slugify_many(titles: list[str]) -> list[str | None]:
    """slugify of each title, None for one that cannot name a page (a page may link 20,000 titles).

    When every title is plain ASCII, the slugs are made all at once over the titles joined by newlines: the
    same steps as slugify's fast path, one regex pass each instead of one call per title.
    """
    joined = "\n".join(titles)
    if titles and joined.count("\n") == len(titles) - 1 and _PLAIN_ASCII_TITLES.fullmatch(joined):
        return _SEPARATORS_AT_LINE_ENDS.sub("", re.sub(r"[ _-]+", "-", joined.lower())).split("\n")
    slugs: dict[str, str | None] = {}  # a page often links one title many times
    for title in titles:
        if title not in slugs:
            try:
                slugs[title] = slugify(title)
            except TitleError:
                slugs[title] = None
    return [slugs[title] for title in titles]


def legacy_slug(title: str) -> str | None:
    """The slug servers before issue 11 gave a title longer than MAX_SLUG_CHARS (cut, with no hash): their
    pages keep that address. None for a title whose slug was never cut."""
    text = slug_text(title)
    return text[:MAX_SLUG_CHARS].rstrip("-") if len(text) > MAX_SLUG_CHARS else None


def is_valid_slug(slug: str) -> bool:
    return bool(slug) and len(slug) <= MAX_SLUG_CHARS + 1 + SLUG_HASH_CHARS and _NOT_SLUG.search(slug) is None and (
        "/" not in slug and " " not in slug
    )
