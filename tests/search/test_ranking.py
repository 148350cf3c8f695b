"""Fusion order and the lexical query builder."""

from __future__ import annotations

from search.ranking import Hit, best_per_page, fts_query, fuse


def test_fusion_keeps_every_page_and_its_best_chunk() -> None:
    lexical = [Hit(1, 10, 9.0), Hit(2, 20, 8.0), Hit(3, 30, 7.0)]
    semantic = [Hit(4, 30, 0.9), Hit(5, 20, 0.8), Hit(6, 40, 0.7)]
    fused = fuse(lexical, semantic)
    assert {h.page_id for h in fused} == {10, 20, 30, 40}
    assert {h.page_id: h.chunk_id for h in fused}[30] == 4  # the chunk that ranked best for that page


def test_fusion_weights_shift_the_order() -> None:
    lexical = [Hit(1, 10, 9.0), Hit(2, 20, 1.0)]
    semantic = [Hit(3, 20, 0.9), Hit(4, 10, 0.1)]
    assert fuse(lexical, semantic, lexical_weight=0.8)[0].page_id == 10
    assert fuse(lexical, semantic, lexical_weight=0.2)[0].page_id == 20


def test_scores_on_different_scales_are_comparable() -> None:
    lexical = [Hit(1, 10, 40.0), Hit(2, 20, 39.0), Hit(3, 30, 1.0)]  # bm25: large numbers
    semantic = [Hit(4, 30, 0.90), Hit(5, 20, 0.89), Hit(6, 10, 0.10)]  # cosine: small ones
    assert fuse(lexical, semantic)[0].page_id == 20  # strong in both beats strong in one


def test_best_chunk_stands_for_its_page() -> None:
    hits = [Hit(1, 10, 0.2), Hit(2, 10, 0.9), Hit(3, 20, 0.5)]
    assert [(h.page_id, h.chunk_id) for h in best_per_page(hits)] == [(10, 2), (20, 3)]


def test_fts_query_quotes_words_so_syntax_is_literal() -> None:
    assert fts_query('tar -xzf "x" OR NEAR(a b)') == '"tar" OR "xzf" OR "x" OR "near" OR "b"'
    assert fts_query("the and of") == '"the" OR "and" OR "of"'  # only stopwords: keep them
    assert fts_query("!!! ???") == ""
