"""Markdown to safe HTML: wiki links, heading anchors and a table of contents, then sanitised.

Rendering happens once per revision; the result is stored with the revision.
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote, unquote

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

from server.slugs import TitleError, slugify, slugify_many

TOC_MIN_HEADINGS = 3
WIKILINK_CLASS = "wikilink"
# Every heading id starts with this, and no id of the app's own does (tests/server/test_render.py checks the
# templates and scripts): a heading `## Sync state` once took `sync-state`, the sync indicator's id (issue 11).
HEADING_ID_PREFIX = "s-"

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


# What `quote` leaves as it is: most slugs are plain ASCII, and a page can hold 20,000 links (issue 11).
_UNQUOTED = re.compile(r"[A-Za-z0-9_.~-]*")


def wiki_href(slug: str) -> str:
    return "/wiki/" + (slug if _UNQUOTED.fullmatch(slug) else quote(slug, safe=""))


# `[[target]]` or `[[target|label]]` on one line, with no `[` inside. The scan stops at the first `[`, newline
# or `]]`: searching the rest of the text for `]]` at every `[` made a page of `[[` cost its size squared
# (issue 11).
_WIKILINK = re.compile(r"\[\[([^\[\n]*?)\]\]")


def _wikilink_rule(state: StateInline, silent: bool) -> bool:
    match = _WIKILINK.match(state.src, state.pos)
    if match is None:
        return False
    inner = match.group(1)
    if not inner.strip():
        return False
    target, _, label = inner.partition("|")
    try:
        slug = slugify(target)
    except TitleError:
        return False
    if not silent:
        # One token, not link_open/text/link_close: a page can hold 20,000 links, and markdown-it's tokens
        # are the bulk of rendering it.
        token = state.push("wikilink", "a", 0)
        token.meta = {"wiki_slug": slug}
        token.content = (label or target).strip() or target
    state.pos = match.end()
    return True


def _render_wikilink(self: object, tokens: list[Token], idx: int, options: object, env: object) -> str:
    token = tokens[idx]
    href = wiki_href(token.meta["wiki_slug"])
    return f'<a href="{escapeHtml(href)}" class="{WIKILINK_CLASS}">{escapeHtml(token.content)}</a>'


class _HeadingIds:
    """Unique ids for a page's headings: `s-notes`, `s-notes-2`, `s-notes-3`, ...

    `used` holds the names without the prefix: the ids headings had before issue 11, which links written
    then still use.

    Each text remembers the last number it reached, so 40,000 headings `## a` cost 40,000 steps, not
    40,000 squared over two (issue 11).
    """

    def __init__(self) -> None:
        self.used: set[str] = set()
        self.next_number: dict[str, int] = {}

    def new(self, text: str) -> str:
        base = re.sub(r"[^\w-]+", "-", text.lower()).strip("-") or "section"
        anchor = base
        if anchor in self.used:
            n = self.next_number.get(base, 2)
            while f"{base}-{n}" in self.used:
                n += 1
            anchor = f"{base}-{n}"
            self.next_number[base] = n + 1
        self.used.add(anchor)
        return HEADING_ID_PREFIX + anchor

    def current(self, fragment: str) -> str:
        """The id an in-page link should point at: an id written before issue 11 becomes the prefixed one."""
        if fragment.startswith(HEADING_ID_PREFIX) and fragment[len(HEADING_ID_PREFIX):] in self.used:
            return fragment
        return HEADING_ID_PREFIX + fragment if fragment in self.used else fragment


def _build_markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.inline.ruler.before("link", "wikilink", _wikilink_rule)
    md.add_render_rule("wikilink", _render_wikilink)
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
    if not any(child.type == "image" for child in children):
        return children
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
    source = _drop_title_heading(body, title) if title else body
    fast = _render_with_placeholders(source)
    return fast if fast is not None else render_link_by_link(source)


def render_link_by_link(source: str) -> tuple[str, list[str]]:
    """The reference path: every wiki link is a markdown-it token (`_wikilink_rule`) and goes through nh3.

    `render` takes it when the placeholder path does not apply; tests compare the two, byte for byte.
    """
    tokens = _MD.parse(source)
    rendered, links = _render_tokens(tokens, [])
    return _sanitise(rendered), sorted(set(links))


def _render_tokens(tokens: list[Token], labels: list[str]) -> tuple[str, list[str]]:
    """Heading ids, contents, table classes and in-page links, then HTML (not yet sanitised).

    `labels[n]` holds the words the link of placeholder n (see `_placeholders`) shows: a heading's id and its
    line in the contents are made of those words, as they are of a wiki link token's.
    """
    heading_ids = _HeadingIds()
    headings: list[tuple[int, str, str]] = []
    links: list[str] = []
    in_page_links: list[Token] = []
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            inline = tokens[i + 1]
            text = "".join(c.content for c in (inline.children or []) if c.type in ("text", "code_inline", "wikilink"))
            if labels and _PLACEHOLDER_START in text:
                text = _PLACEHOLDER_NUMBER.sub(lambda m: labels[int(m.group(1))], text)
            anchor = heading_ids.new(text)
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
                if child.type == "wikilink":
                    links.append(child.meta["wiki_slug"])
                elif child.type == "link_open" and str(child.attrGet("href") or "").startswith("#"):
                    in_page_links.append(child)
    for link in in_page_links:  # after the loop: a link may come before the heading it names
        fragment = unquote(str(link.attrGet("href"))[1:])
        target = heading_ids.current(fragment)
        if target != fragment:  # others stay exactly as written
            link.attrSet("href", "#" + quote(target))
    rendered = _MD.renderer.render(tokens, _MD.options, {})
    if len(headings) >= TOC_MIN_HEADINGS:
        rendered = _toc(headings) + rendered
    return rendered, links


def _sanitise(rendered: str) -> str:
    return nh3.clean(
        rendered,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


# The placeholder path (issue 11 item 1). A page of 19,000 links spent most of its render on one markdown-it
# token per link, a text token between links, their rendering and nh3 parsing every <a>: 23 times a page of
# prose. Before parsing, each plain wiki link becomes a placeholder (`⸨12⸩`), so a run of links is one text
# token; after nh3, each placeholder becomes the <a> nh3 would have written for it.
#
# A placeholder must parse exactly as the link would have, so only links in plain text take this path:
# - the link's text holds only letters, digits, spaces and `.,-` (and `_`): none of them can end a code span,
#   an autolink, a link destination or title, a link label or a table cell that began before the link, and
#   nh3 writes each of them as it is;
# - the character before `[[` is none of `\ ! [ ]`, which would make it an escape, an image or part of a
#   link label;
# - `⸨` and `⸩` are punctuation, like `[` and `]`, so `*` and `~` next to a link open and close emphasis alike.
# Whatever else could put a link somewhere other than plain text (a code span, a link's label or address, an
# image, a reference definition...) leaves its placeholder somewhere other than a text token outside links;
# `_placeholders_in_plain_text` checks that every one is in such a token, or the page takes the other path.
# The other path also serves pages that already hold `⸨` or `⸩`, and links of any other shape.
_PLACEHOLDER_START, _PLACEHOLDER_END = "\u2e28", "\u2e29"
_PLACEHOLDER_NUMBER = re.compile(f"{_PLACEHOLDER_START}([0-9]+){_PLACEHOLDER_END}")
_PLAIN_WIKILINK = re.compile(r"(?<![\\!\[\]])\[\[([\w .,-]+)\]\]")


def _wikilink_anchor_parts() -> tuple[str, str, str]:
    """The <a> nh3 writes for a wiki link, cut around its href and text (asked of nh3, not assumed)."""
    sample = _sanitise(f'<a href="/wiki/\ue000" class="{WIKILINK_CLASS}">\ue001</a>')
    start, rest = sample.split("\ue000")
    middle, end = rest.split("\ue001")
    return start.removesuffix("/wiki/"), middle, end


_ANCHOR_START, _ANCHOR_MIDDLE, _ANCHOR_END = _wikilink_anchor_parts()


def _placeholders(source: str) -> tuple[str, list[str], list[str], list[str]]:
    """The source with each plain wiki link replaced by a placeholder; the links' slugs, hrefs and labels.

    Index n of each list belongs to the placeholder `⸨n⸩`. Lists and one join rather than a function call per
    link: at 19,000 links, a call per link was half the render.
    """
    parts = _PLAIN_WIKILINK.split(source)  # text, target, text, target, ..., text
    targets = parts[1::2]
    slugs = slugify_many(targets)
    if None in slugs:  # `[[ ]]` and the like: the rule would not take them either, they stay text
        kept = [n for n, slug in enumerate(slugs) if slug is not None]
        for n, (target, slug) in enumerate(zip(targets, slugs, strict=True)):
            if slug is None:
                parts[2 * n + 1] = f"[[{target}]]"
        targets = [targets[n] for n in kept]
        slugs = [slugs[n] for n in kept]
        marks = iter(range(len(kept)))
        parts[1::2] = [part if part.startswith("[[") else f"{_PLACEHOLDER_START}{next(marks)}{_PLACEHOLDER_END}"
                       for part in parts[1::2]]
    else:
        parts[1::2] = [f"{_PLACEHOLDER_START}{n}{_PLACEHOLDER_END}" for n in range(len(targets))]
    hrefs = ["/wiki/" + slug for slug in slugs] if _UNQUOTED.fullmatch("".join(slugs)) else [
        wiki_href(slug) for slug in slugs]
    joined = "\n".join(targets)
    if joined.startswith(" ") or joined.endswith(" ") or "\n " in joined or " \n" in joined:
        texts = [target.strip() or target for target in targets]  # as `_wikilink_rule` words it
    else:
        texts = targets
    return "".join(parts), slugs, hrefs, texts


def _placeholders_in_plain_text(tokens: list[Token], expected: int) -> bool:
    """True when each placeholder is in a text token outside any link or image, as its wiki link would be."""
    found = 0
    for token in tokens:
        if token.type != "inline":
            if _holds_placeholder(token):
                return False
            continue
        in_link = 0
        for child in token.children or []:
            if child.type == "link_open":
                in_link += 1
            elif child.type == "link_close":
                in_link -= 1
            if child.type == "text" and not in_link:
                found += child.content.count(_PLACEHOLDER_START)
            elif _holds_placeholder(child):
                return False
    return found == expected


def _holds_placeholder(token: Token) -> bool:
    if _PLACEHOLDER_START in token.content or _PLACEHOLDER_START in token.info:
        return True
    if any(_PLACEHOLDER_START in str(value) for value in (token.attrs or {}).values()):
        return True
    return any(_holds_placeholder(child) for child in token.children or [])


def _render_with_placeholders(source: str) -> tuple[str, list[str]] | None:
    """`render` by the placeholder path, or None where it does not apply (see above)."""
    if _PLACEHOLDER_START in source or _PLACEHOLDER_END in source:
        return None
    replaced, slugs, hrefs, texts = _placeholders(source)
    if not slugs:
        return None
    tokens = _MD.parse(replaced)
    if not _placeholders_in_plain_text(tokens, len(slugs)):
        return None
    rendered, other_links = _render_tokens(tokens, texts)
    pieces = _PLACEHOLDER_NUMBER.split(_sanitise(rendered))  # html, n, html, n, ..., html
    pieces[1::2] = [f"{_ANCHOR_START}{hrefs[n]}{_ANCHOR_MIDDLE}{texts[n]}{_ANCHOR_END}" for n in map(int, pieces[1::2])]
    return "".join(pieces), sorted(set(slugs).union(other_links))


def _toc(headings: list[tuple[int, str, str]]) -> str:
    items = "".join(
        f'<li class="toc-{level}"><a href="#{quote(anchor)}">{html.escape(text)}</a></li>'
        for level, anchor, text in headings
    )
    return f'<nav class="toc" aria-label="Contents"><p><strong>Contents</strong></p><ol>{items}</ol></nav>'


# A wiki link as `render` leaves it after sanitising (nh3 adds rel="..." after the class).
_WIKILINK_HTML = re.compile(f'<a href="/wiki/([^"]*)" class="{WIKILINK_CLASS}"([^>]*)>([^<]*)</a>')


def mark_missing_links(page_html: str, missing: set[str]) -> str:
    """Point links to pages that don't exist yet at their edit form, styled as 'new'.

    The link's text is the title to create when it names the same page (`[[Well maintenance]]`), so the
    new page keeps its capitals; a labelled link (`[[pumps|the pumps]]`) leaves the title to the slug.
    One pass over the page whatever the number of links: a pass per missing link cost links × size, 50 s
    for a page of 21,000 links (issue 11).
    """
    if not missing:
        return page_html

    def to_edit_form(match: re.Match[str]) -> str:
        quoted_slug, attributes, label = match.groups()
        slug = unquote(quoted_slug)  # the href is wiki_href(slug): this undoes its quoting exactly
        if slug not in missing:
            return match.group(0)
        text = html.unescape(label)
        try:
            same = slugify(text) == slug
        except TitleError:
            same = False
        href = "/wiki/" + quoted_slug
        target = f"{href}/edit?title={quote(text, safe='')}" if same else f"{href}/edit"
        return (f'<a href="{html.escape(target)}" class="{WIKILINK_CLASS} new" '
                f'title="This page does not exist yet: create it"{attributes}>{label}</a>')

    return _WIKILINK_HTML.sub(to_edit_form, page_html)
