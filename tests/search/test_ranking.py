"""Fusion order and the lexical query builder."""

from __future__ import annotations

from search.ranking import Hit, best_per_page, fts_query, fuse


def test_fusion_prefers_pages_both_rankings_agree_on() -> None:
    lexical = [Hit(1, 10, 9.0), Hit(2, 20, 8.0), Hit(3, 30, 7.0)]
    semantic = [Hit(4, 30, 0.9), Hit(5, 20, 0.8), Hit(6, 40, 0.7)]
    fused = fuse(lexical, semantic)
    assert {h.page_id for h in fused[:2]} == {20, 30}  # in both lists beats the top of one
    assert {h.page_id for h in fused} == {10, 20, 30, 40}
    assert {h.page_id: h.chunk_id for h in fused}[30] == 4  # the chunk that ranked best for that page


def test_fusion_weights_shift_the_order() -> None:
    lexical = [Hit(1, 10, 1.0)]
    semantic = [Hit(2, 20, 1.0)]
    assert fuse(lexical, semantic, lexical_weight=2.0)[0].page_id == 10
    assert fuse(lexical, semantic, semantic_weight=2.0)[0].page_id == 20


def test_best_chunk_stands_for_its_page() -> None:
    hits = [Hit(1, 10, 0.2), Hit(2, 10, 0.9), Hit(3, 20, 0.5)]
    assert [(h.page_id, h.chunk_id) for h in best_per_page(hits)] == [(10, 2), (20, 3)]


def test_fts_query_quotes_words_so_syntax_is_literal() -> None:
    assert fts_query('tar -xzf "x" OR NEAR(a b)') == '"tar" OR "xzf" OR "x" OR "or" OR "near" OR "a" OR "b"'
    assert fts_query("!!! ???") == ""
