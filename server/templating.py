"""HTML responses from Jinja templates: whole pages, or the fragment htmx swaps (same URL)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request, Response
from litestar.enums import MediaType
from markupsafe import Markup, escape

from search.ranking import STOPWORDS
from search.tokenizer import CJK_RUN, bigrams
from server.auth import csrf_cookies, csrf_token, request_actor
from server.clock import parse_iso
from server.page_cache import CACHEABLE_PATH, STYLESHEET_COOKIE
from server.personal_pages import PERSONAL_MARK, PERSONAL_PROBE, SHAREABLE_HEADER

TEMPLATES = Path(__file__).resolve().parent / "templates"
# A page the browser is about to show carries the stylesheet inline (no second connection before the first
# paint on a slow link, issue 10) until the browser says, with the STYLESHEET_COOKIE naming the file, that
# it holds the file (pwa/static/js/app.js sets it once the service worker has cached it). Pages fetched by
# the service worker (its precache, the whole pages behind boosted links) link to the file, which it holds.
STYLESHEET = "css/app.css"


def inlines_stylesheet(request: Request, stylesheet: str) -> bool:
    # Browsers without Fetch Metadata send no Sec-Fetch-Dest: treat them as showing the page.
    shown = request.headers.get("sec-fetch-dest", "document") == "document"
    return shown and request.cookies.get(STYLESHEET_COOKIE) != stylesheet


def is_fragment_request(request: Request) -> bool:
    """htmx asks for a fragment, except when it restores history (it needs the whole page then)."""
    return request.headers.get("hx-request") == "true" and not request.headers.get(
        "hx-history-restore-request"
    )


def _short_time(value: str) -> str:
    return parse_iso(value).strftime("%Y-%m-%d %H:%M")


def _signed(value: int) -> str:
    return f"+{value:,}" if value > 0 else f"{value:,}".replace("-", "\u2212")


class LazyToken:
    """The CSRF token, issued only if the template shows a form that needs it.

    Pages without forms then set no cookie and are the same for every anonymous reader, so the
    page cache can keep them (server/page_cache.py).
    """

    def __init__(self, request: Request) -> None:
        self.request = request

    def __str__(self) -> str:
        return csrf_token(self.request)

    def __html__(self) -> str:
        return str(self)


_QUERY_WORD = re.compile(r"\w{2,}", re.UNICODE)


def _highlight(text: str, query: str) -> Markup:
    """Escape `text` and mark the query's words in it (case-insensitive, whole words and prefixes)."""
    query = query or ""
    words = {w.lower() for w in _QUERY_WORD.findall(CJK_RUN.sub(" ", query))}
    words = sorted(words - STOPWORDS or words, key=len, reverse=True)[:16]  # the search leaves stopwords out too
    pieces = sorted({p for run in CJK_RUN.findall(query) for p in bigrams(run)}, key=len, reverse=True)[:16]
    if not words and not pieces:
        return Markup(escape(text))
    # Words start at a word boundary; CJK pieces have none to start at (a sentence is one \w run).
    alternatives = [r"\b" + re.escape(w) for w in words] + [re.escape(p) for p in pieces]
    pattern = re.compile("(" + "|".join(alternatives) + ")", re.IGNORECASE | re.UNICODE)
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(escape(text[last : match.start()]))
        out.append(Markup("<mark>") + escape(match.group(0)) + Markup("</mark>"))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def build_environment(static_names: dict[str, str], settings: Any) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = lambda name: "/static/" + static_names.get(name, name)
    env.globals["settings"] = settings
    env.filters["short_time"] = _short_time
    env.filters["signed"] = _signed
    env.filters["highlight"] = _highlight
    return env


def html_response(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    env: Environment = request.app.state.templates
    context.setdefault("actor", request_actor(request))
    context["csrf_token"] = LazyToken(request)
    context["inline_css"] = inlines_stylesheet(request, env.globals["static"](STYLESHEET))
    context["fragment"] = is_fragment_request(request)
    context["request_path"] = request.url.path
    query = request.url.query
    context["return_to"] = request.url.path + (f"?{query}" if query else "")
    body = env.get_template(template).render(**context)
    headers = {"Vary": "HX-Request, Cookie, Sec-Fetch-Dest", "Cache-Control": "no-cache",
               # Allows the stylesheet base.html inlines (server/app.py, policy_with_inline_css).
               "Content-Security-Policy": request.app.state.page_policy}
    cookies = csrf_cookies(request, request.app.state.settings.secure_cookies)
    if not cookies and CACHEABLE_PATH.match(request.url.path):
        if not context["actor"].signed_in:
            headers[SHAREABLE_HEADER] = "1"  # the same for every anonymous reader; see server/page_cache.py
        elif request.scope.get("state", {}).get(PERSONAL_PROBE):
            headers[SHAREABLE_HEADER] = PERSONAL_MARK.decode()  # to be filled in; see server/personal_pages.py
    return Response(content=body, status_code=status_code, media_type=MediaType.HTML, headers=headers,
                    cookies=cookies)
