"""Titles and the slugs derived from them (one rule, shared by pages, wiki links and imports)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

MAX_TITLE_CHARS = 200
MAX_SLUG_CHARS = 80

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_NOT_SLUG = re.compile(r"[^\w\s-]")
_SEPARATORS = re.compile(r"[\s_-]+")


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


def slugify(title: str) -> str:
    """The URL name of a page: lower case letters, digits and hyphens (any script)."""
    text = slug_text(title)
    text = text[:MAX_SLUG_CHARS].strip("-")
    if not text:
        # Titles made only of symbols or emoji still need a stable, unique address.
        text = "page-" + hashlib.sha256(title.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return text


def is_valid_slug(slug: str) -> bool:
    return bool(slug) and len(slug) <= MAX_SLUG_CHARS + 20 and _NOT_SLUG.search(slug) is None and (
        "/" not in slug and " " not in slug
    )
