"""HTML pages for edit conflicts: the author's open conflicts, and one conflict to resolve on a phone.

Every POST here answers 303 to the conflict's own page (POST-redirect-GET): a reload never resubmits
and never meets a 405. A refused save comes back as `?error=CODE` on that page. After a resolve or a
discard the same page shows the outcome; it is the one address that stays true forever (a resolved
conflict stays resolved), so neither the server's anonymous page cache (it never keeps /conflicts/) nor
the service worker's copy of the page (kept by URL) can later show a notice that no longer holds, and
the article's own URL, shared by every reader, carries no one-off notice. The article's text at the
revision the author made is shown under the notice, with a link to the page.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body
from litestar.response import Redirect

from server import pages
from server.conflict_parts import CHOICES, MissingChoice, assemble, parts_digest, view_parts
from server.db import Conn, Database
from server.templating import html_response
from server.users import Actor
from sync.apply import Policy
from sync.conflicts import ConflictError, get_conflict, list_conflicts
from sync.merge import MARK_END, MARK_MIDDLE, MARK_START
from sync.resolve import discard_conflict, resolve_conflict
from sync.vocabulary import CONFLICT_OPEN, CONFLICT_RESOLVED, NO_SUCH_CONFLICT, REASONS

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
MARKERS = (MARK_START, MARK_MIDDLE, MARK_END)

# The `?error=` codes a refused save comes back with; a rejection's reason (sync/vocabulary.py) is one too.
ERRORS = {
    "markers": "Nothing was saved: the text still holds conflict marker lines (<<<<<<<, =======, >>>>>>>). "
               "It is below, under “Write the whole text yourself”: delete those lines, keep the words you "
               "want, and save again.",
    "choose": "Nothing was saved: choose what to keep for every part (mine, theirs, both, or your own "
              "wording), then save.",
    "changed": "Nothing was saved: someone changed the page again while you were choosing. The parts below "
               "are made against its newest text: look at them again and choose.",
}


class StaleParts(Exception):
    """The form was built on other parts than the conflict has now (the head moved since)."""


def _error_message(code: str) -> str | None:
    if code in ERRORS:
        return ERRORS[code]
    return "Nothing was saved: " + REASONS[code] if code in REASONS else None


def _page_url(conflict_id: str, error: str = "") -> str:
    url = "/conflicts/" + quote(conflict_id, safe="")
    return url + "?" + urlencode({"error": error}) if error else url


def _see_other(url: str) -> Redirect:
    return Redirect(url, status_code=303)


def _login_page(request: Request) -> Response:
    return html_response(request, "message.html", status_code=401, heading="Log in needed",
                         message="Conflicts belong to the account that made the edit. Log in to see yours.",
                         link="/login?next=" + quote(request.url.path), link_text="Log in")


def _call(db: Database, fn: Any, *args: Any) -> dict[str, Any]:
    try:
        return db.read(fn, *args)
    except ConflictError as exc:
        if exc.kind in ("not_found", "not_owner"):
            raise NotFoundException(NO_SUCH_CONFLICT) from None
        raise


def _has_markers(body: str) -> bool:
    return any(line.rstrip("\r") in MARKERS for line in body.split("\n"))


def _field(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    return value if isinstance(value, str) else None


def _resolved_revision(conn: Conn, slug: str, rev: str | None) -> dict[str, Any] | None:
    page = pages.get_page(conn, slug)
    return pages.get_revision(conn, page["page_id"], rev) if page and rev else None


def _resolve_checked(conn: Conn, uid: str, actor: Actor, policy: Policy, digest: str | None,
                     build: Callable[[dict[str, Any]], str]) -> dict[str, Any]:
    """Resolve with the text `build` makes from the conflict, if its parts are still those the form showed.

    One write transaction: the head cannot move between the check and the save.
    """
    conflict = get_conflict(conn, uid, actor)
    if conflict["status"] == CONFLICT_OPEN and digest is not None and parts_digest(conflict["parts"]) != digest:
        raise StaleParts
    return resolve_conflict(conn, uid, actor, policy, build(conflict))


def _from_choices(data: dict[str, Any]) -> Callable[[dict[str, Any]], str]:
    choices: dict[int, str] = {}
    edits: dict[int, str] = {}
    for key, value in data.items():
        kind, _, number = key.partition("-")
        if not number.isdigit() or not isinstance(value, str):
            continue
        if kind == "choice" and value in CHOICES:
            choices[int(number)] = value
        elif kind == "edit":
            edits[int(number)] = value

    def build(conflict: dict[str, Any]) -> str:
        # The merge adds a final newline when neither version had one; the chosen text drops it again.
        final_newline = conflict["head"]["body"].endswith("\n") or conflict["ours"]["body"].endswith("\n")
        return assemble(conflict["parts"], choices, edits, final_newline)

    return build


class ConflictController(Controller):
    path = "/conflicts"

    @get("/", sync_to_thread=True)
    def list_conflicts(self, request: Request, db: Database, actor: Actor) -> Response:
        if not actor.signed_in:
            return _login_page(request)
        return html_response(request, "conflicts.html", conflicts=db.read(list_conflicts, actor.user_id))

    @get("/{conflict_id:str}", sync_to_thread=True)
    def get_conflict(self, request: Request, db: Database, actor: Actor, conflict_id: str,
                     error: str = "") -> Response:
        if not actor.signed_in:
            return _login_page(request)
        conflict = _call(db, get_conflict, conflict_id, actor)
        if conflict["status"] != CONFLICT_OPEN:
            resolved = None
            if conflict["status"] == CONFLICT_RESOLVED:
                resolved = db.read(_resolved_revision, conflict["slug"], conflict["resolved_rev"])
            return html_response(request, "conflict.html", conflict=conflict, resolved=resolved)
        parts = view_parts(conflict["parts"])
        return html_response(request, "conflict.html", conflict=conflict, parts=parts,
                             count=sum(1 for p in parts if p["conflict"]), digest=parts_digest(conflict["parts"]),
                             error=_error_message(error), error_code=error)

    @get("/{conflict_id:str}/resolve")
    async def old_resolve_address(self, conflict_id: str) -> Redirect:
        """A history entry or bookmark of the form's address leads back to the conflict, never to a 405."""
        return _see_other(_page_url(conflict_id))

    @get("/{conflict_id:str}/discard")
    async def old_discard_address(self, conflict_id: str) -> Redirect:
        return _see_other(_page_url(conflict_id))

    @post("/{conflict_id:str}/resolve", sync_to_thread=True)
    def resolve_conflict(self, db: Database, actor: Actor, policy: Policy, conflict_id: str,
                         data: Form) -> Redirect:
        """The whole text (`body`), or the text built from a choice per part (`choice-N`, `edit-N`)."""
        if not actor.signed_in:
            return _see_other("/login?next=" + quote(_page_url(conflict_id)))
        body = _field(data, "body")
        if body is not None:
            body = body.replace("\r\n", "\n")
            if _has_markers(body):
                return _see_other(_page_url(conflict_id, "markers"))
            text = body

            def build(_conflict: dict[str, Any]) -> str:
                return text
        else:
            build = _from_choices(data)
        try:
            db.write(_resolve_checked, conflict_id, actor, policy, _field(data, "parts"), build)
        except StaleParts:
            return _see_other(_page_url(conflict_id, "changed"))
        except MissingChoice:
            return _see_other(_page_url(conflict_id, "choose"))
        except ConflictError as exc:
            # Closed already (a double submit: the first one saved it), or not this account's: the page says.
            if exc.kind == "rejected":
                return _see_other(_page_url(conflict_id, exc.extra.get("reason", "")))
        return _see_other(_page_url(conflict_id))

    @post("/{conflict_id:str}/discard", sync_to_thread=True)
    def discard_conflict(self, db: Database, actor: Actor, conflict_id: str) -> Redirect:
        if not actor.signed_in:
            return _see_other("/login?next=" + quote(_page_url(conflict_id)))
        # Closed already, unknown, or another account's: the conflict's page says which.
        with contextlib.suppress(ConflictError):
            db.write(discard_conflict, conflict_id, actor)
        return _see_other(_page_url(conflict_id))
