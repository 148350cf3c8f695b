"""HTML views of pages: read, edit, history, revisions, diff, revert, protect."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body
from litestar.response import Redirect

from search.service import SearchService
from server import pages
from server.db import Database
from server.diff import diff_blocks
from server.render import mark_missing_links, wiki_href
from server.slugs import TitleError, clean_title, slugify
from server.templating import html_response
from server.users import Actor
from sync.apply import Policy, apply_op
from sync.vocabulary import CONFLICT, MERGED, REJECTED

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
HISTORY_PAGE = 50
REJECTION_STATUS = {"login_required": 403, "blocked": 403, "protected": 403, "not_found": 404}


def _page_or_404(db: Database, slug: str) -> dict[str, Any]:
    page = db.read(pages.get_page, slug)
    if page is None:
        raise NotFoundException(f"There is no page called “{slug}” yet.")
    return page


def _field(form: dict[str, Any], name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def _canonical_slug(text: str) -> str | None:
    """`/wiki/Offline Use` and `/wiki/offline_use` lead to `/wiki/offline-use`."""
    try:
        return slugify(text)
    except TitleError:
        return None


def _after_save(request: Request, result: dict[str, Any]) -> Response | None:
    """Where a saved edit leads: the page, a note that it was merged, or the conflict to resolve.

    A merged save answers with a page (not a redirect) so the author learns whose changes joined theirs;
    sending the form again is harmless, since the op id makes it a duplicate.
    """
    if result["status"] == CONFLICT:
        return Redirect(f"/conflicts/{result['conflict_id']}", status_code=303)
    if result["status"] == MERGED and result.get("merged_with"):
        names = ", ".join(result["merged_with"])
        if result.get("page_existed"):
            message = f"{names} had started this page already. Your text was added after theirs"
        elif result.get("kept_both"):
            message = f"While you were editing, {names} added text at the same place. Both additions are kept"
        else:
            message = f"While you were editing, {names} changed other parts of this page. Both changes are kept"
        return html_response(
            request, "message.html", heading="Saved, merged with changes by " + names,
            message=message + "; the history shows each.",
            link=wiki_href(result["slug"]), link_text="See the page")
    if result["status"] != REJECTED:
        return Redirect(wiki_href(result["slug"]), status_code=303)
    return None


def _look_alike_warning(request: Request, db: Database, title: str, slug: str) -> Response | None:
    """Before a page is started: a title that reads like an existing page's (`Сafé` with a Cyrillic С, when
    `Café` exists) asks the author to open that page or confirm (issue 11 item 12)."""
    similar = db.read(pages.look_alike_page, title, slug)
    if similar is None:
        return None
    anyway = wiki_href(slug) + "/edit?" + urlencode({"title": title, "anyway": "1"})
    return html_response(request, "new.html", title=title, similar=similar, anyway=anyway)


def _show_page(request: Request, db: Database, slug: str) -> Response:
    page = db.read(pages.get_page, slug)
    if page is None:
        canonical = _canonical_slug(slug)
        if canonical and canonical != slug and db.read(pages.slug_exists, canonical):
            return Redirect(wiki_href(canonical), status_code=301)
        return html_response(
            request, "message.html", status_code=404, heading="No such page yet",
            message=f"Nobody has written a page called “{slug}” yet. You can start it.",
            link=wiki_href(slug) + "/edit", link_text="Create this page",
        )
    missing = db.read(pages.missing_link_slugs, page["page_id"])
    html = mark_missing_links(page["html"], missing) if missing else page["html"]
    return html_response(request, "page.html", page=page, html=html)


# Refusals that come before save_edit runs (server/refused_forms.py): what happened, and what to do.
FORM_EXPIRED = ("Nothing was saved: this form had expired (it was opened before a log-in or log-out, or long "
                "ago). Your text is below as you typed it, in a fresh form: check it and press Save again.")
TOO_MANY_EDITS = ("Nothing was saved yet. {detail} Your text is below as you typed it; press Save again once the "
                  "wait is over.")


def edit_form_again(request: Request, typed: dict[str, str], status_code: int, detail: str) -> Response:
    """The edit form holding what was typed, after a 429 or an expired form (issue 11, item 10).

    The op id and base revision are the form's own: nothing was applied, so sending it again is the same edit.
    """
    slug = request.path_params.get("slug", "")
    page = request.app.state.db.read(pages.get_page, slug)
    error = TOO_MANY_EDITS.format(detail=detail) if status_code == 429 else FORM_EXPIRED
    return html_response(
        request, "edit.html", status_code=status_code, page=page,
        title=page["title"] if page else (typed["title"] or slug.replace("-", " ")),
        body=typed["body"].replace("\r\n", "\n"), summary=typed["summary"], base_rev=typed["base_rev"] or None,
        op_id=typed["op_id"] or str(uuid.uuid4()), error=error)


class WikiController(Controller):
    path = "/"

    @get("/", sync_to_thread=True)
    def get_front_page(self, request: Request, db: Database) -> Response:
        return _show_page(request, db, "welcome")

    @get("/wiki", sync_to_thread=True)
    def list_pages(self, request: Request, db: Database, after: str = "") -> Response:
        rows = db.read(pages.list_pages, 500, after)
        total = db.read(pages.counts)["pages"]
        next_after = rows[-1]["title"] if len(rows) == 500 else ""
        return html_response(request, "index.html", pages=rows, total=total, after=next_after)

    @get("/wiki/{slug:str}", sync_to_thread=True)
    def get_page(self, request: Request, db: Database, slug: str) -> Response:
        return _show_page(request, db, slug)

    @get("/wiki/{slug:str}/edit", sync_to_thread=True)
    def get_edit_form(self, request: Request, db: Database, slug: str, title: str = "",
                      anyway: str = "") -> Response:
        page = db.read(pages.get_page, slug)
        if page is None:
            # A link to a missing page carries its title (`?title=Well maintenance`), capitals and all.
            try:
                title = clean_title(title) if title else slug.replace("-", " ")
            except TitleError:
                title = slug.replace("-", " ")
            if not anyway:
                warning = _look_alike_warning(request, db, title, slug)
                if warning is not None:
                    return warning
            return html_response(request, "edit.html", page=None, title=title,
                                 body="", summary="", base_rev=None, op_id=str(uuid.uuid4()))
        return html_response(request, "edit.html", page=page, title=page["title"], body=page["body"],
                             summary="", base_rev=page["rev"], op_id=str(uuid.uuid4()))
    @post("/wiki/{slug:str}/edit", sync_to_thread=True)
    def save_edit(self, request: Request, db: Database, actor: Actor, policy: Policy, slug: str,
                  data: Form) -> Response:
        op = {"op_id": _field(data, "op_id") or str(uuid.uuid4()), "type": "edit", "slug": slug,
              "base_rev": _field(data, "base_rev") or None, "body": _field(data, "body").replace("\r\n", "\n"),
              "summary": _field(data, "summary"), "title": _field(data, "title") or None}
        if op["base_rev"] is None:
            op["title"] = op["title"] or slug.replace("-", " ")
        result = db.write(apply_op, op, actor, policy)
        saved = _after_save(request, result)
        if saved is not None:
            return saved
        page = db.read(pages.get_page, slug)
        return html_response(
            request, "edit.html", status_code=REJECTION_STATUS.get(result["reason"], 400), page=page,
            title=(page["title"] if page else op["title"]), body=op["body"], summary=op["summary"],
            base_rev=op["base_rev"], op_id=str(uuid.uuid4()), error=result["message"],
        )

    @get("/wiki/{slug:str}/history", sync_to_thread=True)
    def get_history(self, request: Request, db: Database, slug: str, before: int | None = None) -> Response:
        page = _page_or_404(db, slug)
        revisions = db.read(pages.page_history, page["page_id"], HISTORY_PAGE + 1, before)
        older = revisions[HISTORY_PAGE - 1]["seq"] if len(revisions) > HISTORY_PAGE else None
        return html_response(request, "history.html", page=page, revisions=revisions[:HISTORY_PAGE],
                             older=older)

    @get("/wiki/{slug:str}/related", sync_to_thread=True)
    def get_related(self, request: Request, db: Database, search: SearchService, slug: str) -> Response:
        page = _page_or_404(db, slug)
        return html_response(request, "related.html", page=page, related=search.related(page["page_id"]),
                             notice=search.notice)

    @get("/wiki/{slug:str}/revision/{rev:str}", sync_to_thread=True)
    def get_revision(self, request: Request, db: Database, slug: str, rev: str) -> Response:
        page = _page_or_404(db, slug)
        revision = db.read(pages.get_revision, page["page_id"], rev)
        if revision is None:
            raise NotFoundException("That revision is not part of this page's history.")
        return html_response(request, "revision.html", page=page, rev=revision)

    @get("/wiki/{slug:str}/diff", sync_to_thread=True)
    def get_diff(self, request: Request, db: Database, slug: str) -> Response:
        page = _page_or_404(db, slug)
        to_rev = request.query_params.get("to") or page["rev"]
        new = db.read(pages.get_revision, page["page_id"], to_rev)
        if new is None:
            raise NotFoundException("The revision to compare to is not part of this page's history.")
        from_rev = request.query_params.get("from") or (str(new["parent_id"]) if new["parent_id"] else "")
        old = db.read(pages.get_revision, page["page_id"], from_rev) if from_rev else None
        if old is None:
            old = {**new, "seq": 0, "rev": "", "body": "", "title": new["title"], "author": "—",
                   "summary": "empty page"}
        if old["seq"] > new["seq"]:
            old, new = new, old
        return html_response(request, "diff.html", page=page, old=old, new=new,
                             blocks=diff_blocks(old["body"], new["body"]))

    @post("/wiki/{slug:str}/revert", sync_to_thread=True)
    def revert_page(self, request: Request, db: Database, actor: Actor, policy: Policy, slug: str,
                    data: Form) -> Response:
        page = _page_or_404(db, slug)
        target = db.read(pages.get_revision, page["page_id"], _field(data, "rev"))
        if target is None:
            raise NotFoundException("That revision is not part of this page's history.")
        op = {"op_id": str(uuid.uuid4()), "type": "edit", "slug": slug,
              "base_rev": _field(data, "base_rev") or page["rev"], "body": target["body"],
              "title": target["title"], "summary": f"Reverted to revision {target['seq']} by {target['author']}"}
        result = db.write(apply_op, op, actor, policy)
        if result["status"] == REJECTED:
            return html_response(request, "message.html", status_code=REJECTION_STATUS.get(result["reason"], 400),
                                 heading="Could not revert", message=result["message"],
                                 link=wiki_href(slug) + "/history", link_text="Back to history")
        return _after_save(request, result) or Redirect(wiki_href(slug), status_code=303)

    @post("/wiki/{slug:str}/protect", sync_to_thread=True)
    def protect_page(self, db: Database, actor: Actor, slug: str, data: Form) -> Response:
        if not actor.is_moderator:
            raise PermissionDeniedException("Only moderators can protect pages.")
        page = _page_or_404(db, slug)
        db.write(pages.set_protected, page["page_id"], _field(data, "protected") == "1")
        return Redirect(wiki_href(slug), status_code=303)

    @get("/changes", sync_to_thread=True)
    def list_changes(self, request: Request, db: Database, before: int | None = None) -> Response:
        rows = db.read(pages.recent_changes, HISTORY_PAGE + 1, before)
        older = rows[HISTORY_PAGE - 1]["seq"] if len(rows) > HISTORY_PAGE else None
        return html_response(request, "changes.html", changes=rows[:HISTORY_PAGE], older=older)

    @get("/new", sync_to_thread=True)
    def new_page(self, request: Request, db: Database, title: str = "") -> Response:
        if not title:
            return html_response(request, "new.html", title="")
        try:
            title = clean_title(title)
            slug = db.read(pages.slug_for_title, title)
        except TitleError as exc:
            return html_response(request, "new.html", status_code=400, title=title, error=str(exc))
        existing = db.read(pages.get_page, slug)
        if existing:
            # Never open an existing page's editor as if it were new: the front page was overwritten that way.
            return html_response(request, "new.html", title=title, existing=existing)
        return _look_alike_warning(request, db, title, slug) or Redirect(
            wiki_href(slug) + "/edit?" + urlencode({"title": title}), status_code=303)
