"""Chunking: the token limit always holds, the title rides along, edits stay local, Markdown is stripped lightly."""

from __future__ import annotations

import hashlib
import json
import os
import re

import pytest
from conftest import SHARED_DATA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search.chunking import Chunk, chunk_page, markdown_to_text
from search.embedder import DEFAULT_MODEL, Embedder, HashingEmbedder, load_embedder

count = HashingEmbedder().count_tokens


@pytest.fixture(scope="session")
def real() -> Embedder:
    """The default model; load_embedder shares one instance per process, so the session loads it once."""
    return load_embedder(DEFAULT_MODEL)


def read_jsonl(path):
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def squashed(text: str) -> str:
    """Text without any whitespace: survives re-joining pieces with other separators and cuts inside words."""
    return re.sub(r"\s+", "", text)


def bodies(chunks: list[Chunk]) -> str:
    return "".join(squashed(chunk.text.split("\n\n", 1)[1]) for chunk in chunks if "\n\n" in chunk.text)


def check_chunks(chunks: list[Chunk], count_tokens, max_tokens: int) -> None:
    assert chunks, "a page always has at least one chunk"
    assert [chunk.ord for chunk in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert count_tokens(chunk.text) <= max_tokens, chunk.text
        assert chunk.hash == hashlib.sha256(chunk.text.encode("utf-8", "surrogatepass")).hexdigest()


# ---------------------------------------------------------------------------------------------------- limits

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzÄé漢0123456789", min_size=1, max_size=14)
LONG_WORD = st.text(alphabet="abcxyz", min_size=30, max_size=400)
PUNCT = st.sampled_from([".", ",", "!", "?", ";", ":", "(", ")", "—", "'", '"', "...", "-", "/", "*", "_", "|"])
SPACE = st.sampled_from([" ", " ", " ", "  ", "\t", "\n"])
INLINE = st.one_of(
    WORD,
    WORD,
    WORD,
    PUNCT,
    LONG_WORD,
    st.builds(lambda a, b: f"[{a}](https://example.com/{b})", WORD, WORD),
    st.builds(lambda a, b: f"[[{a}|{b}]]", WORD, WORD),
    st.builds(lambda a: f"[[{a}]]", WORD),
    st.builds(lambda a: f"`{a} --flag`", WORD),
    st.builds(lambda a: f"**{a}**", WORD),
    st.builds(lambda a: f"<b>{a}</b>", WORD),
    st.builds(lambda a: f"![{a}](img.png)", WORD),
    st.builds(lambda a: "{{" + a + "}}", WORD),
    st.text(max_size=8),  # anything at all, control characters and stray syntax included
)


@st.composite
def sentence(draw) -> str:
    parts = draw(st.lists(INLINE, min_size=1, max_size=60))
    return "".join(part + draw(SPACE) for part in parts).strip()


@st.composite
def block(draw) -> str:
    kind = draw(st.sampled_from(["paragraph", "paragraph", "heading", "list", "code", "quote", "long"]))
    if kind == "heading":
        return "#" * draw(st.integers(1, 7)) + " " + draw(sentence())
    if kind == "list":
        marker = draw(st.sampled_from(["- ", "* ", "1. ", "- [ ] "]))
        return "\n".join(marker + draw(sentence()) for _ in range(draw(st.integers(1, 8))))
    if kind == "code":
        lines = draw(st.lists(st.one_of(sentence(), st.just(""), st.just("# not a heading")), max_size=30))
        return "```sh\n" + "\n".join(lines) + "\n```"
    if kind == "quote":
        return "\n".join("> " + draw(sentence()) for _ in range(draw(st.integers(1, 4))))
    if kind == "long":  # one paragraph far over any limit
        return " ".join(draw(sentence()) + "." for _ in range(draw(st.integers(5, 40))))
    return draw(sentence())


@st.composite
def page(draw) -> tuple[str, str]:
    title = draw(st.one_of(WORD, sentence(), st.text(max_size=40)))
    separator = draw(st.sampled_from(["\n\n", "\n\n\n", "\n"]))
    return title, separator.join(draw(st.lists(block(), max_size=14)))


@settings(
    max_examples=int(os.environ.get("CHUNK_EXAMPLES", "200")),  # raise it for a longer hunt
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(page=page(), max_tokens=st.sampled_from([8, 12, 32, 64, 128, 256, 512]))
def test_no_chunk_exceeds_the_limit(page: tuple[str, str], max_tokens: int) -> None:
    title, body = page
    chunks = chunk_page(title, body, count, max_tokens)
    check_chunks(chunks, count, max_tokens)
    assert chunks == chunk_page(title, body, count, max_tokens)  # deterministic


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    paragraphs=st.lists(st.lists(st.one_of(WORD, LONG_WORD), min_size=1, max_size=200).map(" ".join), max_size=10),
    max_tokens=st.sampled_from([16, 40, 256]),
)
def test_nothing_is_lost_or_reordered(paragraphs: list[str], max_tokens: int) -> None:
    body = "\n\n".join(paragraphs)
    chunks = chunk_page("Title", body, count, max_tokens)
    check_chunks(chunks, count, max_tokens)
    assert all(chunk.text.startswith("Title") for chunk in chunks)
    assert bodies(chunks) == squashed(markdown_to_text(body))


def test_real_tokenizer_on_every_tldr_page(real: Embedder) -> None:
    pages = read_jsonl(SHARED_DATA / "tldr" / "pages.jsonl")
    assert len(pages) > 7000
    total = 0
    for item in pages:
        chunks = chunk_page(item["title"], item["text"], real.count_tokens, real.max_tokens)
        check_chunks(chunks, real.count_tokens, real.max_tokens)
        assert all(chunk.text.startswith(item["title"]) for chunk in chunks)
        for chunk in chunks:
            last = chunk.text.split("\n\n")[-1]
            assert "\n" in last or not last.endswith(":"), chunk.text  # never "- Do X:" cut from its command
        total += len(chunks)
    assert total < len(pages) * 1.3  # most tldr pages fit in one chunk


def test_real_tokenizer_on_scifact_abstracts(real: Embedder) -> None:
    docs = read_jsonl(SHARED_DATA / "scifact" / "corpus.jsonl")[:400]
    split = 0
    for doc in docs:
        chunks = chunk_page(doc["title"], doc["text"], real.count_tokens, real.max_tokens)
        check_chunks(chunks, real.count_tokens, real.max_tokens)
        assert all(chunk.text.startswith(doc["title"] + "\n\n") for chunk in chunks)
        assert bodies(chunks) == squashed(markdown_to_text(doc["text"]))
        if len(chunks) > 1:
            split += 1
            # An abstract too long for one chunk is cut between sentences into even parts, not a full one and a scrap.
            sizes = [real.count_tokens(chunk.text) for chunk in chunks]
            assert min(sizes) >= max(sizes) // 3
            assert all(chunk.text.rstrip()[-1] in ".?!)]%\"'" for chunk in chunks[:-1])
    assert split > 100  # the long single paragraph is really split, with the title in every part


# ---------------------------------------------------------------------------------------------------- structure


def test_empty_body_is_one_chunk_with_the_title() -> None:
    for body in ("", "   \n\n  ", "# Tar\n"):
        chunks = chunk_page("Tar", body, count)
        assert chunks == [Chunk(ord=0, heading="", text="Tar", hash=hashlib.sha256(b"Tar").hexdigest())]


def test_title_and_heading_carried_into_every_chunk() -> None:
    paragraph = "Words about archives and compression, repeated to fill the space. " * 4
    body = "Intro. " + paragraph + "\n\n" + "\n\n".join(
        f"## Section {n}\n\n" + "\n\n".join(paragraph for _ in range(5)) for n in range(3)
    )
    chunks = chunk_page("Tar", body, count, max_tokens=64)
    check_chunks(chunks, count, 64)
    assert chunks[0].heading == "" and chunks[0].text.startswith("Tar\n\nIntro.")
    for n in range(3):
        section = [chunk for chunk in chunks if chunk.heading == f"Section {n}"]
        assert len(section) == 5
        assert all(chunk.text.startswith(f"Tar — Section {n}\n\n") for chunk in section)


def test_heading_repeating_the_title_is_the_intro() -> None:
    (chunk,) = chunk_page("am", "# am\n\n> Android activity manager.\n\n- Start:\n\n`am start`", count)
    assert chunk.heading == "" and chunk.text == "am\n\nAndroid activity manager.\n\nStart:\nam start"


def test_a_huge_title_is_shortened_so_text_still_fits() -> None:
    title = "very long title " * 100
    chunks = chunk_page(title, "The body text.\n\nMore body text.", count, max_tokens=32)
    check_chunks(chunks, count, 32)
    assert all(chunk.text.startswith("very long title very long title") for chunk in chunks)
    assert "The body text." in chunks[0].text


def test_long_sentence_split_by_words_and_long_word_by_characters() -> None:
    sentence = " ".join(f"word{i}" for i in range(500))
    chunks = chunk_page("T", sentence, count, max_tokens=50)
    check_chunks(chunks, count, 50)
    assert bodies(chunks) == squashed(sentence)
    word = "x" * 5000  # one token for the hashing counter; the real tokenizer makes many pieces of it
    chunks = chunk_page("T", word, lambda text: count(text) + len(text) // 20, max_tokens=50)
    check_chunks(chunks, lambda text: count(text) + len(text) // 20, 50)
    assert len(chunks) == 6 and bodies(chunks) == word


# ---------------------------------------------------------------------------------------------------- edits


def long_page(edit: dict[tuple[int, int], str] | None = None) -> str:
    sections = []
    for s in range(4):
        paragraphs = [
            f"Paragraph {s}.{p} talks about topic {s * 10 + p} with several plain words in it. " * 3
            for p in range(8)
        ]
        for (es, ep), text in (edit or {}).items():
            if es == s:
                paragraphs[ep] = text
        sections.append(f"## Part {s}\n\n" + "\n\n".join(paragraphs))
    return "An introduction.\n\n" + "\n\n".join(sections)


def test_one_paragraph_edit_changes_only_its_chunk() -> None:
    before = chunk_page("Long page", long_page(), count, max_tokens=128)
    assert len(before) > 10
    same_length = "Paragraph 2.5 talks about topic 99 with several plain words in it. " * 3
    after = chunk_page("Long page", long_page({(2, 5): same_length}), count, max_tokens=128)
    changed = {c.hash for c in after} - {c.hash for c in before}
    assert len(after) == len(before) and len(changed) == 1
    (chunk,) = [c for c in after if c.hash in changed]
    assert "topic 99" in chunk.text and chunk.heading == "Part 2"


def test_edit_in_one_section_never_moves_chunks_of_another() -> None:
    before = chunk_page("Long page", long_page(), count, max_tokens=128)
    longer = "A much longer paragraph now. " * 30  # changes every boundary after it, within its section
    after = chunk_page("Long page", long_page({(1, 0): longer}), count, max_tokens=128)
    unchanged = [c for c in before if c.heading != "Part 1"]
    assert {c.hash for c in unchanged} <= {c.hash for c in after}
    assert {c.heading for c in after if c.hash not in {b.hash for b in before}} == {"Part 1"}


# ---------------------------------------------------------------------------------------------------- markdown


def test_code_fences_kept_whole_and_not_read_as_headings() -> None:
    body = "Before.\n\n```python\n# a comment, not a heading\nx = 1\n\n\ny = [[a]]  # stays as written\n```\n\nAfter."
    (chunk,) = chunk_page("Code", body, count)
    assert chunk.heading == ""
    code = "# a comment, not a heading\nx = 1\n\n\ny = [[a]]  # stays as written"
    assert chunk.text == f"Code\n\nBefore.\n\n{code}\n\nAfter."


def test_oversized_code_block_split_between_lines() -> None:
    code = "\n".join(f"echo line {i} > /tmp/file{i}" for i in range(200))
    chunks = chunk_page("Script", f"```sh\n{code}\n```", count, max_tokens=64)
    check_chunks(chunks, count, 64)
    assert len(chunks) > 5
    lines = [line for chunk in chunks for line in chunk.text.split("\n\n", 1)[1].split("\n")]
    assert lines == code.split("\n")


def test_unclosed_fence_runs_to_the_end() -> None:
    (chunk,) = chunk_page("Code", "```\n## not a heading\ncode", count)
    assert chunk.text == "Code\n\n## not a heading\ncode"


def test_links_and_markup_stripped_to_their_words() -> None:
    body = (
        "See [[Tar Archives|the tar page]] and [[Gzip]] or [the manual](https://example.com/tar(1)?x=y \"T\").\n"
        "![A diagram](/img/d.png) <span class='x'>inline</span> **bold** *em* <https://tldr.sh> `code **kept**`\n\n"
        "> Quoted line\n> [ref link][1]\n\n"
        "- first item\n- [x] done item\n\n  continued item\n* star item\n1. numbered\n\n"
        "Use `tar -[c]reate` to e[x]tract {{path/to/file}}.\n\n"
        "[1]: https://example.com/ref\n\n---\n\n<!-- hidden -->"
    )
    (chunk,) = chunk_page("Links", body, count)
    assert chunk.text == (
        "Links\n\n"
        "See the tar page and Gzip or the manual.\n"
        "A diagram inline bold em https://tldr.sh code **kept**\n\n"
        "Quoted line\nref link\n\n"
        "first item\ndone item\ncontinued item\nstar item\nnumbered\n\n"
        "Use tar -[c]reate to extract path/to/file."
    )


def test_headings_cleaned_and_nearest_heading_used() -> None:
    body = (
        "# Top\n\nIntro under top.\n\n## [Linked](http://x) *heading* ##\n\nText.\n\n"
        "### Deeper\n\nMore.\n\n## Empty\n"
    )
    chunks = chunk_page("Page", body, count)
    assert [(c.heading, c.text) for c in chunks] == [
        ("Top", "Page — Top\n\nIntro under top."),
        ("Linked heading", "Page — Linked heading\n\nText."),
        ("Deeper", "Page — Deeper\n\nMore."),
    ]


def test_crlf_and_setext_rules_are_harmless() -> None:
    (chunk,) = chunk_page("Eol", "Line one\r\nline two\r\n\r\n***\r\n\r\nThird", count)
    assert chunk.text == "Eol\n\nLine one\nline two\n\nThird"
