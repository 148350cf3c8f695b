"""The app shell around the pages: service worker, manifest, offline page, search page."""

from __future__ import annotations

from litestar import Controller, Request, Response, get
from litestar.exceptions import ClientException
from litestar.response import File

from search.service import SearchService
from server.controllers.api_search import check_query
from server.static_build import PWA_DIR
from server.templating import html_response


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
    def search_pages(self, request: Request, search: SearchService, q: str = "", mode: str = "hybrid") -> Response:
        query = " ".join(q.split())
        try:
            check_query(query, 10, mode)
        except ClientException as exc:
            return html_response(request, "search.html", status_code=400, query=query[:50], results=[],
                                 error=exc.detail)
        found = search.search(query, 20, mode) if query else {"results": [], "took_ms": 0}
        return html_response(request, "search.html", query=query, results=found["results"],
                             notice=found.get("notice"), took_ms=found["took_ms"])
