"""Short plain-text snippets around the first place a query appears."""

from __future__ import annotations

import re

SNIPPET_CHARS = 180
_MARKUP = re.compile(r"[#>*_`\[\]{}|]+")


def snippet(body: str, query: str, width: int = SNIPPET_CHARS) -> str:
    text = " ".join(_MARKUP.sub(" ", body).split())
    at = text.lower().find(query.lower().strip()) if query.strip() else -1
    start = max(0, at - width // 3) if at >= 0 else 0
    piece = text[start : start + width]
    return ("…" if start > 0 else "") + piece + ("…" if start + width < len(text) else "")
