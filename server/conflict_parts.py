"""A conflict's parts as a phone shows them, and the text built from the author's choice for each part.

The parts come from the merge (sync/merge.py `Part.as_dict`): clean text both sides agree on, and
conflicting regions holding the base, the current head's version (theirs) and the author's (ours). The
page shows the clean text once, folded away except a little context around each conflict, and each
conflicting region with its words changed since the base marked; the author picks, per region, mine,
theirs, both, or their own wording, and the server assembles the body from those choices.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from markupsafe import Markup

from server.diff import word_diff

MINE, THEIRS, BOTH, EDIT = "mine", "theirs", "both", "edit"
CHOICES = (MINE, THEIRS, BOTH, EDIT)
# Lines of context kept visible on each side of a conflict; what lies further away is folded.
CONTEXT_LINES = 2
# A line that belongs to a list, table or quote: two of them follow each other without a blank line.
_BLOCK_ITEM = re.compile(r"^\s*(?:[-*+]\s|\d+[.)]\s|\||>)")


class MissingChoice(Exception):
    """A conflicting part was sent without a choice (the form's radios are `required`; old browsers)."""


def parts_digest(parts: list[dict[str, Any]]) -> str:
    """Names the parts a form was built on: a resolve made from other parts would save a wrong text."""
    data = json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(data).hexdigest()[:16]


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _context_end(lines: list[str], limit: int) -> int:
    """How many leading lines make the context: up to the first line with words, at most `limit`."""
    for i, line in enumerate(lines[:limit]):
        if line.strip():
            return i + 1
    return min(len(lines), limit)


def _fold(text: str, after_conflict: bool, before_conflict: bool) -> dict[str, Any]:
    """Clean text split into the context shown and the middle folded behind a <details>."""
    lines = _lines(text)
    head = _context_end(lines, CONTEXT_LINES) if after_conflict else 0
    tail = _context_end(lines[head:][::-1], CONTEXT_LINES) if before_conflict else 0
    middle = lines[head : len(lines) - tail]
    hidden = sum(1 for line in middle if line.strip())
    if hidden < 2:  # folding one line away saves nothing and costs a tap
        return {"conflict": False, "shown_before": text, "folded": "", "hidden": 0, "shown_after": ""}
    return {"conflict": False, "shown_before": "".join(lines[:head]), "folded": "".join(middle),
            "hidden": hidden, "shown_after": "".join(lines[len(lines) - tail :])}


def _display(text: str) -> str:
    return text[:-1] if text.endswith("\n") else text


def view_parts(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the conflict page shows for each part, in order; conflicting parts are numbered from 0."""
    out: list[dict[str, Any]] = []
    number = 0
    for i, part in enumerate(parts):
        if not part["conflict"]:
            after = i > 0 and parts[i - 1]["conflict"]
            before = i + 1 < len(parts) and parts[i + 1]["conflict"]
            out.append(_fold(part["text"], after, before))
            continue
        base, theirs, ours = (_display(part[k]) for k in ("base", "theirs", "ours"))
        out.append({
            "conflict": True, "number": number, "ours": ours,
            "theirs_html": Markup(word_diff(base, theirs)), "ours_html": Markup(word_diff(base, ours)),
            "theirs_empty": not theirs.strip(), "ours_empty": not ours.strip(),
        })
        number += 1
    return out


def _both(theirs: str, ours: str) -> str:
    """The head's lines first, then the author's: list items stay one list, paragraphs stay apart."""
    if not theirs.strip() or not ours.strip():
        return theirs + ours
    theirs = theirs if theirs.endswith("\n") else theirs + "\n"
    last, first = theirs.rstrip("\n").rsplit("\n", 1)[-1], ours.lstrip("\n").split("\n", 1)[0]
    if _BLOCK_ITEM.match(last) and _BLOCK_ITEM.match(first):
        return theirs + ours
    return theirs + "\n" + ours


def _edited(part: dict[str, Any], text: str) -> str:
    text = text.replace("\r\n", "\n")
    if text and not text.endswith("\n") and (part["theirs"].endswith("\n") or part["ours"].endswith("\n")):
        text += "\n"  # the next part starts on a line of its own
    return text


def assemble(parts: list[dict[str, Any]], choices: dict[int, str], edits: dict[int, str],
             final_newline: bool = True) -> str:
    """The page text made from the clean parts and, for each conflicting part, the chosen version.

    `choices` and `edits` are keyed by the conflicting part's number (0 for the first conflict).
    `final_newline` False drops the newline the merge adds when neither version ended with one.
    """
    out: list[str] = []
    number = 0
    for part in parts:
        if not part["conflict"]:
            out.append(part["text"])
            continue
        choice = choices.get(number)
        if choice == MINE:
            out.append(part["ours"])
        elif choice == THEIRS:
            out.append(part["theirs"])
        elif choice == BOTH:
            out.append(_both(part["theirs"], part["ours"]))
        elif choice == EDIT:
            out.append(_edited(part, edits.get(number, "")))
        else:
            raise MissingChoice(number)
        number += 1
    body = "".join(out)
    return body[:-1] if not final_newline and body.endswith("\n") else body
