"""Importing collections (JSONL or a folder of Markdown) as ops, so imports take the one write path.

Re-running an import is idempotent: each record's op id is derived from its file, title,
occurrence and text, so an unchanged record replays as `duplicate` and writes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from server import pages
from server.db import Database
from server.seed import split_title
from server.slugs import TitleError, clean_title, slugify
from server.users import Actor
from sync.apply import Policy, apply_ops
from sync.vocabulary import APPLIED, DUPLICATE, REJECTED

FORMATS = ("jsonl", "markdown")
BATCH = 200
IMPORT_AUTHOR = "Commonplace import"


class ImportProblem(ValueError):
    """The source cannot be imported; the message says what to fix."""


@dataclass
class Record:
    title: str
    body: str
    where: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + len(self.rejected)


def detect_format(path: Path) -> str:
    return "markdown" if path.is_dir() else "jsonl"


def read_jsonl(path: Path) -> Iterator[Record]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"{path.name} line {number}"
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ImportProblem(f"{where} is not valid JSON ({exc.msg}).") from exc
            if not isinstance(item, dict) or not isinstance(item.get("title"), str) or not isinstance(
                item.get("text"), str
            ):
                raise ImportProblem(f'{where} needs a "title" and a "text", both strings.')
            yield Record(item["title"], item["text"], where)


def read_markdown(folder: Path) -> Iterator[Record]:
    for path in sorted(folder.rglob("*.md")):
        title, body = split_title(path.read_text(encoding="utf-8"), path.stem.replace("-", " "))
        yield Record(title, body, str(path.relative_to(folder)))


def check_source(path: Path, fmt: str | None) -> str:
    """The format to read `path` with, or ImportProblem saying what is wrong with the source."""
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise ImportProblem(f"Unknown format {fmt!r}; use one of {', '.join(FORMATS)}.")
    if not path.exists():
        raise ImportProblem(f"{path} does not exist.")
    if fmt == "markdown" and not path.is_dir():
        raise ImportProblem(f"{path} is not a folder; the markdown format reads a folder of .md files.")
    if fmt == "jsonl" and path.is_dir():
        raise ImportProblem(f"{path} is a folder; use --format markdown for a folder of .md files.")
    return fmt


def count_records(path: Path, fmt: str) -> int:
    if fmt == "markdown":
        return sum(1 for _ in path.rglob("*.md"))
    with path.open("rb") as f:
        return sum(1 for line in f if line.strip())


def _disambiguate(records: Iterator[Record], report: ImportReport) -> Iterator[tuple[Record, str, int]]:
    """Give a repeated title (tldr has `cmd` on several platforms) a numbered title: `cmd (2)`."""
    seen: dict[str, int] = {}
    for record in records:
        try:
            title = clean_title(record.title)
        except TitleError as exc:
            report.rejected.append(f"{record.where}: {exc}")
            continue
        key = slugify(title)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            title = f"{title} ({seen[key]})"
        yield record, title, seen[key]


def import_path(
    db: Database,
    path: Path,
    fmt: str | None = None,
    author: str = IMPORT_AUTHOR,
    progress: Callable[[int], None] = lambda n: None,
    max_page_bytes: int = 200_000,
) -> ImportReport:
    fmt = check_source(path, fmt)
    records = read_jsonl(path) if fmt == "jsonl" else read_markdown(path)
    actor, policy = Actor(None, author), Policy(anonymous_edits=True, max_page_bytes=max_page_bytes)
    report = ImportReport()
    batch: list[tuple[Record, str, int]] = []
    for item in _disambiguate(records, report):
        batch.append(item)
        if len(batch) >= BATCH:
            _apply_batch(db, path.name, batch, actor, policy, report)
            progress(len(batch))
            batch = []
    if batch:
        _apply_batch(db, path.name, batch, actor, policy, report)
        progress(len(batch))
    return report


def _op_id(source: str, title: str, occurrence: int, body: str) -> str:
    digest = hashlib.sha256("\0".join([source, title, str(occurrence), body]).encode("utf-8", "surrogatepass"))
    return "import:" + digest.hexdigest()[:40]


def _apply_batch(db: Database, source: str, batch: list[tuple[Record, str, int]], actor: Actor,
                 policy: Policy, report: ImportReport) -> None:
    def run(conn):  # one transaction per batch: heads are read where the ops are applied
        ops = []
        for record, title, occurrence in batch:
            head = pages.get_page(conn, pages.slug_for_title(conn, title))
            ops.append({"op_id": _op_id(source, title, occurrence, record.body), "type": "edit",
                        "slug": head["slug"] if head else None, "title": title,
                        "base_rev": head["rev"] if head else None, "body": record.body,
                        "summary": f"Imported from {record.where}"})
        return apply_ops(conn, ops, actor, policy)

    for (record, _, _), result in zip(batch, db.write(run), strict=True):
        if result["status"] == REJECTED:
            report.rejected.append(f"{record.where}: {result['message']}")
        elif result["status"] == DUPLICATE or result.get("unchanged"):
            report.unchanged += 1
        elif result["status"] == APPLIED and result.get("created"):
            report.created += 1
        else:
            report.updated += 1
