"""An edit refused before its handler ran (429, an expired form) comes back with the text that was typed.

Without JavaScript the browser has nothing but the reply: a plain error page lost the body, summary and title
(issue 11, item 10). The rate limit and the CSRF guard answer before the handler reads the form, and
exception handlers cannot wait for a body, so the edit form's fields are read first, here; the exception
handler (server/app.py) then finds them in the request's state and shows the form again.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Request
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils.empty import value_or_default
from litestar.utils.scope.state import ScopeState

EDIT_FORM = re.compile(r"^/wiki/([^/]+)/edit$")
FORM_TYPES = (b"application/x-www-form-urlencoded", b"multipart/form-data")


def _posts_edit_form(scope: Scope) -> bool:
    if scope["type"] != "http" or scope.get("method") != "POST" or not EDIT_FORM.match(scope.get("path", "")):
        return False
    content_type = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
    return content_type.startswith(FORM_TYPES)


def read_edit_form_first(app: ASGIApp) -> ASGIApp:
    """Litestar middleware, placed before the rate limit: the form is read (and kept, as Litestar keeps it
    for the handler) even when the request is refused. The body is bounded by the request size limit."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if _posts_edit_form(scope):
            await Request(scope, receive).form()
        await app(scope, receive, send)

    return middleware


def typed_edit_form(request: Request) -> dict[str, str] | None:
    """The fields of an edit form this request posted, if they were read; None otherwise."""
    if request.method != "POST" or not EDIT_FORM.match(request.url.path):
        return None
    form: Any = value_or_default(ScopeState.from_scope(request.scope).form, None)
    if not isinstance(form, dict):
        return None
    fields = {}
    for name in ("title", "body", "summary", "base_rev", "op_id"):
        value = form.get(name, "")
        value = value[0] if isinstance(value, list) and value else value
        fields[name] = value if isinstance(value, str) else ""
    return fields
