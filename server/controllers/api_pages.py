"""JSON API: status, pages and their history."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.exceptions import ClientException, NotFoundException

from search.coverage import recent_coverage
from search.service import SearchService
from server import pages
from server.db import Database
from server.reply_budget import take_within_budget
from server.settings import Settings

HISTORY_LIMIT = 500
PAGE_FIELDS = ("slug", "title", "rev", "body", "html", "updated_at", "seq", "protected")


def _page_or_404(db: Database, slug: str) -> dict[str, Any]:
    page = db.read(pages.get_page, slug)
    if page is None:
        raise NotFoundException(f"There is no page called {slug!r}.")
    return page


def reply_etag(reply: dict[str, Any], wanted: list[str]) -> str:
    """Names everything the reply holds: the revision fixes every field but `protected`, which a moderator
    changes without a revision (issue 11, item 9: a 304 after protecting hid the change).

    An unprotected page keeps the bare `"rev"`: the browser asks with `If-None-Match: "rev"` for the
    page it holds (pwa/sw.js, pwa/static/js/offline.js), and a reply without `protected` needs no more.
    """
    if "protected" in wanted and reply["protected"]:
        return f'"{reply["rev"]}-protected"'
    return f'"{reply["rev"]}"'


class PageApiController(Controller):
    path = "/api"
    tags = ["pages"]

    @get("/status", sync_to_thread=True)
    def get_status(self, db: Database, search: SearchService) -> dict[str, Any]:
        """Health and counts: pages, revisions, and the search index (pages pending, chunks, model, and
        `coverage`: how many pages word search and search by meaning cover right now)."""
        return {**db.read(pages.counts), "index": {**search.status(), "coverage": recent_coverage(db)}}

    @get("/pages/{slug:str}", sync_to_thread=True, raises=[NotFoundException])
    def get_page(self, request: Request, db: Database, slug: str, fields: str = "") -> Response[dict[str, Any]]:
        """The page's head revision; send `If-None-Match` with the ETag to get 304 when unchanged.

        `fields`: a comma-separated subset of the reply's names, e.g. `slug,title,rev,body` for the source
        a phone keeps to edit offline, without the rendered HTML (issue #10).
        """
        wanted = [name for name in fields.split(",") if name] or list(PAGE_FIELDS)
        unknown = [name for name in wanted if name not in PAGE_FIELDS]
        if unknown:
            raise ClientException(f"fields may name only {', '.join(PAGE_FIELDS)}; not {', '.join(unknown)}.")
        page = _page_or_404(db, slug)
        reply = {**page, "protected": bool(page["protected"])}
        etag = reply_etag(reply, wanted)
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
            return Response(content=None, status_code=304, headers=headers)
        return Response(content={k: reply[k] for k in wanted}, headers=headers)

    @get("/pages/{slug:str}/history", sync_to_thread=True, raises=[NotFoundException])
    def get_page_history(self, db: Database, settings: Settings, slug: str, limit: int = 50,
                         before: int | None = None) -> dict[str, Any]:
        """Revisions, newest first; while `more`, pass `cursor` (the last one's seq) as `before`.

        A reply also ends at `COMMONPLACE_MAX_REPLY_BYTES`. History rows carry no text, so the rows of one
        reply (at most 500, summaries of at most 500 characters) are read before the budget trims them.
        """
        page = _page_or_404(db, slug)
        limit = max(1, min(limit, HISTORY_LIMIT))
        rows = db.read(pages.page_history, page["page_id"], limit + 1, before)
        taken = take_within_budget(rows, settings.max_reply_bytes, limit)
        return {"slug": page["slug"], "title": page["title"], "revisions": taken.items, "more": taken.more,
                "cursor": taken.last_row["seq"] if taken.more and taken.last_row else None}
