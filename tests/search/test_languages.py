"""Pages and queries in other languages: words found in scripts without spaces, meaning search only for English."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, SHARED_DATA, LiveServer, new_op, push, sign_up, start_server, stop_server, wait_for_index

from search import language

PAGES = {
    "数据库备份指南": "定期备份数据库可以防止数据丢失。请使用命令行工具导出所有的表格，然后把文件保存到另一台电脑上。",
    "猫の飼い方": "猫には毎日新鮮な水をあげてください。キャットフードは一日二回与えます。",
    "데이터베이스 관리": "데이터베이스를 매일 백업하는 것이 좋습니다. 복원은 명령어 하나로 할 수 있습니다.",
    "النسخ الاحتياطي": "يجب عمل نسخة احتياطية من قاعدة البيانات كل يوم، ثم حفظها على قرص آخر.",
    "Резервное копирование": "Делайте резервную копию базы данных каждый день и храните её на другом диске.",
    "Kuhifadhi nakala": "Hifadhi nakala ya hifadhidata kila siku, kisha iweke kwenye diski nyingine.",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("languages") / "data", env={"COMMONPLACE_RATE_EDIT": "off"})
    try:
        with httpx.Client(base_url=live.url, timeout=30) as client:
            token = sign_up(client)
            push(client, token, *(new_op(title=title, base_rev=None, body=body) for title, body in PAGES.items()))
            wait_for_index(lambda: client.get("/api/status").json())
        yield live
    finally:
        stop_server(live)


def search(server: LiveServer, query: str, mode: str = "lexical") -> dict:
    reply = httpx.get(server.url + "/api/search", params={"q": query, "mode": mode}, timeout=30)
    assert reply.status_code == 200, reply.text
    return reply.json()


def titles(reply: dict) -> list[str]:
    return [r["title"] for r in reply["results"]]


@pytest.mark.parametrize(("query", "title"), [
    ("我的文件丢失了怎么办", "数据库备份指南"),        # 丢失 (lost), a two-character word inside a sentence
    ("怎样导出表格", "数据库备份指南"),                # 导出 and 表格
    ("新鮮な食べ物はありますか", "猫の飼い方"),          # 新鮮 (fresh)
    ("キャットフードの量", "猫の飼い方"),               # katakana
    ("백업", "데이터베이스 관리"),                      # inside 백업하는
    ("البيانات", "النسخ الاحتياطي"),
    ("данных", "Резервное копирование"),
    ("hifadhidata", "Kuhifadhi nakala"),
])
def test_a_word_finds_its_page_in_every_script(server: LiveServer, query: str, title: str) -> None:
    assert titles(search(server, query))[:1] == [title]


def test_a_single_chinese_character_finds_the_words_it_starts(server: LiveServer) -> None:
    assert titles(search(server, "猫"))[:1] == ["猫の飼い方"]


def test_a_chinese_query_says_search_by_meaning_is_skipped(server: LiveServer) -> None:
    """The default (hybrid) search of a query in another language is the word search, and says so."""
    reply = search(server, "我的文件丢失了怎么办", mode="hybrid")
    assert reply["language"] == "other" and language.OTHER_LANGUAGE_NOTICE in reply["notice"]
    assert titles(reply)[:1] == ["数据库备份指南"]  # an English model's vector would rank English pages first
    assert reply["no_good_match"] is False  # the right page is first: its pieces 我的, 件丢, 了怎... are in no page
    english = search(server, "how do I edit a page", mode="hybrid")
    assert english.get("language") != "other" and language.OTHER_LANGUAGE_NOTICE not in (english.get("notice") or "")


def test_results_for_a_chinese_sentence_mark_the_word_and_show_it_in_the_snippet(server: LiveServer) -> None:
    reply = search(server, "我的文件丢失了怎么办")
    assert "丢失" in reply["results"][0]["snippet"]
    page = httpx.get(server.url + "/search", params={"q": "我的文件丢失了怎么办"}, timeout=30).text
    assert "<mark>丢失</mark>" in page


# The queries search/language.py's word lists were made on (a second set, written afterwards and not tuned on,
# caught 16 of 20 Latin-script queries: README, "Other languages").
FOREIGN_QUERIES = [
    "jinsi ya kufuta faili", "ninawezaje kubadilisha jina la faili", "orodha ya faili zote kwenye folda",
    "nataka kuona historia ya amri", "kusimamisha programu iliyokwama",
    "cómo borrar un archivo", "buscar texto en todos los archivos", "matar un proceso que no responde",
    "comment supprimer un fichier", "afficher l'historique des commandes", "compresser un répertoire",
    "wie lösche ich eine Datei", "Text in allen Dateien suchen", "laufende Prozesse anzeigen",
    "làm thế nào để xóa tệp",
    "如何删除文件", "kubectl 命令", "ファイルを削除する方法", "파일 삭제 방법", "كيف أحذف ملفا", "как удалить файл",
    "फ़ाइल कैसे हटाएं", "πώς να διαγράψω ένα αρχείο",
]
ENGLISH_QUERIES = [
    "docker compose", "grpe", "histroy", "résumé template", "IL-6 signaling", "os version", "mit license",
    "na channel", "ini file parser", "convert km to mi", "ls -la", "what is π", "Dario Vladović", "non-interactive",
]


@pytest.mark.parametrize("query", FOREIGN_QUERIES)
def test_queries_in_other_languages_are_not_given_to_the_english_model(query: str) -> None:
    assert not language.meaning_applies(query)


def english_questions() -> list[str]:
    tldr = Path(ROOT / "tests" / "bench" / "questions" / "tldr_dev.jsonl").read_text(encoding="utf-8")
    scifact = (SHARED_DATA / "scifact" / "queries.jsonl").read_text(encoding="utf-8")
    return [json.loads(line)["query"] for line in tldr.splitlines() if line.strip()] + [
        json.loads(line)["text"] for line in scifact.splitlines() if line.strip()]


def test_english_questions_and_names_keep_search_by_meaning() -> None:
    questions = english_questions()
    assert len(questions) > 1000
    assert [q for q in questions + ENGLISH_QUERIES if not language.meaning_applies(q)] == []
