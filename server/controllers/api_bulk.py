"""JSON API: many pages in one compressed reply, for saving the commons on a phone (issue #4)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.exceptions import ClientException
from litestar.params import QueryParameter

from search.service import MAX_LIMIT as SEARCH_LIMIT
from search.service import MAX_QUERY_CHARS, SearchService
from server import bulk
from server.compression import chosen_encoding, compress
from server.db import Database
from server.settings import Settings
from server.users import Actor
from sync.apply import Policy

SCOPES = ("all", "changes", "search", "slugs")
DEFAULT_LIMIT = 200
MAX_LIMIT = 500
# Quality 5 compresses a batch of wiki pages nearly as well as 11 at a small fraction of the CPU.
PAGE_FIELDS = ("slug", "title", "rev", "seq", "html", "updated_at")


def _names(search: SearchService, scope: str, q: str, slugs: str) -> list[str]:
    """The slugs a `search` or `slugs` batch walks through (its cursor is a position in this list)."""
    if scope == "search":
        return [r["slug"] for r in search.search(q, SEARCH_LIMIT, "hybrid")["results"]] if q else []
    if scope == "slugs":
        return [s for s in slugs.split(",") if s][:MAX_LIMIT]
    return []


def _encoded(request: Request, payload: dict[str, Any]) -> Response:
    """Compress here rather than in middleware: the reply is built once and its size is the point."""
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {"Cache-Control": "no-store", "Vary": "Accept-Encoding"}
    encoding = chosen_encoding(request.headers.get("accept-encoding", ""))
    body = raw if encoding is None else compress(raw, encoding)
    if encoding is not None:
        headers["Content-Encoding"] = encoding
    return Response(content=body, media_type="application/json", headers=headers)


class BulkApiController(Controller):
    path = "/api"
    tags = ["pages"]

    @get("/bulk", sync_to_thread=True)
    def list_bulk_pages(self, request: Request, db: Database, search: SearchService, actor: Actor,
                        policy: Policy, settings: Settings,
                        part: Annotated[str, QueryParameter(name="scope")] = "all",
                        after: int | None = None, limit: int = DEFAULT_LIMIT, q: str = "",
                        slugs: str = "", source: bool | None = None) -> Response:
        """Pages with their rendered HTML, in compressed batches; pass `cursor` back as `after` to continue.

        `scope`: `all` (every page), `changes` (most recently changed first), `search` (the results for `q`)
        or `slugs` (a comma-separated list). `last_seq` is the changes feed's position when the batch was
        read: refresh from `GET /api/sync/changes?since=last_seq` of the first batch afterwards.
        `source`: also send each page's Markdown `body`, so the page can be edited offline (issue #10). It
        costs about half as much again on the wire; by default only callers who can edit pay it.
        A batch also ends, with `more`, once it would pass `COMMONPLACE_MAX_REPLY_BYTES` (at least one page).
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
        if source is None:
            source = actor.signed_in or policy.anonymous_edits
        fields = (*PAGE_FIELDS, "body") if source else PAGE_FIELDS
        names = _names(search, part, " ".join(q.split()), slugs)
        return _encoded(request, db.read(bulk.read_batch, part, after, limit, names, fields,
                                         settings.max_reply_bytes))
