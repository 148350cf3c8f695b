"""A one-column diff between two revisions, with changed words marked inside changed lines.

One column (not side by side) so that it reads on a 360 px screen.
"""

from __future__ import annotations

import difflib
import html
import re

CONTEXT_LINES = 2
_WORDS = re.compile(r"\s+|[^\s]+")


def word_diff(old: str, new: str) -> str:
    """HTML of `new` with the words `old` had and lost in <del> and the words it gained in <ins>."""
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    out: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.append(html.escape("".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(f"<del>{html.escape(''.join(a[i1:i2]))}</del>")
        if j2 > j1:
            out.append(f"<ins>{html.escape(''.join(b[j1:j2]))}</ins>")
    return "".join(out)


def _line(kind: str, text: str) -> dict[str, object]:
    return {"kind": kind, "html": html.escape(text) or "&nbsp;"}


def diff_blocks(old: str, new: str, context: int = CONTEXT_LINES) -> list[dict[str, object]]:
    """Blocks of kind same/del/ins/mod (a line changed in place) and gap (unchanged lines hidden).

    Returns an empty list when the texts are equal.
    """
    a, b = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.ratio() == 1.0 and len(a) == len(b):
        return []
    blocks: list[dict[str, object]] = []
    for group in matcher.get_grouped_opcodes(context):
        first = group[0]
        if blocks or first[1] > 0:
            blocks.append({"kind": "gap", "lines": max(first[1] - _last_old_line(blocks), 0)})
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                blocks.extend(_line("same", line) for line in a[i1:i2])
            elif tag == "replace" and i2 - i1 == j2 - j1:
                blocks.extend(
                    {"kind": "mod", "html": word_diff(x, y)} for x, y in zip(a[i1:i2], b[j1:j2], strict=True)
                )
            else:
                blocks.extend(_line("del", line) for line in a[i1:i2])
                blocks.extend(_line("ins", line) for line in b[j1:j2])
        blocks[-1]["_old_end"] = group[-1][2]
    tail = len(a) - _last_old_line(blocks)
    if tail > 0:
        blocks.append({"kind": "gap", "lines": tail})
    return blocks


def _last_old_line(blocks: list[dict[str, object]]) -> int:
    for block in reversed(blocks):
        if "_old_end" in block:
            return int(block["_old_end"])  # type: ignore[arg-type]
    return 0
