"""Markdown to safe HTML: wiki links, heading anchors and a table of contents, then sanitised.

Rendering happens once per revision; the result is stored with the revision.
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

from server.slugs import TitleError, slugify

TOC_MIN_HEADINGS = 3
WIKILINK_CLASS = "wikilink"

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "img", "li", "nav", "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody",
    "td", "th", "thead", "tr", "ul",
}
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "class"},
    "img": {"src", "alt", "title"},
    "code": {"class"},
    "nav": {"class", "aria-label"},
    "ol": {"start"},
    "li": {"class"},
    "td": {"class"},
    "th": {"class"},
    **{f"h{n}": {"id"} for n in range(1, 7)},
}


def wiki_href(slug: str) -> str:
    return "/wiki/" + quote(slug, safe="")


def _wikilink_rule(state: StateInline, silent: bool) -> bool:
    src, start = state.src, state.pos
    if not src.startswith("[[", start):
        return False
    end = src.find("]]", start + 2)
    if end < 0:
        return False
    inner = src[start + 2 : end]
    if not inner.strip() or "\n" in inner or "[" in inner:
        return False
    target, _, label = inner.partition("|")
    try:
        slug = slugify(target)
    except TitleError:
        return False
    if not silent:
        token = state.push("link_open", "a", 1)
        token.attrs = {"href": wiki_href(slug), "class": WIKILINK_CLASS}
        token.meta = {"wiki_slug": slug}
        text = state.push("text", "", 0)
        text.content = (label or target).strip() or target
        state.push("link_close", "a", -1)
    state.pos = end + 2
    return True


def _heading_id(text: str, used: set[str]) -> str:
    base = re.sub(r"[^\w-]+", "-", text.lower()).strip("-") or "section"
    anchor, n = base, 1
    while anchor in used:
        n += 1
        anchor = f"{base}-{n}"
    used.add(anchor)
    return anchor


def _build_markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.inline.ruler.before("link", "wikilink", _wikilink_rule)
    return md


_MD = _build_markdown()


def _drop_title_heading(body: str, title: str) -> str:
    """Imported pages often repeat the title as `# Title`; the page template already shows it."""
    first, _, rest = body.lstrip("\n").partition("\n")
    if first.strip().lstrip("#").strip().lower() == title.strip().lower() and first.startswith("# "):
        return rest
    return body


def _external_images_as_links(children: list[Token]) -> list[Token]:
    """Pages never load from other origins (privacy, and the CSP forbids it): such an image becomes a link."""
    out: list[Token] = []
    in_link = 0
    for child in children:
        in_link += {"link_open": 1, "link_close": -1}.get(child.type, 0)
        src = str(child.attrGet("src") or "") if child.type == "image" else ""
        if not src.lower().startswith(("http://", "https://", "//")):
            out.append(child)
            continue
        text = Token("text", "", 0, content="Image: " + (child.content or src))
        if in_link:  # already inside a link: keep that link, show the image as words
            out.append(text)
            continue
        link_open = Token("link_open", "a", 1, attrs={"href": src, "class": "external-image"})
        out.extend([link_open, text, Token("link_close", "a", -1)])
    return out


def render(body: str, title: str = "") -> tuple[str, list[str]]:
    """Return (sanitised HTML, slugs of wiki links) for a page body."""
    tokens = _MD.parse(_drop_title_heading(body, title) if title else body)
    used: set[str] = set()
    headings: list[tuple[int, str, str]] = []
    links: list[str] = []
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            inline = tokens[i + 1]
            text = "".join(c.content for c in (inline.children or []) if c.type in ("text", "code_inline"))
            anchor = _heading_id(text, used)
            token.attrSet("id", anchor)
            if token.tag in ("h2", "h3"):
                headings.append((int(token.tag[1]), anchor, text))
        elif token.type in ("th_open", "td_open"):
            # Inline styles would trip the Content-Security-Policy; alignment becomes a class.
            align = str(token.attrGet("style") or "").removeprefix("text-align:")
            if align:
                token.attrs.pop("style", None)
                token.attrSet("class", f"align-{align}")
        elif token.type == "inline":
            token.children = _external_images_as_links(token.children or [])
            for child in token.children:
                if child.type == "link_open" and child.meta.get("wiki_slug"):
                    links.append(child.meta["wiki_slug"])
    rendered = _MD.renderer.render(tokens, _MD.options, {})
    if len(headings) >= TOC_MIN_HEADINGS:
        rendered = _toc(headings) + rendered
    clean = nh3.clean(
        rendered,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return clean, sorted(set(links))


def _toc(headings: list[tuple[int, str, str]]) -> str:
    items = "".join(
        f'<li class="toc-{level}"><a href="#{quote(anchor)}">{html.escape(text)}</a></li>'
        for level, anchor, text in headings
    )
    return f'<nav class="toc" aria-label="Contents"><p><strong>Contents</strong></p><ol>{items}</ol></nav>'


def mark_missing_links(page_html: str, missing: set[str]) -> str:
    """Point links to pages that don't exist yet at their edit form, styled as 'new'.

    The link's text is the title to create when it names the same page (`[[Well maintenance]]`), so the
    new page keeps its capitals; a labelled link (`[[pumps|the pumps]]`) leaves the title to the slug.
    """
    for slug in missing:
        href = wiki_href(slug)
        link = re.compile(f'<a href="{re.escape(href)}" class="{WIKILINK_CLASS}"([^>]*)>([^<]*)</a>')

        def to_edit_form(match: re.Match[str], slug: str = slug, href: str = href) -> str:
            text = html.unescape(match.group(2))
            try:
                same = slugify(text) == slug
            except TitleError:
                same = False
            target = f"{href}/edit?title={quote(text, safe='')}" if same else f"{href}/edit"
            return (f'<a href="{html.escape(target)}" class="{WIKILINK_CLASS} new" '
                    f'title="This page does not exist yet: create it"{match.group(1)}>{match.group(2)}</a>')

        page_html = link.sub(to_edit_form, page_html)
    return page_html
