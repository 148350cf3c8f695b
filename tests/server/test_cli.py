"""The command line: help, import (JSONL, Markdown, idempotent), user create, backup while serving."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections import Counter
from pathlib import Path

import httpx
from click.testing import CliRunner
from conftest import SHARED_DATA, LiveServer, bearer

from server.cli import main
from server.db import connect
from server.slugs import legacy_slug, slugify


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "server.cli", *args], capture_output=True, text=True, timeout=300)


def count(db_path: Path, sql: str) -> int:
    conn = connect(db_path, readonly=True)
    try:
        return next(iter(conn.execute(sql)))["n"]
    finally:
        conn.close()


def test_every_command_has_help() -> None:
    runner = CliRunner()
    for args in ([], ["serve"], ["import"], ["user"], ["user", "create"], ["user", "role"], ["backup"]):
        result = runner.invoke(main, [*args, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output and len(result.output) > 100


def test_import_jsonl_is_idempotent_and_numbers_repeated_titles(tmp_path: Path) -> None:
    source = tmp_path / "pages.jsonl"
    rows = [{"title": "ls", "text": "List files."}, {"title": "cp", "text": "Copy."},
            {"title": "ls", "text": "List files on another platform.", "platform": "osx"}]
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    data = tmp_path / "data"
    first = run("import", str(source), "--data", str(data))
    assert first.returncode == 0, first.stderr
    assert "3 created, 0 updated, 0 unchanged, 0 rejected" in first.stdout
    again = run("import", str(source), "--data", str(data))
    assert "0 created, 0 updated, 3 unchanged" in again.stdout
    rows[1]["text"] = "Copy files."
    source.write_text("\n".join(json.dumps(r) for r in rows))
    changed = run("import", str(source), "--data", str(data))
    assert "0 created, 1 updated, 2 unchanged" in changed.stdout
    db = data / "commonplace.db"
    assert count(db, "SELECT count(*) AS n FROM pages WHERE slug IN ('ls', 'ls-2', 'cp')") == 3
    assert count(db, "SELECT count(*) AS n FROM revisions r JOIN pages p ON p.id = r.page_id WHERE slug='cp'") == 2


def test_reimport_updates_a_long_title_kept_at_an_older_servers_cut_slug(tmp_path: Path) -> None:
    title = "How to " + "keep a very long title " * 6
    source = tmp_path / "pages.jsonl"
    source.write_text(json.dumps({"title": title, "text": "First text."}) + "\n")
    data = tmp_path / "data"
    assert run("import", str(source), "--data", str(data)).returncode == 0
    db = data / "commonplace.db"
    conn = connect(db)  # as a server before issue 11 left it: the slug cut at 80 characters, no hash
    with conn:
        conn.execute("UPDATE pages SET slug = ? WHERE slug = ?", (legacy_slug(title), slugify(title)))
    conn.close()
    source.write_text(json.dumps({"title": title, "text": "Second text."}) + "\n")
    again = run("import", str(source), "--data", str(data))
    assert "0 created, 1 updated" in again.stdout, again.stdout
    slugs = (legacy_slug(title), slugify(title))
    assert count(db, f"SELECT count(*) AS n FROM pages WHERE slug IN {slugs}") == 1
    head = "SELECT r.body FROM pages p JOIN revisions r ON r.id = p.head_id"
    conn = connect(db, readonly=True)
    assert [row["body"] for row in conn.execute(head + " WHERE p.slug = ?", (legacy_slug(title),))] == ["Second text."]
    conn.close()


def test_import_markdown_folder(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text("# Alpha\n\nFirst [[Beta]].\n")
    (folder / "b.md").write_text("No heading here.\n")
    result = run("import", str(folder), "--data", str(tmp_path / "data"))
    assert result.returncode == 0 and "2 created" in result.stdout
    db = tmp_path / "data" / "commonplace.db"
    assert count(db, "SELECT count(*) AS n FROM pages WHERE slug IN ('alpha','b')") == 2


def test_import_errors_are_plain_words_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "ok", "text": "fine"}\nnot json\n')
    result = run("import", str(bad), "--data", str(tmp_path / "data"))
    assert result.returncode == 1 and "line 2 is not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr
    folder_as_jsonl = run("import", str(tmp_path), "--format", "jsonl", "--data", str(tmp_path / "data"))
    assert "is a folder" in folder_as_jsonl.stderr


def test_import_whole_tldr_commons(tmp_path: Path) -> None:
    source = SHARED_DATA / "tldr" / "pages.jsonl"
    result = run("import", str(source), "--data", str(tmp_path / "data"))
    assert result.returncode == 0, result.stderr
    assert "7425 created, 0 updated, 0 unchanged, 0 rejected" in result.stdout
    db = tmp_path / "data" / "commonplace.db"
    rows = [json.loads(line) for line in source.read_text().splitlines()]
    repeated = Counter(slugify(row["title"]) for row in rows)
    expected = sum(1 for n in repeated.values() if n > 1)  # 145 repeated titles, a few more repeated slugs
    assert count(db, "SELECT count(*) AS n FROM pages WHERE title LIKE '% (2)'") == expected


def test_user_create_moderator_from_password_file(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("a good long password\n")
    data = tmp_path / "data"
    made = run("user", "create", "mod", "--moderator", "--password-file", str(secret), "--data", str(data))
    assert made.returncode == 0 and "Created moderator mod" in made.stdout
    assert count(data / "commonplace.db", "SELECT count(*) AS n FROM users WHERE role = 'moderator'") == 1
    again = run("user", "create", "mod", "--password-file", str(secret), "--data", str(data))
    assert again.returncode == 1 and "taken" in again.stderr
    short = tmp_path / "short"
    short.write_text("abc")
    assert "8 characters" in run("user", "create", "x", "--password-file", str(short), "--data", str(data)).stderr


def test_backup_while_the_server_takes_writes(live_server: LiveServer, tmp_path: Path) -> None:
    account = {"username": "bk", "password": "long enough"}
    token = httpx.post(live_server.url + "/api/users", json=account).json()["token"]
    stop = threading.Event()

    def write_pages() -> None:
        for i in range(200):
            if stop.is_set():
                return
            op = {"op_id": str(uuid.uuid4()), "title": f"Backup load {i}", "base_rev": None, "body": "x" * 500}
            httpx.post(live_server.url + "/api/sync/push", json={"ops": [op]}, headers=bearer(token), timeout=30)

    writer = threading.Thread(target=write_pages)
    writer.start()
    try:
        dest = tmp_path / "copy.db"
        result = run("backup", str(dest), "--data", str(live_server.data))
        assert result.returncode == 0 and "integrity check ok" in result.stdout, result.stderr
    finally:
        stop.set()
        writer.join()
    assert count(dest, "SELECT count(*) AS n FROM pages") >= 8
    refused = run("backup", str(dest), "--data", str(live_server.data))
    assert refused.returncode == 1 and "exists already" in refused.stderr


def test_reindex_builds_resumes_and_reuses_vectors(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "COMMONPLACE_MODEL": "hashing"}

    def reindex(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "server.cli", "reindex", "--data", str(data), *extra],
                              capture_output=True, text=True, timeout=300, env=env)

    source = tmp_path / "few.jsonl"
    source.write_text(json.dumps({"title": "Kettle", "text": "Boil water for tea."}) + "\n")
    assert run("import", str(source), "--data", str(data)).returncode == 0  # the starter pages come too
    first = reindex()
    assert first.returncode == 0, first.stderr
    pages = int(first.stdout.split(" pages")[0])
    assert pages >= 11 and "chunks/s" in first.stdout and "Indexing pages" in first.stderr
    assert reindex().stdout.startswith("0 pages")  # nothing pending: a finished run is not repeated
    again = reindex("--all")
    assert again.stdout.startswith(f"{pages} pages") and " 0 embedded" in again.stdout
