"""The cjk_bigrams tokenizer: CJK runs as overlapping pairs with their byte offsets, the rest as before."""

from __future__ import annotations

from pathlib import Path

import apsw
import pytest

from search import ranking, tokenizer
from server.db import connect
from server.migrations import MIGRATIONS, migrate


@pytest.fixture
def split() -> apsw.FTS5Tokenizer:
    conn = apsw.Connection(":memory:")
    tokenizer.register(conn)
    return conn.fts5_tokenizer(*ranking.FTS_TOKENIZER)


def tokens(split: apsw.FTS5Tokenizer, text: str) -> list[tuple[str, str]]:
    """(token, the exact text its byte offsets point at) for each token, in order."""
    raw = text.encode()
    return [(t[2], raw[t[0]:t[1]].decode()) for t in split(raw, apsw.FTS5_TOKENIZE_DOCUMENT, None)]


def test_a_cjk_run_becomes_overlapping_pairs_with_their_offsets(split) -> None:
    assert tokens(split, "数据库") == [("数据", "数据"), ("据库", "据库")]
    assert tokens(split, "数据库备份") == [("数据", "数据"), ("据库", "据库"), ("库备", "库备"), ("备份", "备份")]


def test_a_single_cjk_character_is_its_own_token(split) -> None:
    assert tokens(split, "猫") == [("猫", "猫")]
    assert tokens(split, "a 猫 b") == [("a", "a"), ("猫", "猫"), ("b", "b")]


def test_mixed_text_keeps_porter_and_diacritics_for_the_rest_and_byte_offsets_for_all(split) -> None:
    assert tokens(split, "Running 数据库 on Café servers") == [
        ("run", "Running"), ("数据", "数据"), ("据库", "据库"), ("on", "on"), ("cafe", "Café"), ("server", "servers")]
    # Latin glued to CJK, punctuation between runs, kana and hangul, and a 4-byte Han character (ext. B).
    assert tokens(split, "使用docker部署。ひらがな、한국어 𠀀𠀁x") == [
        ("使用", "使用"), ("docker", "docker"), ("部署", "部署"), ("ひら", "ひら"), ("らが", "らが"), ("がな", "がな"),
        ("한국", "한국"), ("국어", "국어"), ("𠀀𠀁", "𠀀𠀁"), ("x", "x")]


def test_text_without_cjk_tokenizes_exactly_as_the_old_index_did(split) -> None:
    old = apsw.Connection(":memory:").fts5_tokenizer("porter", ["unicode61", "remove_diacritics", "2"])
    for text in ("The quick brown fox jumps", "Résumé naïve Ölçü", "как удалить файл", "كيف أحذف ملفا"):
        raw = text.encode()
        assert split(raw, apsw.FTS5_TOKENIZE_DOCUMENT, None) == old(raw, apsw.FTS5_TOKENIZE_DOCUMENT, None)


def test_query_words_split_cjk_runs_like_the_index() -> None:
    assert ranking.query_words("数据库备份") == ["数据", "据库", "库备", "备份"]
    assert ranking.query_words("how to 备份 the docker数据库") == ["备份", "docker", "数据", "据库"]
    assert ranking.fts_query("数据库") == '"数据" OR "据库"'
    assert ranking.fts_query("猫 food") == '"猫"* OR "food"'  # a lone character: the pairs that start with it


def fts_table() -> apsw.Connection:
    conn = apsw.Connection(":memory:")
    tokenizer.register(conn)
    conn.execute(f"CREATE VIRTUAL TABLE t USING fts5(text, tokenize='{tokenizer.NAME} porter unicode61')")
    conn.executemany("INSERT INTO t (rowid, text) VALUES (?, ?)", [
        (1, "定期备份数据库可以防止数据丢失。"), (2, "猫に新鮮な水をあげてください。"), (3, "Backups of a database")])
    return conn


def test_fts5_finds_a_two_character_word_inside_a_sentence_and_highlights_it() -> None:
    conn = fts_table()
    match = "SELECT rowid, highlight(t, 0, '[', ']') FROM t WHERE t MATCH ? ORDER BY rowid"
    assert list(conn.execute(match, ('"丢失"',))) == [(1, "定期备份数据库可以防止数据[丢失]。")]
    assert list(conn.execute(match, ('"数据库"',))) == [(1, "定期备份[数据库]可以防止数据丢失。")]  # a phrase of pairs
    assert list(conn.execute(match, ('"新鮮"',))) == [(2, "猫に[新鮮]な水をあげてください。")]
    assert [r[0] for r in conn.execute(match, (ranking.fts_query("database backup"),))] == [3]
    assert [r[0] for r in conn.execute(match, (ranking.fts_query("猫"),))] == [2]


def test_word_postings_count_pairs_as_the_index_keeps_them(tmp_path: Path) -> None:
    conn = connect(tmp_path / "x.db")
    migrate(conn)
    add_chunks(conn, ["数据库备份", "数据丢失", "backing up"])
    assert ranking.word_postings(conn, ["数据", "备份", "丢失", "back", "数"]) == {
        "数据": 2, "备份": 1, "丢失": 1, "back": 1, "数": 2}
    conn.close()


def add_chunks(conn: apsw.Connection, texts: list[str]) -> None:
    conn.execute("INSERT INTO pages (id, uid, slug, title, created_at, updated_at) VALUES (1, 'u', 's', 'S', '', '')")
    conn.executemany("INSERT INTO chunks (page_id, seq, ord, heading, text, hash) VALUES (1, ?, ?, '', ?, ?)",
                     [(i, i, text, str(i)) for i, text in enumerate(texts)])


def matches(conn: apsw.Connection, query: str) -> list[str]:
    sql = "SELECT c.text FROM chunks_fts f JOIN chunks c ON c.id = f.rowid WHERE chunks_fts MATCH ? ORDER BY c.id"
    return [row["text"] for row in conn.execute(sql, (query,))]


def test_the_migration_rebuilds_an_existing_word_index_with_the_new_tokenizer(tmp_path: Path) -> None:
    conn = connect(tmp_path / "old.db")
    try:
        for number, step in enumerate(MIGRATIONS[:7], start=1):  # a database as migration 7 left it
            step(conn) if callable(step) else conn.execute(step)
            conn.execute(f"PRAGMA user_version = {number}")
        add_chunks(conn, ["定期备份数据库可以防止数据丢失。", "Backing up the database nightly"])
        assert matches(conn, '"丢失"') == []  # unicode61 kept the whole sentence as one token
        assert migrate(conn) == len(MIGRATIONS) >= 8
        assert matches(conn, '"丢失"') == ["定期备份数据库可以防止数据丢失。"]
        assert matches(conn, '"databases"') == ["Backing up the database nightly"]
        conn.execute("INSERT INTO chunks_fts (chunks_fts) VALUES ('integrity-check')")
        # The triggers of migration 2 still keep the index in step with chunks.
        conn.execute("DELETE FROM chunks WHERE text LIKE '定期%'")
        conn.execute("INSERT INTO chunks (page_id, seq, ord, heading, text, hash) VALUES (1, 9, 9, '', ?, 'h')",
                     ("资料丢失",))
        assert matches(conn, '"丢失"') == ["资料丢失"]
        conn.execute("INSERT INTO chunks_fts (chunks_fts) VALUES ('integrity-check')")
    finally:
        conn.close()
