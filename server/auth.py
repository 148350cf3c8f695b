"""Who is asking, and whether an unsafe request carries the CSRF token.

Browsers authenticate with the session cookie and must echo the CSRF token (a double-submit
cookie) in the form field or the `X-CSRF-Token` header. API clients send `Authorization: Bearer`
and need no CSRF token, since browsers never add that header on their own.
"""

from __future__ import annotations

import hmac
import secrets

from litestar.connection import ASGIConnection, Request
from litestar.datastructures import Cookie
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from server.personal_replies import CSRF_SHOWN
from server.users import NOBODY, Actor, actor_for_token

SESSION_COOKIE = "cp_session"
CSRF_COOKIE = "cp_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def bearer_token(connection: ASGIConnection) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def request_actor(connection: ASGIConnection) -> Actor:
    """The account behind the bearer token or session cookie, or NOBODY. Cached per request."""
    cached = connection.scope.get("state", {}).get("actor")
    if cached is not None:
        return cached
    token = bearer_token(connection) or connection.cookies.get(SESSION_COOKIE)
    actor = NOBODY
    if token:
        db = connection.app.state.db
        actor = db.read(actor_for_token, token) or NOBODY
    connection.scope.setdefault("state", {})["actor"] = actor
    return actor


def csrf_token(request: Request) -> str:
    """This browser's CSRF token; a new one is issued (and set as a cookie) when it has none."""
    state = request.scope.setdefault("state", {})
    token = state.get("new_csrf") or request.cookies.get(CSRF_COOKIE)
    if not token:
        token = secrets.token_urlsafe(24)
        state["new_csrf"] = token
    state[CSRF_SHOWN] = True  # the reply is this browser's alone (server/personal_replies.py)
    return token


def rotate_csrf(request: Request) -> str:
    """A new CSRF token for this browser, set by `csrf_cookies` on the reply (issue 11, item 13).

    Called at log-in and sign-up: a token another person could have read before (a shared phone, a page
    left open) stops working once an account is behind the cookie.
    """
    token = secrets.token_urlsafe(24)
    request.scope.setdefault("state", {})["new_csrf"] = token
    return token


def csrf_cookies(request: Request, secure: bool) -> list[Cookie]:
    new = request.scope.get("state", {}).get("new_csrf")
    if not new:
        return []
    return [Cookie(key=CSRF_COOKIE, value=new, httponly=True, samesite="lax", secure=secure,
                   path="/", max_age=60 * 60 * 24 * 400)]


async def csrf_guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Refuse unsafe requests that could be forged by another site.

    Every form must echo the token. JSON calls need it only when a session cookie would
    authenticate them: another site cannot send a JSON body without a CORS preflight we never grant.
    """
    if connection.scope.get("method", "GET") in SAFE_METHODS or bearer_token(connection):
        return
    content_type = connection.headers.get("content-type", "")
    is_form = content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))
    if not is_form and content_type.startswith("application/json") and not connection.cookies.get(
        SESSION_COOKIE
    ):
        return
    expected = connection.cookies.get(CSRF_COOKIE, "")
    sent = [connection.headers.get(CSRF_HEADER, "")]
    if is_form and isinstance(connection, Request):
        # The form's own field first: htmx adds the header from the <meta> of the page first loaded, which
        # a boosted navigation does not replace, so after a log-in (a new token) only the field is current.
        form = await connection.form()
        sent.insert(0, str(form.get(CSRF_FIELD, "")))
    if not expected or not any(hmac.compare_digest(expected.encode(), token.encode()) for token in sent if token):
        raise PermissionDeniedException(
            "The form has expired or came from another site. Reload the page and try again."
        )
