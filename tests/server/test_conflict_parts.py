"""A conflict's parts: folding the clean text, marking words, and the text built from the author's choices."""

from __future__ import annotations

import pytest

from server.conflict_parts import MissingChoice, assemble, parts_digest, view_parts
from sync.merge import merge_three_way

BASE = "Intro.\n\nOne.\n\nTwo.\n\nThree.\n\nFour.\n\nThe well is 12 metres deep.\n\nEnd.\n"


def parts_of(base: str, theirs: str, ours: str) -> list[dict]:
    merge = merge_three_way(base, theirs, ours)
    assert not merge.clean
    return [p.as_dict() for p in merge.parts]


def test_clean_text_is_folded_except_a_line_of_context_around_each_conflict() -> None:
    parts = parts_of(BASE, BASE.replace("12", "14"), BASE.replace("12", "15"))
    before, conflict, after = view_parts(parts)
    assert before["shown_before"] == "" and before["hidden"] == 4 and before["shown_after"] == "Four.\n\n"
    assert before["folded"] == "Intro.\n\nOne.\n\nTwo.\n\nThree.\n\n"
    assert conflict["theirs_html"] == "The well is <del>12</del><ins>14</ins> metres deep."
    assert conflict["ours_html"] == "The well is <del>12</del><ins>15</ins> metres deep."
    assert after == {"conflict": False, "shown_before": "\nEnd.\n", "folded": "", "hidden": 0, "shown_after": ""}


def test_words_are_escaped() -> None:
    parts = parts_of("a\n", "<b>x</b>\n", "<i>y</i>\n")
    assert "&lt;b&gt;" in view_parts(parts)[0]["theirs_html"]


@pytest.mark.parametrize(("choice", "expected"), [
    ("mine", "The well is 15 metres deep.\n"),
    ("theirs", "The well is 14 metres deep.\n"),
    ("both", "The well is 14 metres deep.\n\nThe well is 15 metres deep.\n"),
])
def test_each_choice(choice: str, expected: str) -> None:
    parts = parts_of(BASE, BASE.replace("12", "14"), BASE.replace("12", "15"))
    assert assemble(parts, {0: choice}, {}) == BASE.replace("The well is 12 metres deep.\n", expected)


def test_both_keeps_a_list_one_list_and_an_edit_gets_its_line_end() -> None:
    base = "List:\n- a\n- x\n"
    parts = parts_of(base, "List:\n- a\n- b\n", "List:\n- a\n- c\n")
    assert assemble(parts, {0: "both"}, {}) == "List:\n- a\n- b\n- c\n"
    assert assemble(parts, {0: "edit"}, {0: "- b\r\n- c"}) == "List:\n- a\n- b\n- c\n"
    with pytest.raises(MissingChoice):
        assemble(parts, {}, {})


def test_no_final_newline_when_neither_side_had_one() -> None:
    parts = parts_of("a", "b", "c")
    assert assemble(parts, {0: "mine"}, {}, final_newline=False) == "c"


def test_the_digest_names_the_parts() -> None:
    one = parts_of(BASE, BASE.replace("12", "14"), BASE.replace("12", "15"))
    two = parts_of(BASE, BASE.replace("12", "16"), BASE.replace("12", "15"))
    assert parts_digest(one) == parts_digest([dict(p) for p in one]) != parts_digest(two)
