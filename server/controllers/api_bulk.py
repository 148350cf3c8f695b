"""JSON API: many pages in one compressed reply, for saving the commons on a phone (issue #4)."""

from __future__ import annotations

import gzip
import json
from typing import Annotated, Any

import brotli
from litestar import Controller, Request, Response, get
from litestar.exceptions import ClientException
from litestar.params import QueryParameter

from search.service import MAX_LIMIT as SEARCH_LIMIT
from search.service import MAX_QUERY_CHARS, SearchService
from server import bulk
from server.db import Database
from server.render import mark_missing_links
from server.users import Actor
from sync.apply import Policy

SCOPES = ("all", "changes", "search", "slugs")
DEFAULT_LIMIT = 200
MAX_LIMIT = 500
# Quality 5 compresses a batch of wiki pages nearly as well as 11 at a small fraction of the CPU.
BROTLI_QUALITY = 5
PAGE_FIELDS = ("slug", "title", "rev", "seq", "html", "updated_at")


def _batch(db: Database, search: SearchService, scope: str, after: int | None, limit: int,
           q: str, slugs: str) -> tuple[list[dict[str, Any]], int | None, int]:
    """(rows, cursor after the last row or None when the scope is exhausted, pages in the scope)."""
    if scope == "all":
        rows = db.read(bulk.pages_after, after or 0, limit + 1)
        total = db.read(bulk.page_count)
    elif scope == "changes":
        rows = db.read(bulk.pages_changed_before, after, limit + 1)
        total = db.read(bulk.page_count)
    else:
        if scope == "search":
            found = search.search(q, SEARCH_LIMIT, "hybrid")["results"] if q else []
            names = [r["slug"] for r in found]
        else:
            names = [s for s in slugs.split(",") if s][:MAX_LIMIT]
        # The cursor is a position in the list of names; names without a page are skipped.
        start = after or 0
        end = start + limit
        return db.read(bulk.pages_by_slugs, names[start:end]), (end if end < len(names) else None), len(names)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1]["cursor"] if more else None), total


def _encoded(request: Request, payload: dict[str, Any]) -> Response:
    """Compress here rather than in middleware: the reply is built once and its size is the point."""
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    accepted = request.headers.get("accept-encoding", "")
    headers = {"Cache-Control": "no-store", "Vary": "Accept-Encoding"}
    if "br" in accepted:
        body, headers["Content-Encoding"] = brotli.compress(raw, quality=BROTLI_QUALITY), "br"
    elif "gzip" in accepted:
        body, headers["Content-Encoding"] = gzip.compress(raw, 6), "gzip"
    else:
        body = raw
    return Response(content=body, media_type="application/json", headers=headers)


class BulkApiController(Controller):
    path = "/api"
    tags = ["pages"]

    @get("/bulk", sync_to_thread=True)
    def list_bulk_pages(self, request: Request, db: Database, search: SearchService, actor: Actor,
                        policy: Policy,
                        part: Annotated[str, QueryParameter(name="scope")] = "all",
                        after: int | None = None, limit: int = DEFAULT_LIMIT, q: str = "",
                        slugs: str = "", source: bool | None = None) -> Response:
        """Pages with their rendered HTML, in compressed batches; pass `cursor` back as `after` to continue.

        `scope`: `all` (every page), `changes` (most recently changed first), `search` (the results for `q`)
        or `slugs` (a comma-separated list). `last_seq` is the changes feed's position when the batch was
        read: refresh from `GET /api/sync/changes?since=last_seq` of the first batch afterwards.
        `source`: also send each page's Markdown `body`, so the page can be edited offline (issue #10). It
        costs about half as much again on the wire; by default only callers who can edit pay it.
        """
        # `scope` is the query name; Litestar keeps the parameter name `scope` for the ASGI scope.
        if part not in SCOPES:
            raise ClientException(f"scope must be one of {', '.join(SCOPES)}.")
        if not 1 <= limit <= MAX_LIMIT:
            raise ClientException(f"limit must be between 1 and {MAX_LIMIT}.")
        if len(q) > MAX_QUERY_CHARS:
            raise ClientException(f"Search for at most {MAX_QUERY_CHARS} characters.")
        if after is not None and after < 0:
            raise ClientException("after must be a cursor from an earlier reply.")
        last_seq = db.read(bulk.changes_cursor)
        rows, cursor, total = _batch(db, search, part, after, limit, " ".join(q.split()), slugs)
        missing = db.read(bulk.missing_links, [row["page_id"] for row in rows])
        if source is None:
            source = actor.signed_in or policy.anonymous_edits
        fields = (*PAGE_FIELDS, "body") if source else PAGE_FIELDS
        pages = []
        for row in rows:
            page = {k: row[k] for k in fields}
            if row["page_id"] in missing:
                page["html"] = mark_missing_links(page["html"], missing[row["page_id"]])
            pages.append(page)
        return _encoded(request, {"pages": pages, "cursor": cursor, "more": cursor is not None,
                                  "total": total, "last_seq": last_seq})
