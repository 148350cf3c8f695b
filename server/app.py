"""The application factory: `create_app(settings)` builds the Litestar app; `create_asgi` adds static files."""

from __future__ import annotations

import base64
import hashlib
import logging
from typing import Any

from litestar import Litestar, Request, Response, Router
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.types import ASGIApp
from markupsafe import Markup
from servestatic import ServeStaticASGI

from search.service import SearchService
from server.auth import csrf_guard
from server.compression import Compression
from server.controllers.accounts import AccountController
from server.controllers.api_accounts import AccountApiController
from server.controllers.api_bulk import BulkApiController
from server.controllers.api_me import MeApiController
from server.controllers.api_pages import PageApiController
from server.controllers.api_search import SearchApiController
from server.controllers.api_sync import SyncApiController
from server.controllers.conflicts import ConflictController
from server.controllers.shell import ShellController
from server.controllers.wiki import WikiController, edit_form_again
from server.db import Database
from server.dependencies import provide_actor, provide_db, provide_policy, provide_search, provide_settings
from server.head_requests import HeadAsGet
from server.page_cache import PageCache
from server.personal_replies import mark_personal_replies
from server.ratelimit import Rate, RateLimiter, rate_limit_middleware
from server.refused_forms import read_edit_form_first, typed_edit_form
from server.request import AppRequest
from server.seed import seed_if_empty
from server.settings import Settings
from server.static_build import HASHED_NAME, build_static
from server.templating import build_environment, html_response
from sync.apply import Policy

log = logging.getLogger("commonplace")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'; manifest-src 'self'; worker-src 'self'"
)
INLINE_CSS = "css/app.css"
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def policy_with_inline_css(css: str) -> str:
    """The CSP for pages that carry the stylesheet inline: that exact text, by hash, and no other inline style.

    Inline because a stylesheet file costs a phone on a slow link a second connection before the first
    paint (issue 10: 2.3 s before, 1.4-1.5 s after at a 600 ms round trip, tests/bench/README.md). Only
    until the browser holds the file (server/templating.py), so later pages do not carry it.
    """
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    return CONTENT_SECURITY_POLICY.replace("style-src 'self';", f"style-src 'self' 'sha256-{digest}';")


def set_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


async def add_security_headers(response: Response) -> Response:
    """Async so that Litestar runs it on the event loop instead of hopping to a thread per request."""
    return set_security_headers(response)


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith(("/api", "/schema"))


def handle_http_error(request: Request, exc: HTTPException) -> Response:
    if not _wants_html(request):
        body: dict[str, Any] = {"status_code": exc.status_code, "detail": exc.detail}
        if exc.extra:
            body["extra"] = exc.extra
        return set_security_headers(Response(body, status_code=exc.status_code, headers=exc.headers or None))
    typed = typed_edit_form(request) if exc.status_code in (403, 429) else None
    if typed is not None:  # the text typed into a refused edit form goes back into the form
        response = edit_form_again(request, typed, exc.status_code, exc.detail)
        response.headers.update(exc.headers or {})  # Retry-After on 429
        return set_security_headers(response)
    headings = {400: "That request could not be understood", 401: "Log in needed", 403: "Not allowed",
                404: "Not found", 405: "Not allowed", 413: "Too large", 429: "Too many requests"}
    # Litestar skips after_request for responses made by exception handlers.
    response = html_response(
        request, "message.html", status_code=exc.status_code,
        heading=headings.get(exc.status_code, "Something went wrong"),
        message=exc.detail, link="/", link_text="Go to the front page")
    response.headers.update(exc.headers or {})  # Retry-After on 429
    return set_security_headers(response)


def handle_server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if not _wants_html(request):
        return set_security_headers(Response(
            {"status_code": 500, "detail": "The server failed; nothing was changed. Try again."}, status_code=500))
    return set_security_headers(html_response(
        request, "message.html", status_code=500, heading="Something went wrong",
        message="The server failed; nothing was changed. Try again in a moment.",
        link="/", link_text="Go to the front page"))


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    db = Database(settings.db_path)
    if settings.seed:
        seed_if_empty(db)
    static_dir, static_names = build_static(settings.data)
    search = SearchService(db, settings.model)
    app = Litestar(
        # The OpenAPI schema describes the JSON API; the HTML pages are left out (it would call them JSON).
        route_handlers=[Router("/", route_handlers=[WikiController, AccountController, ShellController,
                                                    ConflictController], include_in_schema=False),
                        AccountApiController, PageApiController, SearchApiController, SyncApiController,
                        BulkApiController, MeApiController],
        dependencies={"db": Provide(provide_db, sync_to_thread=False),
                      "settings": Provide(provide_settings, sync_to_thread=False),
                      "policy": Provide(provide_policy, sync_to_thread=False),
                      "actor": Provide(provide_actor, sync_to_thread=False),
                      "search": Provide(provide_search, sync_to_thread=False)},
        guards=[csrf_guard],
        # The edit form is read before the rate limit can refuse it, so a 429 can give its text back.
        middleware=[read_edit_form_first, rate_limit_middleware],
        after_request=add_security_headers,
        before_send=[mark_personal_replies],
        exception_handlers={HTTPException: handle_http_error, Exception: handle_server_error},
        on_startup=[lambda: search.start()],
        on_shutdown=[lambda: search.stop(), lambda: db.close()],
        request_max_body_size=settings.max_body_bytes,
        request_class=AppRequest,
        # Only the JSON schema: the bundled UIs load scripts from CDNs, and no page may call another origin.
        openapi_config=OpenAPIConfig(title="Commonplace", version="0.1.0", path="/schema",
                                     render_plugins=[JsonRenderPlugin()]),
    )
    app.state.db = db
    app.state.search = search
    app.state.settings = settings
    app.state.ratelimiter = RateLimiter({
        "login": Rate.parse(settings.rate_login), "signup": Rate.parse(settings.rate_signup),
        "edit": Rate.parse(settings.rate_edit), "search": Rate.parse(settings.rate_search)})
    app.state.policy = Policy(anonymous_edits=settings.anonymous_edits, max_page_bytes=settings.max_page_bytes)
    app.state.templates = build_environment(static_names, settings)
    page_css = (static_dir / static_names[INLINE_CSS]).read_text(encoding="utf-8")
    app.state.templates.globals["page_css"] = Markup(page_css)
    app.state.page_policy = policy_with_inline_css(page_css)
    app.state.static_names = static_names
    app.state.static_dir = static_dir
    return app


def create_asgi(settings: Settings | None = None) -> ASGIApp:
    """The app with static files in front: hashed names are immutable, brotli/gzip chosen per request.
    Compression sits outside the page cache, which keeps (and picks) its own compressed copies; HEAD is a
    GET without its body, outside both, so its headers are a GET's (server/head_requests.py)."""
    settings = settings or Settings.from_env()
    litestar_app = create_app(settings)
    app = HeadAsGet(Compression(PageCache(litestar_app, settings.db_path, settings.page_cache_bytes)))
    return ServeStaticASGI(app, root=litestar_app.state.static_dir, prefix="static/", max_age=3600,
                           allow_all_origins=False, immutable_file_test=HASHED_NAME)
