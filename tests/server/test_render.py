"""Unit tests of server.render: Markdown to safe HTML, wiki links, heading anchors, contents, missing links."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import bearer, new_op, push, sign_up
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from server import render as render_module
from server.render import HEADING_ID_PREFIX, TOC_MIN_HEADINGS, WIKILINK_CLASS, mark_missing_links, render, wiki_href
from server.slugs import slugify

ROOT = Path(__file__).resolve().parents[2]


class _Collector(HTMLParser):
    """Start tags with their attributes, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Collector()
    parser.feed(html)
    parser.close()
    return parser.tags


def html_of(body: str, title: str = "") -> str:
    return render(body, title)[0]


def anchors(html: str) -> list[dict[str, str | None]]:
    return [attrs for tag, attrs in tags_of(html) if tag == "a"]


def heading_ids(html: str) -> list[str | None]:
    return [attrs.get("id") for tag, attrs in tags_of(html) if re.fullmatch(r"h[1-6]", tag)]


# --- Markdown basics -------------------------------------------------------------------------------------------


def test_render_returns_html_and_sorted_unique_link_slugs() -> None:
    html, links = render("[[Zebra]] [[apple]] [[Zebra]]")
    assert isinstance(html, str)
    assert links == ["apple", "zebra"]


@pytest.mark.parametrize(
    ("markdown", "fragment"),
    [
        ("Some *emphasis* here", "<em>emphasis</em>"),
        ("Some **strong** here", "<strong>strong</strong>"),
        ("Some `code` here", "<code>code</code>"),
        ("Some ~~gone~~ here", "<s>gone</s>"),
        ("> quoted", "<blockquote>"),
        ("- one\n- two", "<ul>"),
        ("1. one\n2. two", "<ol>"),
        ("3. three\n4. four", '<ol start="3">'),
        ("para one\n\npara two", "<p>para two</p>"),
        ("line one  \nline two", "<br"),
        ("a\n\n---\n\nb", "<hr"),
        ("```\nfenced\n```", "<pre><code>fenced\n</code></pre>"),
        ("```python\nx = 1\n```", '<code class="language-python">'),
        ("    indented code", "<pre><code>indented code"),
    ],
)
def test_markdown_basics(markdown: str, fragment: str) -> None:
    assert fragment in html_of(markdown)


def test_external_link_keeps_href_and_title_and_gets_rel() -> None:
    (link,) = anchors(html_of('[docs](https://example.org/a?b=1&c=2 "The docs")'))
    assert link["href"] == "https://example.org/a?b=1&c=2"
    assert link["title"] == "The docs"
    assert set((link["rel"] or "").split()) >= {"noopener", "noreferrer", "nofollow"}


def test_same_site_image_keeps_src_alt_and_title() -> None:
    (img,) = [attrs for tag, attrs in tags_of(html_of('![a cat](/static/cat.png "Cat")')) if tag == "img"]
    assert img == {"src": "/static/cat.png", "alt": "a cat", "title": "Cat"}


@pytest.mark.parametrize(
    "src", ["https://example.org/cat.png", "http://example.org/cat.png", "HTTPS://example.org/cat.png",
            "//example.org/cat.png"],
)
def test_external_image_becomes_a_link(src: str) -> None:
    """The CSP allows images from 'self' only, and pages never load other origins."""
    html = html_of(f"![a cat]({src})")
    assert "<img" not in html
    (link,) = anchors(html)
    assert link["href"] == src
    assert link["class"] == "external-image"
    assert "a cat</a>" in html


def test_linked_external_image_keeps_the_outer_link() -> None:
    html = html_of("[![build status](https://ci.example.org/badge.svg)](https://ci.example.org/project)")
    links = anchors(html)
    assert links and links[0]["href"] == "https://ci.example.org/project"
    assert "></a>" not in html  # no empty, invisible link


def test_relative_and_mailto_links_survive() -> None:
    hrefs = [a["href"] for a in anchors(html_of("[x](/wiki/other) [m](mailto:someone@example.org)"))]
    assert hrefs == ["/wiki/other", "mailto:someone@example.org"]


@pytest.mark.parametrize(
    "markdown",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "<javascript:alert(1)>",
        "[x][r]\n\n[r]: javascript:alert(1)",
        "![x](javascript:alert(1))",
    ],
)
def test_dangerous_url_schemes_are_dropped(markdown: str) -> None:
    for _tag, attrs in tags_of(html_of(markdown)):
        for name in ("href", "src"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("javascript:", "vbscript:", "data:")), (markdown, attrs)


# --- raw HTML is escaped, not interpreted ------------------------------------------------------------------


@pytest.mark.parametrize(
    "markdown",
    [
        "<script>alert(1)</script>",
        "<b>bold</b>",
        '<img src=x onerror="alert(1)">',
        '<div style="color:red">x</div>',
        "<!-- comment -->",
        "<iframe src=//example.org></iframe>",
        "text <span>inline</span> text",
    ],
)
def test_raw_html_is_escaped(markdown: str) -> None:
    html = html_of(markdown)
    assert "&lt;" in html
    tags = {tag for tag, _ in tags_of(html)}
    assert tags <= {"p"}, (markdown, html)


def test_raw_html_text_is_kept_visible() -> None:
    assert html_of("<b>bold</b>") == "<p>&lt;b&gt;bold&lt;/b&gt;</p>\n"


# --- wiki links ----------------------------------------------------------------------------------------------


def test_wiki_link_points_at_slug_with_class() -> None:
    html, links = render("See [[Main Page]] now.")
    (link,) = anchors(html)
    assert link["href"] == "/wiki/main-page"
    assert link["class"] == WIKILINK_CLASS
    assert links == ["main-page"]
    assert ">Main Page</a>" in html


def test_wiki_link_with_label() -> None:
    html, links = render("Read [[How to edit|the editing guide]].")
    (link,) = anchors(html)
    assert link["href"] == "/wiki/how-to-edit"
    assert link["class"] == WIKILINK_CLASS
    assert ">the editing guide</a>" in html
    assert "How to edit" not in html
    assert links == ["how-to-edit"]


def test_wiki_link_with_empty_label_uses_target() -> None:
    html, _ = render("[[Target|]]")
    assert ">Target</a>" in html


def test_wiki_link_label_and_target_are_escaped() -> None:
    html, links = render("[[<b>Bold</b>|<i>label</i>]]")
    (link,) = anchors(html)
    assert link["href"] == wiki_href(slugify("<b>Bold</b>")) == "/wiki/bboldb"
    assert "&lt;i&gt;label&lt;/i&gt;" in html
    assert {tag for tag, _ in tags_of(html)} == {"p", "a"}
    assert links == ["bboldb"]


def test_wiki_link_to_non_ascii_title_is_percent_encoded() -> None:
    html, links = render("[[Café Olé]]")
    (link,) = anchors(html)
    assert links == ["café-olé"]
    assert link["href"] == wiki_href("café-olé") == "/wiki/caf%C3%A9-ol%C3%A9"


def test_several_wiki_links_in_a_paragraph_and_a_table() -> None:
    html, links = render("[[One]] and [[Two|2]]\n\n| h |\n|---|\n| [[Three]] |")
    assert [a["href"] for a in anchors(html)] == ["/wiki/one", "/wiki/two", "/wiki/three"]
    assert links == ["one", "three", "two"]


@pytest.mark.parametrize(
    "markdown",
    [
        "[[]]",
        "[[   ]]",
        "[[ |label]]",
        "[[unclosed",
        "[[line\nbreak]]",
    ],
)
def test_not_a_wiki_link(markdown: str) -> None:
    html, links = render(markdown)
    assert links == []
    assert not [a for a in anchors(html) if a.get("class") == WIKILINK_CLASS]


@pytest.mark.parametrize(
    "markdown",
    [
        "Use `[[Title]]` to link.",
        "Use ``[[Title|label]]`` to link.",
        "```\n[[Title]]\n```",
        "~~~markdown\n[[Title|label]]\n~~~",
        "    [[Title]] (indented code)",
    ],
)
def test_wiki_link_syntax_in_code_stays_literal(markdown: str) -> None:
    html, links = render(markdown)
    assert links == []
    assert anchors(html) == []
    assert "[[Title" in html


def test_escaped_brackets_are_not_a_wiki_link() -> None:
    html, links = render(r"\[\[Title]]")
    assert links == []
    assert "[[Title]]" in html


# --- headings, anchors, contents ------------------------------------------------------------------------------


def test_headings_get_ids_from_their_text() -> None:
    html = html_of("# Top\n\n## Getting started\n\n### What's `new`?")
    assert heading_ids(html) == ["s-top", "s-getting-started", "s-what-s-new"]


def test_heading_ids_are_unique_for_repeated_titles() -> None:
    ids = heading_ids(html_of("## Notes\n\n## Notes\n\n### Notes\n\n## Notes"))
    assert len(ids) == 4
    assert len(set(ids)) == 4, ids


def test_heading_ids_are_unique_even_when_a_heading_looks_like_a_generated_suffix() -> None:
    # "## A" twice gives "a" and "a-2"; a third heading literally called "A-2" must not reuse "a-2".
    ids = heading_ids(html_of("## A\n\n## A\n\n## A-2"))
    assert len(set(ids)) == len(ids), ids


def test_many_equal_headings_cost_a_step_each() -> None:
    # Issue 11: each `## a` used to try a, a-2, a-3, ... from the start: 40,000 of them took 19 s.
    checks = _CountingSet()
    ids = render_module._HeadingIds()
    ids.used = checks
    assert [ids.new("a") for _ in range(3000)] == ["s-a", *(f"s-a-{n}" for n in range(2, 3001))]
    assert checks.lookups <= 2 * 3000, checks.lookups


def test_numbering_skips_ids_taken_by_headings_that_look_numbered() -> None:
    ids = heading_ids(html_of("## A-2\n\n## A\n\n## A\n\n## A\n\n## A-3\n\n## A"))
    assert ids == ["s-a-2", "s-a", "s-a-3", "s-a-4", "s-a-3-2", "s-a-5"]


def test_heading_without_text_gets_a_fallback_id() -> None:
    ids = heading_ids(html_of("## ***\n\n## !!!"))
    assert all(ids) and len(set(ids)) == 2, ids


def _app_ids() -> set[str]:
    """Every id the app's own markup and scripts use: `id="..."` in the templates (a templated part such
    as `{{ n }}` stands for a number), and the ids the scripts create or look up."""
    ids: set[str] = set()
    for template in (ROOT / "server" / "templates").rglob("*.html"):
        for found in re.findall(r'\bid="([^"]+)"', template.read_text(encoding="utf-8")):
            ids.add(re.sub(r"\{\{[^}]*\}\}", "1", found))
    for script in [*(ROOT / "pwa" / "static" / "js").glob("*.js"), ROOT / "pwa" / "sw.js"]:
        text = script.read_text(encoding="utf-8")
        ids.update(re.findall(r'getElementById\("([^"]+)"\)', text))
        ids.update(re.findall(r'\bid: "([^"]+)"', text))
        ids.update(re.findall(r'querySelector(?:All)?\("#([\w-]+)', text))
    return ids


def test_no_heading_can_take_an_id_the_app_uses() -> None:
    # Issue 11: `## Sync state` took `sync-state`, and the sync indicator found the heading instead of itself.
    app_ids = _app_ids()
    assert {"sync-state", "sync-panel", "main", "saved-notice", "pending-edit", "search-q"} <= app_ids
    assert not any(name.startswith(HEADING_ID_PREFIX) for name in app_ids), app_ids
    title_of = {name: name.replace("-", " ").capitalize() for name in app_ids}
    body = "\n\n".join(f"{'#' * (n % 6 + 1)} {title}" for n, title in enumerate(sorted(title_of.values())))
    ids = heading_ids(html_of(body))
    assert len(ids) == len(app_ids)
    assert not set(ids) & app_ids, set(ids) & app_ids
    assert {name.removeprefix(HEADING_ID_PREFIX) for name in ids} == app_ids  # each heading really was named so
    # The page script that sends a link to an older, unprefixed id on to its section uses the same prefix.
    assert f'getElementById("{HEADING_ID_PREFIX}" + name)' in (ROOT / "pwa/static/js/app.js").read_text("utf-8")


def test_a_served_page_with_headings_named_like_the_app_has_no_duplicate_ids(client: TestClient) -> None:
    token = sign_up(client)
    body = "\n\n".join(f"## {name.replace('-', ' ').capitalize()}\n\nText." for name in sorted(_app_ids()))
    (result,) = push(client, token, new_op(slug=None, title="Every app id", base_rev=None, body=body))
    for headers in ({}, bearer(token)):  # as a reader and as its author
        reply = client.get(f"/wiki/{result['slug']}", headers=headers)
        assert reply.status_code == 200
        ids = [attrs["id"] for _, attrs in tags_of(reply.text) if "id" in attrs]
        assert "main" in ids and "s-main" in ids
        assert len(ids) == len(set(ids)), sorted(name for name in ids if ids.count(name) > 1)


def test_old_in_page_links_follow_their_heading_to_its_new_id() -> None:
    html = html_of("See [the state](#sync-state), [notes](#notes-2), [caf](#caf%C3%A9) and [away](#elsewhere).\n\n"
                   "## Sync state\n\n## Notes\n\n## Notes\n\n## Café")
    hrefs = [a["href"] for a in anchors(html[html.index("</nav>"):])]  # the page's own links, not the contents
    assert hrefs == ["#s-sync-state", "#s-notes-2", "#s-caf%C3%A9", "#elsewhere"]
    assert set(h.removeprefix("#") for h in hrefs[:2]) <= set(heading_ids(html))


def test_new_style_in_page_links_are_left_as_written() -> None:
    # `#s-foo` is Foo's id; it is also what `## S foo` was called before the prefix: the current id wins.
    html = html_of("[foo](#s-foo) [a?b](#a?b)\n\n## Foo\n\n## S foo")
    assert [a["href"] for a in anchors(html)] == ["#s-foo", "#a?b"]
    assert heading_ids(html) == ["s-foo", "s-s-foo"]


def test_contents_appear_with_enough_headings() -> None:
    body = "## One\n\ntext\n\n### Two\n\ntext\n\n## Three\n\ntext"
    html = html_of(body)
    assert TOC_MIN_HEADINGS == 3
    assert html.startswith('<nav class="toc"')
    navs = [attrs for tag, attrs in tags_of(html) if tag == "nav"]
    assert navs == [{"class": "toc", "aria-label": "Contents"}]
    toc = html[: html.index("</nav>")]
    assert re.findall(r'href="#([^"]+)"', toc) == ["s-one", "s-two", "s-three"]
    assert heading_ids(html) == ["s-one", "s-two", "s-three"]
    assert '<li class="toc-3">' in toc


def test_contents_targets_exist_for_duplicate_headings() -> None:
    html = html_of("## Same\n\n## Same\n\n## Same")
    toc = html[: html.index("</nav>")]
    assert re.findall(r'href="#([^"]+)"', toc) == heading_ids(html)


@pytest.mark.parametrize(
    "body",
    [
        "",
        "no headings at all",
        "## One\n\n## Two",
        "# Not counted\n\n## One\n\n## Two",
        "## One\n\n#### Not counted\n\n##### Not counted either\n\n### Two",
    ],
)
def test_no_contents_with_fewer_than_three_h2_h3(body: str) -> None:
    html = html_of(body)
    assert "<nav" not in html
    assert "toc" not in html


def test_contents_text_is_escaped() -> None:
    html = html_of("## <script>\n\n## a & b\n\n## `<img>`")
    assert "<script" not in html
    assert "<img" not in html
    assert "a &amp; b" in html
    assert {tag for tag, _ in tags_of(html)} <= {"nav", "p", "strong", "ol", "li", "a", "h2", "code"}


# --- tables: alignment as classes, never style ----------------------------------------------------------------


def test_table_alignment_becomes_classes() -> None:
    html = html_of("| L | C | R | N |\n|:--|:-:|--:|---|\n| 1 | 2 | 3 | 4 |")
    cells = [(tag, attrs.get("class")) for tag, attrs in tags_of(html) if tag in ("th", "td")]
    assert cells == [
        ("th", "align-left"), ("th", "align-center"), ("th", "align-right"), ("th", None),
        ("td", "align-left"), ("td", "align-center"), ("td", "align-right"), ("td", None),
    ]
    assert "style" not in html


@pytest.mark.parametrize(
    "body",
    [
        "| a | b |\n|:-:|--:|\n| 1 | 2 |",
        "## x\n\n## y\n\n## z\n\n| a |\n|:--|\n| 1 |",
        "![img](https://example.org/i.png) [l](https://example.org) [[Wiki]] `c` **b**",
        '<p style="color:red">x</p>',
        "[x](https://example.org \"style='color:red'\")",
    ],
)
def test_no_style_attribute_anywhere(body: str) -> None:
    for tag, attrs in tags_of(html_of(body)):
        assert "style" not in attrs, (tag, attrs)


# --- links to missing pages ----------------------------------------------------------------------------------


def test_missing_links_point_at_edit_with_class_new() -> None:
    html, links = render("[[Exists]] and [[Missing Page|a label]] and [[Exists]]")
    marked = mark_missing_links(html, {"missing-page"})
    links_out = anchors(marked)
    assert [a["href"] for a in links_out] == ["/wiki/exists", "/wiki/missing-page/edit", "/wiki/exists"]
    assert links_out[1]["class"].split() == [WIKILINK_CLASS, "new"]
    assert links_out[1]["title"]
    assert links_out[0]["class"] == WIKILINK_CLASS
    assert "a label</a>" in marked


def test_missing_link_marking_does_not_touch_similar_slugs() -> None:
    html, _ = render("[[Foo]] [[Foo Bar]]")
    marked = mark_missing_links(html, {"foo"})
    assert [a["href"] for a in anchors(marked)] == ["/wiki/foo/edit?title=Foo", "/wiki/foo-bar"]


def test_missing_link_to_non_ascii_page() -> None:
    html, links = render("[[Café]]")
    marked = mark_missing_links(html, set(links))
    (link,) = anchors(marked)
    assert link["href"] == "/wiki/caf%C3%A9/edit?title=Caf%C3%A9"
    assert "new" in link["class"].split()


def test_a_missing_link_carries_its_title_with_capitals() -> None:
    html, links = render("[[Well maintenance]] and [[Tom & Jerry]]")
    hrefs = [a["href"] for a in anchors(mark_missing_links(html, set(links)))]
    assert hrefs == ["/wiki/well-maintenance/edit?title=Well%20maintenance",
                     "/wiki/tom-jerry/edit?title=Tom%20%26%20Jerry"]


def test_missing_link_marking_ignores_ordinary_links() -> None:
    html, _ = render("[plain](/wiki/foo)")
    assert mark_missing_links(html, {"foo"}) == html


def test_mark_missing_links_with_nothing_missing_is_identity() -> None:
    html, _ = render("[[A]] [[B]]")
    assert mark_missing_links(html, set()) == html


class _CountingSet(set):
    """A set that counts membership tests, to show how much work a loop does without timing it."""

    lookups = 0

    def __contains__(self, item: object) -> bool:
        self.lookups += 1
        return super().__contains__(item)


class _RecordingPattern:
    """Stands in for a compiled pattern and records the length of every text it is asked to scan."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.scanned: list[int] = []

    def sub(self, replacement: Callable[[re.Match[str]], str], text: str) -> str:
        self.scanned.append(len(text))
        return self.pattern.sub(replacement, text)


def test_missing_links_are_marked_in_one_pass_over_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 11: one pass over the whole page per missing link cost links x size (50 s at the size limit).
    html, links = render(" ".join(f"[[a{n}]]" for n in range(4000)))
    recording = _RecordingPattern(render_module._WIKILINK_HTML)
    monkeypatch.setattr(render_module, "_WIKILINK_HTML", recording)
    mark_missing_links(html, set(links[::2]))
    assert recording.scanned == [len(html)]


def test_a_page_of_twenty_thousand_links_is_marked_link_by_link() -> None:
    # Near the 200 kB page limit; every other link is missing, some carry a label, some a title with capitals.
    parts = []
    for n in range(20_000):
        parts.append(f"[[A{n}|label {n}]]" if n % 3 == 0 else f"[[A{n}]]")
    html, links = render(" ".join(parts))
    assert len(links) == 20_000
    missing = {f"a{n}" for n in range(0, 20_000, 2)}
    hrefs = [a["href"] for a in anchors(mark_missing_links(html, missing))]
    expected = []
    for n in range(20_000):
        if n % 2:
            expected.append(f"/wiki/a{n}")
        else:
            expected.append(f"/wiki/a{n}/edit" if n % 3 == 0 else f"/wiki/a{n}/edit?title=A{n}")
    assert hrefs == expected


def test_a_missing_link_with_an_ampersand_in_its_text_keeps_its_title() -> None:
    html, links = render("[[Salt & pepper]] [[Salt & pepper|S&P]]")
    hrefs = [a["href"] for a in anchors(mark_missing_links(html, set(links)))]
    assert hrefs == ["/wiki/salt-pepper/edit?title=Salt%20%26%20pepper", "/wiki/salt-pepper/edit"]


# --- wiki link syntax edge cases that used to cost a scan of the rest of the page -----------------------------


@pytest.mark.parametrize(
    ("body", "slugs"),
    [
        ("[[a [[b]]", ["b"]),
        ("[[a\nb]] [[c]]", ["c"]),
        ("[[a]]]", ["a"]),
        ("[[[a]]]", ["a"]),
        ("[[]] [[ ]] [[x|]]", ["x"]),
        ("[[" * 50, []),
    ],
)
def test_wiki_link_edge_cases(body: str, slugs: list[str]) -> None:
    assert render(body)[1] == slugs


# --- the title heading ---------------------------------------------------------------------------------------


def test_leading_title_heading_is_dropped() -> None:
    html = html_of("# My Page\n\nBody text.", "My Page")
    assert "<h1" not in html
    assert "My Page" not in html
    assert "<p>Body text.</p>" in html


def test_leading_title_heading_comparison_ignores_case_and_blank_lines() -> None:
    html = html_of("\n\n# my page\nBody text.", "My Page")
    assert "<h1" not in html


@pytest.mark.parametrize(
    ("body", "title"),
    [
        ("# Another Heading\n\nBody.", "My Page"),
        ("# My Page\n\nBody.", ""),
        ("Intro.\n\n# My Page\n\nBody.", "My Page"),
        ("## My Page\n\nBody.", "My Page"),
        ("#My Page\n\nBody.", "My Page"),
    ],
)
def test_other_headings_are_kept(body: str, title: str) -> None:
    html = html_of(body, title)
    assert "My Page" in html or "Another Heading" in html


def test_only_the_first_title_heading_is_dropped() -> None:
    html = html_of("# My Page\n\n# My Page\n\nBody.", "My Page")
    assert html.count("<h1") == 1


# --- Wiki links by placeholder (issue 11 item 1: a page of links within 5x a page of prose) --------------------

# Pieces of Markdown around wiki links: each context where a link could parse differently from a placeholder.
_PIECES = [
    "[[a]]", "[[A b]]", "[[a|b]]", "[[ ]]", "[[ a ]]", "[[a_b]]", "[[a.b, c-d]]", "[[Café]]", "[[1²]]", "[[-]]",
    "[[" + "b" * 85 + "]]", "[[a]b]]", "[[a`b]]", "[[a*b]]", "[[x]](u)", "`[[a]]`", "<http://x/[[a]]>",
    "\\", "!", "[", "]", "(", ")", "`", "*", "**", "_", "~~", "<", ">", '"', "'", "|", ":", "&amp;", "&", "x",
    " ", "  ", "\n", "\n\n", "# ", "## ", "- ", "1. ", "> ", "    ", "```\n", "[r]: /u", "\n[r]: /u\n", "[r]",
    "\n|---|---|\n", "| a | b |", "\n===\n", "---", "![", "](u)", "[x](", "\u00a0", "\t", "\u2e28", "\u2e29",
]


@pytest.mark.parametrize("body", [
    "See [[Well maintenance]] and [[pumps]].",
    "*[[a]]* a*[[b]]*c _[[c]]_ ~~[[d]]~~ **x[[e]]y**",
    "## [[Pumps]] and `code`\n\n### [[a]]\n\n### [[a]]\n\n[back](#pumps-and-code)",
    "| [[a]] | b |\n|:--|--:|\n| [[c]] | [[d|e]] |",
    "`[[a]]` and ```\n[[b]]\n``` and\n\n    [[c]]\n\n```\n[[d]]\n```",
    "\\[[a]] ![[b]] [x][[c]] [[[d]]] [x [[e]]](u) ![x [[f]]](u) [x]([[g]]) <http://x/[[h]]>",
    "[[a]]: /u\n\n[r [[b]] s]: /v\n\n[r [[b]] s]",
    "[x](u \"t [[a\")]] [[b]]",
    "Already holds \u2e28 [[a]] \u2e29",
    "[[ ]] [[a]] [[\u00a0]] [[a\tb]]",
    " ".join(f"[[A{n}]]" for n in range(300)),
])
def test_placeholders_render_exactly_as_link_tokens(body: str) -> None:
    assert render(body) == render_module.render_link_by_link(body)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_PIECES), max_size=40).map("".join))
def test_any_page_renders_exactly_as_link_tokens(body: str) -> None:
    assert render(body) == render_module.render_link_by_link(body)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=8)), max_size=20).map("".join))
def test_any_text_renders_exactly_as_link_tokens(body: str) -> None:
    assert render(body) == render_module.render_link_by_link(body)


def test_a_page_of_links_is_one_text_token_and_nh3_parses_none_of_them(monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 11: a token per link, and nh3 parsing each <a>, made a page of links cost 23x a page of prose.
    parsed: list[list] = []
    sanitised: list[str] = []
    original_parse, original_clean = render_module._MD.parse, render_module.nh3.clean
    monkeypatch.setattr(render_module._MD, "parse", lambda src: parsed.append(original_parse(src)) or parsed[-1])
    monkeypatch.setattr(render_module.nh3, "clean", lambda html, **kw: sanitised.append(html) or original_clean(
        html, **kw))
    html, links = render(" ".join(f"[[a{n}]]" for n in range(1000)))
    [tokens] = parsed
    [inline] = [token for token in tokens if token.type == "inline"]
    assert [child.type for child in inline.children] == ["text"]
    assert "<a" not in sanitised[-1]
    assert html.count(f'class="{WIKILINK_CLASS}"') == 1000 and len(links) == 1000


@pytest.mark.parametrize("body", ["`[[a]]`", "[x [[a]]](u)", "![x [[a]]](u)", "[r]: [[a]]\n\n[r]", "\u2e28 [[a]]"])
def test_a_link_outside_plain_text_takes_the_link_token_path(body: str) -> None:
    assert render_module._render_with_placeholders(body) is None
    assert render(body) == render_module.render_link_by_link(body)
