"""Look-alike titles (issue 11 item 12): `Сafé` with a Cyrillic С reads the same as `Café` but is another page.

Two titles are confusable when their UTS #39 skeletons are equal. The table is Unicode's confusables.txt as the
maintained package confusable-homoglyphs ships it (read from the installed package, never downloaded at run
time). That package stores each pair in both directions, so the mapping's direction (source -> prototype) is
recovered here: in confusables.txt every group of look-alikes is a star around its prototype (a source maps to
one prototype, and a prototype is never a source), so in each group the centre, or a sequence of several
characters (`m` -> `rn`: only prototypes are sequences), is the prototype. A group of two single characters has
no centre; either one then stands for both, which keeps equal skeletons equal.
"""

from __future__ import annotations

import unicodedata
from functools import cache

from server.slugs import TitleError, slug_text

# The package wraps right-to-left characters in LEFT-TO-RIGHT MARKs so that its lists print legibly.
_DISPLAY_MARK = "\u200e"


@cache
def _prototypes() -> dict[str, str]:
    from confusable_homoglyphs.confusables import confusables_data  # 0.2 s to load: only when first needed

    alikes: dict[str, set[str]] = {}
    for char, entries in confusables_data.items():
        char = char.replace(_DISPLAY_MARK, "")
        for entry in entries:
            other = entry["c"].replace(_DISPLAY_MARK, "")
            if other != char:
                alikes.setdefault(char, set()).add(other)
                alikes.setdefault(other, set()).add(char)
    prototypes = {}
    for char, others in alikes.items():
        if len(char) != 1:
            continue
        sequences = [other for other in others if len(other) > 1]
        if sequences:
            prototypes[char] = min(sequences)
        elif len(others) == 1:
            (other,) = others
            # The other one is the centre of a larger group, or this is a pair: the smaller stands for both.
            prototypes[char] = other if len(alikes[other]) > 1 else min(char, other)
    return prototypes


def skeleton(text: str) -> str:
    """UTS #39 skeleton, up to the choice of prototype within a pair: equal for strings that look alike."""
    prototypes = _prototypes()
    mapped = unicodedata.normalize("NFD", text)
    # Twice: the characters of a sequence prototype (`rn`) may sit in a pair whose other member stands for it.
    for _ in range(2):
        mapped = unicodedata.normalize("NFD", "".join(prototypes.get(c, c) for c in mapped))
    return mapped


def title_skeleton(title: str) -> str | None:
    """The key under which look-alike titles meet: the skeleton of the title's words as its slug keeps them
    (lower case, no punctuation), so titles that differ only in case or punctuation, which are one page
    anyway, are not flagged. None for a title with no letters or digits (its slug is a hash), and for one that
    cannot name a page (the edit form of a missing page may hold such a title, taken from its address)."""
    try:
        text = slug_text(title)
    except TitleError:
        return None
    return skeleton(text) if text else None


def looks_alike(title: str, other: str) -> bool:
    """Whether two titles of different pages would be mistaken for one another.

    Pairs of plain ASCII titles are left out: UTS #39 counts `rn`/`m`, `cl`/`d` and `1`/`l` as look-alikes,
    but `Corn` and `Com`, `Clear` and `Dear` are different words, and a reader typing ASCII meets no homoglyph.
    """
    return (title_skeleton(title) == title_skeleton(other) is not None
            and not (slug_text(title).isascii() and slug_text(other).isascii()))
