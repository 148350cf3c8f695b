"""A signed-in reader's page view, rendered once per role and filled in per reader (issue 11).

A page differs between signed-in readers only by who they are: their name (the header's data-account,
which the service worker and sync-ui read, and the link to their page) and their CSRF token (the
csrf-token meta tag and the log-out and protect forms); moderators also get the protect form. So the
page cache renders it through the app once for a made-up reader whose name and token are random marks,
cuts the HTML at those marks, and pastes each reader's own name and token in. Jinja escapes the name
and writes the token as it is (server/templating.py, LazyToken), and so does `fill`: the result is the
page the app would have rendered for that reader, byte for byte (tests/server/test_signed_in_views.py).
"""

from __future__ import annotations

import re
import secrets
from typing import NamedTuple

from litestar.types import Message, Scope
from markupsafe import escape

from server.auth import CSRF_COOKIE, SESSION_COOKIE
from server.users import Actor

# Set by server.templating.html_response: "1" on pages that are the same for every anonymous reader,
# "personal" on the marked render of a signed-in reader's page. Never sent: the page cache takes it off.
SHAREABLE_HEADER = "x-commonplace-shareable"
# Set in the scope of the marked render: server/templating.py then marks the reply as fit to fill in.
PERSONAL_PROBE = "page_cache_personal_probe"
PERSONAL_MARK = b"personal"
# The "<" shows how the name was written: every copy must read "&lt;", escaped once, as Jinja writes it
# (escaped twice it reads "&amp;lt;", in a URL "%3C", in JSON "\u003c" or "<").
_NAME_CORE = "cpname" + secrets.token_hex(12)
NAME_MARK = _NAME_CORE + "<"
CSRF_MARK = "cpcsrf" + secrets.token_hex(12)
_MARKS = re.compile(b"(" + re.escape(str(escape(NAME_MARK)).encode()) + b"|" + CSRF_MARK.encode() + b")")
# The cookie values the fast path takes; anything else goes to the app, whose cookie parsing then decides.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,200}$")


class PersonalPage(NamedTuple):
    headers: list[tuple[bytes, bytes]]
    template: bytes | None  # the page with %b where the name or the token goes; None: not fit, ask the app
    slots: tuple[bool, ...]  # per %b: True for the name, False for the token
    size: int

    def fill(self, username: str, csrf: str) -> bytes:
        name = str(escape(username)).encode()
        token = csrf.encode()
        return self.template % tuple(name if is_name else token for is_name in self.slots)


NOT_PERSONAL = PersonalPage([], None, (), 64)


def session_cookies(scope: Scope) -> tuple[str, str] | None:
    """(session token, CSRF token) when the request has one Cookie header holding each once, plainly."""
    cookies = [value for key, value in scope["headers"] if key == b"cookie"]
    if len(cookies) != 1:
        return None
    found: dict[str, list[str]] = {SESSION_COOKIE: [], CSRF_COOKIE: []}
    for part in cookies[0].decode("latin-1").split(";"):
        name, _, value = part.partition("=")
        if name.strip() in found:
            found[name.strip()].append(value.strip())
    session, csrf = found[SESSION_COOKIE], found[CSRF_COOKIE]
    if len(session) != 1 or len(csrf) != 1 or not _TOKEN.match(session[0]) or not _TOKEN.match(csrf[0]):
        return None
    return session[0], csrf[0]


def probe_scope(scope: Scope, actor: Actor) -> Scope:
    """The request as the made-up reader makes it: same account and role, marked name and token."""
    parts = []
    for part in _header_text(scope, b"cookie").split(";"):
        parts.append(f" {CSRF_COOKIE}={CSRF_MARK}" if part.partition("=")[0].strip() == CSRF_COOKIE else part)
    headers = [(k, v) for k, v in scope["headers"] if k != b"cookie"]
    headers.append((b"cookie", ";".join(parts).encode("latin-1")))
    state = {**scope.get("state", {}), "actor": Actor(actor.user_id, NAME_MARK, actor.role), PERSONAL_PROBE: True}
    return {**scope, "headers": headers, "state": state}


def personal_page(start: Message, body: bytes) -> PersonalPage:
    """Cut the marked render at its marks, or NOT_PERSONAL when it is not a page to fill in."""
    raw = start.get("headers", [])
    if start.get("status") != 200 or (SHAREABLE_HEADER.encode(), PERSONAL_MARK) not in raw:
        return NOT_PERSONAL
    if any(k.lower() == b"set-cookie" for k, _ in raw):
        return NOT_PERSONAL
    # A name written any other way than escaped (a URL, JSON) could not be filled in by `fill`.
    if body.count(_NAME_CORE.encode()) != body.count(str(escape(NAME_MARK)).encode()):
        return NOT_PERSONAL
    pieces = _MARKS.split(body)
    template = b"%b".join(piece.replace(b"%", b"%%") for piece in pieces[0::2])
    slots = tuple(mark != CSRF_MARK.encode() for mark in pieces[1::2])
    headers = [(k, v) for k, v in raw if k.lower() not in (b"content-length", SHAREABLE_HEADER.encode())]
    return PersonalPage(headers, template, slots, len(template) + sum(len(k) + len(v) for k, v in headers))


def _header_text(scope: Scope, name: bytes) -> str:
    return next((value for key, value in scope["headers"] if key == name), b"").decode("latin-1")
