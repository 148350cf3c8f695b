"""The phone's offline search (pwa/static/js/offline-search.js, run in node) takes a query's words as the server
does (issue 12 items 6 and 8): the same stopwords left out, the same two-character pieces of Chinese, Japanese and
Korean text; and it ranks instead of filtering, a page titled as the query first, "no good match" when nothing
holds the query well."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from search import ranking, tokenizer

OFFLINE_SEARCH = Path(__file__).resolve().parents[2] / "pwa" / "static" / "js" / "offline-search.js"


def offline_stopwords() -> list[str]:
    source = OFFLINE_SEARCH.read_text(encoding="utf-8")
    found = re.search(r"var STOPWORDS = \[(.*?)\];", source, re.DOTALL)
    assert found, "offline-search.js has no `var STOPWORDS = [...];`"
    return json.loads("[" + found.group(1).strip().rstrip(",") + "]")


def test_the_offline_stopwords_are_the_servers() -> None:
    words = offline_stopwords()
    assert len(words) == len(set(words)), "a stopword is listed twice in offline-search.js"
    assert set(words) == set(ranking.STOPWORDS)


def offline_words(texts: list[str]) -> list[list[str]]:
    """offline-search.js's `words` (the phone's tokenizer) run in node over each text."""
    root = OFFLINE_SEARCH.parents[3]
    script = ("global.MiniSearch = require(process.argv[1]); const s = require(process.argv[2]);"
              "process.stdout.write(JSON.stringify(JSON.parse(process.argv[3]).map(s.words)));")
    done = subprocess.run(["node", "-e", script, str(root / "pwa/vendor/minisearch.js"), str(OFFLINE_SEARCH),
                           json.dumps(texts)], capture_output=True, text=True, check=True, timeout=60)
    return json.loads(done.stdout)


def test_the_phone_splits_cjk_runs_into_the_servers_bigrams() -> None:
    texts = ["我们用数据库保存页面。", "東京タワーへ行く", "한국어 검색", "「好」", "𠀀𠀁𠀂", "SQLite数据库v3"]
    server = [[piece for cjk, run in tokenizer.split_runs(text) if cjk for piece in tokenizer.bigrams(run)]
              for text in texts]
    phone = [[w for w in words if tokenizer.CJK_RUN.fullmatch(w)] for words in offline_words(texts)]
    assert phone == server
    assert ["sqlite", "数据", "据库", "v3"] == offline_words(["SQLite数据库v3"])[0]


def offline_rank(docs: list[dict], queries: list[str]) -> list[dict]:
    """offline-search.js's `rank` over `docs` in node: each query's result ids and its "no good match" flag."""
    root = OFFLINE_SEARCH.parents[3]
    script = ("global.MiniSearch = require(process.argv[1]); const s = require(process.argv[2]);"
              "const input = JSON.parse(process.argv[3]); const index = s.createIndex(input.docs);"
              "process.stdout.write(JSON.stringify(input.queries.map((q) => { const r = s.rank(index, q);"
              "return {ids: r.results.map((x) => x.id), no_good_match: r.noGoodMatch}; })));")
    done = subprocess.run(["node", "-e", script, str(root / "pwa/vendor/minisearch.js"), str(OFFLINE_SEARCH),
                           json.dumps({"docs": docs, "queries": queries})],
                          capture_output=True, text=True, check=True, timeout=60)
    return json.loads(done.stdout)


DOCS = [
    {"id": "tar", "title": "tar", "text": "Archive files into one."},
    {"id": "tar-pits", "title": "Tar pits", "text": "Tar, tar and more tar: a tar pit traps animals in tar."},
    {"id": "tea", "title": "Brewing tea", "text": "Let the tea leaves steep in hot water."},
    {"id": "rain", "title": "Storing rainwater", "text": "Keep the barrel covered so the water stays clean."},
]


def test_offline_search_ranks_instead_of_filtering() -> None:
    spread, exact, nonsense, stopwords = offline_rank(DOCS, [
        "how long should tea leaves steep in clean water", "tar", "quantum giraffe on water", "how to"])
    # No page holds every word: the one holding most comes first, the other that shares a word follows.
    assert spread["ids"][:2] == ["tea", "rain"] and not spread["no_good_match"]
    # The page titled as the query comes first, however often another page says the word.
    assert exact["ids"][0] == "tar" and not exact["no_good_match"]
    assert nonsense["no_good_match"] and set(nonsense["ids"]) == {"tea", "rain"}
    assert stopwords["ids"] == []  # only stopwords: searched for as they are, and no page has them
