"""The app shell around the pages: service worker, manifest, offline pages, search page."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from typing import Any

import brotli
from litestar import Controller, Request, Response, get
from litestar.exceptions import ClientException
from litestar.response import File

from search.coverage import describe, recent_coverage
from search.service import SearchService
from server.compression import chosen_encoding
from server.controllers.api_search import check_query
from server.static_build import PWA_DIR
from server.templating import TEMPLATES, html_response

# "/new" too: starting a page works offline (issue #10).
SHELL_PAGES = ("/offline", "/offline/page", "/offline/edit", "/new")
# 16 KB compressed: cached when the reader first saves pages on purpose, then kept across updates
# (issue #4's 60 KB budget for a first visit).
LAZY_FILES = ("vendor/minisearch.js",)
CLOSEST_SHOWN = 5  # results listed when nothing matched well (the offline search shows as many)
# Loaded by the worker alone (importScripts keeps them with the worker): the slug rule for pages started offline.
WORKER_FILES = ("js/slugs.js",)
# The service worker's version changes whenever any of these change, so readers get the new shell.
SHELL_TEMPLATES = ("base.html", "offline.html", "offline_page.html", "offline_edit.html", "new.html")
_STATIC_CALL = re.compile(r"""static\('([^']+)'\)""")


def unknown_words(query: str, corrected: str | None) -> list[str]:
    """The words of `query` that its correction replaced, to say plainly which words no page has."""
    if not corrected:
        return []
    kept = {word.casefold() for word in corrected.split()}
    return [word for word in dict.fromkeys(query.split()) if word.casefold() not in kept]


def shell_files() -> list[str]:
    """Every static file the page frame (base.html) loads, so a script added there works offline too."""
    found = _STATIC_CALL.findall((TEMPLATES / "base.html").read_text(encoding="utf-8"))
    return [name for name in dict.fromkeys(found) if name not in LAZY_FILES]


def service_worker_script(static_names: dict[str, str], settings: Any) -> bytes:
    """sw.js with the build's file names and a version derived from everything it caches."""
    source = (PWA_DIR / "sw.js").read_text(encoding="utf-8")
    shell = shell_files()
    url = {name: "/static/" + static_names.get(name, name) for name in [*shell, *LAZY_FILES, *WORKER_FILES]}
    fingerprint = hashlib.sha256(source.encode())
    for part in (json.dumps(url, sort_keys=True), settings.site_name, settings.licence,
                 *((TEMPLATES / name).read_text(encoding="utf-8") for name in SHELL_TEMPLATES)):
        fingerprint.update(part.encode())
    build = {
        "version": fingerprint.hexdigest()[:12],
        "shell": [*SHELL_PAGES, *(url[name] for name in shell)],
        "lazy": [url[name] for name in LAZY_FILES],
        "store": url["js/offline-store.js"],
        "outbox": url["js/outbox.js"],
        "slugs": url["js/slugs.js"],
    }
    return f"const BUILD = {json.dumps(build)};\n{source}".encode()


def compressed(request: Request, response: Response) -> Response:
    """The shell's pages and script, compressed: the service worker fetches them on every phone."""
    body = response.content.encode() if isinstance(response.content, str) else response.content
    encoding = chosen_encoding(request.headers.get("accept-encoding", ""))
    vary = response.headers.get("Vary")
    response.headers["Vary"] = f"{vary}, Accept-Encoding" if vary else "Accept-Encoding"
    if encoding and body:
        body = brotli.compress(body, quality=11) if encoding == "br" else gzip.compress(body, 9)
        response.headers["Content-Encoding"] = encoding
    response.content = body
    return response


class ShellController(Controller):
    path = "/"

    @get("/sw.js")
    async def get_service_worker(self, request: Request) -> Response:
        # Served from the root (not /static/) so that its scope can be the whole site. The browser
        # asks for it on every navigation: an unchanged script costs a 304, not its bytes.
        state = request.app.state
        if "sw_script" not in state:
            state.sw_script = service_worker_script(state.static_names, state.settings)
            state.sw_etag = f'"{hashlib.sha256(state.sw_script).hexdigest()[:16]}"'
        headers = {"Cache-Control": "no-cache", "Service-Worker-Allowed": "/", "ETag": state.sw_etag}
        if state.sw_etag in request.headers.get("if-none-match", ""):
            return Response(content=None, status_code=304, headers=headers)
        return compressed(request, Response(content=state.sw_script, media_type="text/javascript", headers=headers))

    @get("/manifest.webmanifest")
    async def get_manifest(self) -> File:
        return File(PWA_DIR / "manifest.webmanifest", media_type="application/manifest+json",
                    content_disposition_type="inline", headers={"Cache-Control": "max-age=3600"})

    @get("/offline")
    async def get_offline_page(self, request: Request) -> Response:
        return compressed(request, html_response(request, "offline.html"))

    @get("/offline/page")
    async def get_offline_page_frame(self, request: Request) -> Response:
        """The frame the service worker fills with a page saved as data (kept or downloaded)."""
        return compressed(request, html_response(request, "offline_page.html"))

    @get("/offline/edit")
    async def get_offline_edit_frame(self, request: Request) -> Response:
        """The edit form the service worker fills with a page's saved source, to edit or create offline."""
        return compressed(request, html_response(request, "offline_edit.html"))

    @get("/search", sync_to_thread=True)
    def search_pages(self, request: Request, search: SearchService, q: str = "", mode: str = "hybrid") -> Response:
        query = " ".join(q.split())
        try:
            check_query(query, 10, mode)
        except ClientException as exc:
            return html_response(request, "search.html", status_code=400, query=query[:50], results=[],
                                 error=exc.detail)
        found = search.search(query, 20, mode) if query else {"results": [], "took_ms": 0}
        cover = describe(recent_coverage(search.db), meaning_available=search.embedder.error is None)
        # Nothing matched well: the closest few, not twenty confident-looking results.
        results = found["results"][:CLOSEST_SHOWN] if found.get("no_good_match") else found["results"]
        return html_response(request, "search.html", query=query, results=results,
                             notice=found.get("notice"), took_ms=found["took_ms"], coverage=cover,
                             no_good_match=bool(found.get("no_good_match")),
                             corrected_query=found.get("corrected_query"),
                             unknown_words=unknown_words(query, found.get("corrected_query")))
