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


def test_two_entries_added_to_one_list_are_both_kept_head_first() -> None:
    """Issue 10 item 14: the most common concurrent edit of a commons."""
    result = merge_three_way("List:\n- a\n", "List:\n- a\n- b\n", "List:\n- a\n- c\n")
    assert result.clean and result.merged == "List:\n- a\n- b\n- c\n" and result.kept_both == 1
    middle = merge_three_way("a\nz\n", "a\nb\nz\n", "a\nc\nz\n")
    assert middle.clean and middle.merged == "a\nb\nc\nz\n"


def test_paragraphs_added_at_the_same_place_stay_paragraphs() -> None:
    result = merge_three_way("P.\n", "P.\n\nTheirs.\n", "P.\n\nOurs.\n")
    assert result.merged == "P.\n\nTheirs.\n\nOurs.\n"


def test_the_same_addition_on_both_sides_is_kept_once() -> None:
    result = merge_three_way("List:\n- a\n", "List:\n- a\n- b\n", "List:\n- a\n- b\n")
    assert result.merged == "List:\n- a\n- b\n" and result.kept_both == 0


def test_an_addition_the_other_side_holds_already_is_taken_once() -> None:
    """An author's first edit arriving after their second (which holds its lines) adds nothing twice."""
    base = "Shopping list:\n- milk\n"
    result = merge_three_way(base, base + "- eggs\n- bread\n", base + "- eggs\n")
    assert result.merged == base + "- eggs\n- bread\n" and result.kept_both == 0
    assert merge_three_way(base, base + "- eggs\n", base + "- eggs\n- bread\n").merged == base + "- eggs\n- bread\n"


def test_additions_on_either_side_of_untouched_lines_merge() -> None:
    assert merge_three_way("a\nb\n", "x\na\nb\n", "a\nb\ny\n").merged == "x\na\nb\ny\n"


def test_an_addition_beside_a_line_both_changed_is_still_a_conflict() -> None:
    result = merge_three_way("List:\n- a\n", "List:\n- A!\n", "List:\n- a?\n- c\n")
    assert not result.clean and "- A!" in result.proposal and "- a?" in result.proposal and result.kept_both == 0


def test_an_addition_next_to_a_deleted_line_is_still_a_conflict() -> None:
    result = merge_three_way("List:\n- a\n", "List:\n", "List:\n- a\n- c\n")
    assert not result.clean and "- c" in result.proposal


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
    both = merge_three_way("", "mine", "yours")  # two texts started on nothing: both are additions, both kept
    assert both.clean and both.merged == "mine\nyours" and both.kept_both == 1


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
