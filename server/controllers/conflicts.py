"""HTML pages for edit conflicts: the author's open conflicts, and one conflict to resolve on a phone."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body
from litestar.response import Redirect

from server.db import Database
from server.render import wiki_href
from server.templating import html_response
from server.users import Actor
from sync.apply import Policy
from sync.conflicts import ConflictError, get_conflict, list_conflicts
from sync.merge import MARK_END, MARK_MIDDLE, MARK_START
from sync.resolve import discard_conflict, resolve_conflict
from sync.vocabulary import CONFLICT_OPEN, CONFLICT_RESOLVED

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
MARKERS = (MARK_START, MARK_MIDDLE, MARK_END)


def _login_page(request: Request) -> Response:
    return html_response(request, "message.html", status_code=401, heading="Log in needed",
                         message="Conflicts belong to the account that made the edit. Log in to see yours.",
                         link="/login?next=" + request.url.path, link_text="Log in")


def _call(db: Database, fn: Any, *args: Any, write: bool = False) -> dict[str, Any]:
    try:
        return db.write(fn, *args) if write else db.read(fn, *args)
    except ConflictError as exc:
        if exc.kind == "not_found":
            raise NotFoundException(str(exc)) from exc
        if exc.kind == "not_owner":
            raise PermissionDeniedException(str(exc)) from exc
        raise


def _has_markers(body: str) -> bool:
    return any(line.rstrip("\r") in MARKERS for line in body.split("\n"))


class ConflictController(Controller):
    path = "/conflicts"

    @get("/", sync_to_thread=True)
    def list_conflicts(self, request: Request, db: Database, actor: Actor) -> Response:
        if not actor.signed_in:
            return _login_page(request)
        return html_response(request, "conflicts.html", conflicts=db.read(list_conflicts, actor.user_id))

    @get("/{conflict_id:str}", sync_to_thread=True)
    def get_conflict(self, request: Request, db: Database, actor: Actor, conflict_id: str) -> Response:
        if not actor.signed_in:
            return _login_page(request)
        conflict = _call(db, get_conflict, conflict_id, actor)
        return html_response(request, "conflict.html", conflict=conflict, body=conflict["proposal"])

    @post("/{conflict_id:str}/resolve", sync_to_thread=True)
    def resolve_conflict(self, request: Request, db: Database, actor: Actor, policy: Policy, conflict_id: str,
                         data: Form) -> Response:
        if not actor.signed_in:
            return _login_page(request)
        body = data.get("body") if isinstance(data.get("body"), str) else ""
        body = body.replace("\r\n", "\n")
        error = None
        if _has_markers(body):
            error = ("The text still holds conflict markers (<<<<<<<, =======, >>>>>>>): "
                     "keep what you want and remove them.")
        else:
            try:
                done = _call(db, resolve_conflict, conflict_id, actor, policy, body, write=True)
                return Redirect(wiki_href(done["slug"]), status_code=303)
            except ConflictError as exc:
                if exc.extra.get("status") == CONFLICT_RESOLVED:  # a double submit: the first one saved it
                    return Redirect(f"/conflicts/{conflict_id}", status_code=303)
                error = str(exc)
        conflict = _call(db, get_conflict, conflict_id, actor)
        return html_response(request, "conflict.html", status_code=409 if conflict["status"] != CONFLICT_OPEN else 400,
                             conflict=conflict, body=body, error=error)

    @post("/{conflict_id:str}/discard", sync_to_thread=True)
    def discard_conflict(self, request: Request, db: Database, actor: Actor, conflict_id: str) -> Response:
        if not actor.signed_in:
            return _login_page(request)
        try:
            _call(db, discard_conflict, conflict_id, actor, write=True)
        except ConflictError as exc:
            conflict = _call(db, get_conflict, conflict_id, actor)
            return html_response(request, "conflict.html", status_code=409, conflict=conflict,
                                 body=conflict["proposal"], error=str(exc))
        return Redirect("/conflicts", status_code=303)
