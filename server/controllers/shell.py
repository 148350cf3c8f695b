"""The app shell around the pages: service worker, manifest, offline page, search page."""

from __future__ import annotations

from litestar import Controller, Request, Response, get
from litestar.response import File

from search.snippets import snippet
from server.db import Database
from server.pages import find_pages
from server.static_build import PWA_DIR
from server.templating import html_response

MAX_QUERY_CHARS = 500


class ShellController(Controller):
    path = "/"

    @get("/sw.js")
    async def get_service_worker(self) -> File:
        # Served from the root (not /static/) so that its scope can be the whole site.
        return File(PWA_DIR / "sw.js", media_type="text/javascript; charset=utf-8",
                    content_disposition_type="inline",
                    headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"})

    @get("/manifest.webmanifest")
    async def get_manifest(self) -> File:
        return File(PWA_DIR / "manifest.webmanifest", media_type="application/manifest+json",
                    content_disposition_type="inline", headers={"Cache-Control": "max-age=3600"})

    @get("/offline")
    async def get_offline_page(self, request: Request) -> Response:
        return html_response(request, "offline.html")

    @get("/search", sync_to_thread=True)
    def search_pages(self, request: Request, db: Database, q: str = "") -> Response:
        query = " ".join(q.split())
        if len(query) > MAX_QUERY_CHARS:
            return html_response(request, "search.html", status_code=400, query=query[:50],
                                 results=[], error=f"Search for at most {MAX_QUERY_CHARS} characters.")
        rows = db.read(find_pages, query, 20) if query else []
        results = [{**row, "snippet": snippet(row["body"], query)} for row in rows]
        return html_response(request, "search.html", query=query, results=results)
