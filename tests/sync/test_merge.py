"""merge_three_way: lines, then sentences, then words; clean only when changes do not overlap."""

from __future__ import annotations

import time

import pytest

from sync.merge import (
    MARK_END,
    MARK_MIDDLE,
    MARK_START,
    keeps_both_sides,
    merge_lines_only,
    merge_three_way,
    split_lines,
    split_sentences,
    split_words,
)

PARAGRAPH = ("Tea is a drink made from leaves. It is served hot in most places. "
             "Some people add milk. Others prefer it plain.")


@pytest.mark.parametrize("text", ["", "a", "a\n", "a\n\nb", "Hi. Yo!  Ok?\nNext", "x\u2028y\x0cz\r\n"])
def test_splitters_give_the_text_back(text: str) -> None:
    for split in (split_lines, split_sentences, split_words):
        assert "".join(split(text)) == text


def test_lines_split_only_on_newline() -> None:
    assert split_lines("a\u2028b\nc") == ["a\u2028b\n", "c"]


def test_changes_on_different_lines_merge() -> None:
    base = "one\ntwo\nthree\n"
    result = merge_three_way(base, "ONE\ntwo\nthree\n", "one\ntwo\nTHREE\n")
    assert result.clean and result.merged == "ONE\ntwo\nTHREE\n"
    assert merge_lines_only(base, "ONE\ntwo\nthree\n", "one\ntwo\nTHREE\n")


def test_different_sentences_of_one_long_line_merge() -> None:
    theirs = PARAGRAPH.replace("Some people add milk.", "Some people add milk or lemon.")
    ours = PARAGRAPH.replace("Tea is a drink", "Tea is a popular drink")
    result = merge_three_way(PARAGRAPH, theirs, ours)
    assert result.clean
    assert result.merged == PARAGRAPH.replace("Some people add milk.", "Some people add milk or lemon.").replace(
        "Tea is a drink", "Tea is a popular drink")
    assert not merge_lines_only(PARAGRAPH, theirs, ours)


def test_different_words_of_one_sentence_merge() -> None:
    base = "The quick brown fox jumps over the lazy dog."
    result = merge_three_way(base, base.replace("quick", "swift"), base.replace("lazy", "sleepy"))
    assert result.clean and result.merged == "The swift brown fox jumps over the sleepy dog."


def test_identical_changes_on_both_sides_merge_once() -> None:
    base = "alpha\nbeta\n"
    both = "alpha\nbeta gamma\n"
    result = merge_three_way(base, both, both)
    assert result.clean and result.merged == both


def test_same_word_changed_differently_is_a_conflict_keeping_both() -> None:
    base = PARAGRAPH
    theirs, ours = base.replace("milk", "honey"), base.replace("milk", "sugar")
    result = merge_three_way(base, theirs, ours)
    assert not result.clean and result.merged is None
    conflicts = [p for p in result.parts if p.conflict]
    assert len(conflicts) == 1 and "honey" in conflicts[0].theirs and "sugar" in conflicts[0].ours
    assert "honey" in result.proposal and "sugar" in result.proposal
    assert result.proposal.splitlines().count(MARK_START) == 1
    assert MARK_MIDDLE in result.proposal and MARK_END in result.proposal


def test_conflict_sides_carry_the_other_sides_clean_changes_in_the_region() -> None:
    theirs = PARAGRAPH.replace("milk", "honey").replace("Tea is", "Black tea is")
    ours = PARAGRAPH.replace("milk", "sugar")
    result = merge_three_way(PARAGRAPH, theirs, ours)
    conflict = next(p for p in result.parts if p.conflict)
    assert conflict.ours.startswith("Black tea is") and "sugar" in conflict.ours


def test_insertions_at_the_same_place_conflict() -> None:
    result = merge_three_way("a\nz\n", "a\nb\nz\n", "a\nc\nz\n")
    assert not result.clean and "b\n" in result.proposal and "c\n" in result.proposal


def test_deleting_a_line_the_other_side_changed_conflicts() -> None:
    result = merge_three_way("a\nb\nc\n", "a\nB!\nc\n", "a\nc\n")
    assert not result.clean
    assert "B!" in result.proposal


def test_deletion_of_untouched_text_merges() -> None:
    result = merge_three_way("a\nb\nc\n", "a\nb\nC\n", "b\nc\n")
    assert result.clean and result.merged == "b\nC\n"


def test_missing_final_newline_is_kept_missing() -> None:
    result = merge_three_way("a\nb", "A\nb", "a\nb\nc")
    assert result.clean and result.merged == "A\nb\nc"
    assert merge_three_way("one two three", "one two three four", "zero one two three").merged == (
        "zero one two three four")


def test_empty_texts() -> None:
    assert merge_three_way("", "", "").merged == ""
    assert merge_three_way("", "new", "").merged == "new"
    assert not merge_three_way("", "mine", "yours").clean


def test_paragraphs_in_markdown_merge_independently() -> None:
    base = "# Title\n\n" + PARAGRAPH + "\n\n" + PARAGRAPH.replace("Tea", "Coffee") + "\n"
    theirs = base.replace("Coffee is a drink", "Coffee is a bitter drink")
    ours = base.replace("Others prefer it plain.", "Others prefer it plain. Iced tea is common too.", 1)
    result = merge_three_way(base, theirs, ours)
    assert result.clean and "bitter" in result.merged and "Iced tea" in result.merged


def test_keeps_both_sides_catches_lost_words() -> None:
    assert keeps_both_sides("a b", "a b c", "x a b", "x a b c")
    assert not keeps_both_sides("a b", "a b c", "x a b", "x a b")


def test_a_huge_repetitive_region_is_left_as_a_conflict_quickly() -> None:
    base = " ".join("ab"[i % 3 == 0] for i in range(3000))
    theirs, ours = base.replace("a b", "a c", 40), base[::-1].replace("b a", "d a", 40)[::-1]
    started = time.perf_counter()
    result = merge_three_way(base, theirs, ours)
    assert time.perf_counter() - started < 1 and not result.clean
    assert theirs in result.proposal and ours in result.proposal
