"""The starter commons: original pages loaded into an empty database."""

from __future__ import annotations

from pathlib import Path

from server.db import Database
from server.pages import content_hash, counts
from server.users import Actor
from sync.apply import Policy, apply_ops

SEED_DIR = Path(__file__).resolve().parent / "seed"
SEED_AUTHOR = Actor(None, "Commonplace team")


def split_title(text: str, fallback: str) -> tuple[str, str]:
    """A Markdown file's `# Title` first line is its title; the rest is the body."""
    first, _, rest = text.partition("\n")
    if first.startswith("# ") and first[2:].strip():
        return first[2:].strip(), rest.lstrip("\n")
    return fallback, text


def seed_ops() -> list[dict[str, str | None]]:
    ops = []
    for path in sorted(SEED_DIR.glob("*.md")):
        title, body = split_title(path.read_text(encoding="utf-8"), path.stem.replace("-", " "))
        ops.append({"op_id": f"seed:{path.stem}:{content_hash(body)[:16]}", "type": "edit",
                    "title": title, "base_rev": None, "body": body,
                    "summary": "Starter page of the commons"})
    return ops


def seed_if_empty(db: Database) -> int:
    """Load the starter pages when the commons has none; returns how many were created."""
    if db.read(counts)["pages"]:
        return 0
    results = db.write(apply_ops, seed_ops(), SEED_AUTHOR, Policy(anonymous_edits=True))
    return sum(1 for r in results if r.get("created"))
