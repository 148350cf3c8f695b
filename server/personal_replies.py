"""Replies that depend on who asks are for that person's browser alone: `Cache-Control: private, no-store`.

`no-cache` with `Vary: Cookie` (what signed-in pages carried) still lets a shared proxy store a page with one
account's name, conflicts or CSRF token in it, and the sync API's conflicts and checkpoints carried no
Cache-Control at all (issue 11, item 8). A reply is personal when the caller was signed in (the handler
looked up who asks), when it shows a CSRF token (forms), or when it sets a cookie (log-in, sign-up).
The service worker keeps pages with the Cache API, which `no-store` does not govern (pwa/sw.js).
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

PERSONAL = "private, no-store"
# Set in the scope's state by server.auth.csrf_token when a reply carries this browser's token.
CSRF_SHOWN = "csrf_shown"


def is_personal(scope: Scope, headers: MutableScopeHeaders) -> bool:
    state = scope.get("state", {})
    actor = state.get("actor")
    return bool((actor is not None and actor.signed_in) or state.get(CSRF_SHOWN) or "set-cookie" in headers)


async def mark_personal_replies(message: Message, scope: Scope) -> None:
    """A before_send hook: it sees every reply Litestar sends, those of exception handlers too."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders(message)
    # A reply already marked `no-store` (an export, the changes feed) is kept by no cache at all.
    if "no-store" not in headers.get("cache-control", "") and is_personal(scope, headers):
        headers["Cache-Control"] = PERSONAL
