"""Applying one op: the single write path for every change to the commons (form, API, import).

`apply_op` runs inside the writer's transaction; its result is stored with the op so that a replay
returns the first answer and writes nothing (sync rule 1). An op on the head becomes a revision
(rule 2); an op on an older revision is merged three ways, and lands as a revision or a stored
conflict (rule 3). Either way the op's result is stored in the same transaction.
"""

from __future__ import annotations

import json
from typing import Any

from server import pages
from server.clock import now_iso
from server.db import Conn
from server.slugs import TitleError, clean_title, slugify
from server.users import Actor
from sync.conflicts import authors_since, conflict_status, store_conflict
from sync.merge import merge_three_way
from sync.vocabulary import (
    APPLIED,
    CONFLICT,
    DUPLICATE,
    MERGED,
    OP_TYPES,
    REASONS,
    REJECTED,
)

MAX_OP_ID_CHARS = 100
MAX_SUMMARY_CHARS = 500


class Policy:
    """What the server allows; built from settings by the caller."""

    def __init__(self, anonymous_edits: bool = False, max_page_bytes: int = 200_000) -> None:
        self.anonymous_edits = anonymous_edits
        self.max_page_bytes = max_page_bytes


def rejected(op_id: Any, reason: str, detail: str = "", **extra: Any) -> dict[str, Any]:
    message = REASONS[reason] + (f" {detail}" if detail else "")
    return {"op_id": op_id, "status": REJECTED, "reason": reason, "message": message, **extra}


def _validate(op: Any, policy: Policy) -> dict[str, Any] | None:
    if not isinstance(op, dict):
        return rejected(None, "invalid_op", "Each op must be an object.")
    op_id = op.get("op_id")
    if not isinstance(op_id, str) or not op_id.strip() or len(op_id) > MAX_OP_ID_CHARS:
        return rejected(op_id if isinstance(op_id, str) else None, "invalid_op",
                        f"op_id must be text of 1 to {MAX_OP_ID_CHARS} characters.")
    if op.get("type", "edit") not in OP_TYPES:
        return rejected(op_id, "invalid_op", f"type must be one of {', '.join(OP_TYPES)}.")
    body = op.get("body")
    if not isinstance(body, str):
        return rejected(op_id, "invalid_op", "body must be text.")
    if len(body.encode("utf-8", "surrogatepass")) > policy.max_page_bytes:
        return rejected(op_id, "too_large", f"The limit is {policy.max_page_bytes} bytes.")
    summary = op.get("summary") or ""
    if not isinstance(summary, str) or len(summary) > MAX_SUMMARY_CHARS:
        return rejected(op_id, "invalid_op", f"summary must be text of at most {MAX_SUMMARY_CHARS} characters.")
    for key in ("slug", "title", "base_rev"):
        if op.get(key) is not None and not isinstance(op.get(key), str):
            return rejected(op_id, "invalid_op", f"{key} must be text or null.")
    if "\x00" in body or "\x00" in summary:
        return rejected(op_id, "invalid_op", "Text may not contain NUL characters.")
    return None


def _previous_result(conn: Conn, op_id: str) -> dict[str, Any] | None:
    row = next(iter(conn.execute("SELECT user_id, result FROM ops WHERE op_id = ?", (op_id,))), None)
    return row


def _record(conn: Conn, op_id: str, actor: Actor, device_id: str | None, result: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO ops (op_id, user_id, device_id, received_at, status, result) VALUES (?, ?, ?, ?, ?, ?)",
        (op_id, actor.user_id, device_id, now_iso(), result["status"], json.dumps(result)),
    )


def apply_op(
    conn: Conn, op: Any, actor: Actor, policy: Policy, device_id: str | None = None
) -> dict[str, Any]:
    """Apply one op for `actor` and return its result (see sync.vocabulary for the statuses)."""
    problem = _validate(op, policy)
    if problem:
        return problem
    op_id = op["op_id"]
    previous = _previous_result(conn, op_id)
    if previous is not None:
        if previous["user_id"] != actor.user_id:
            return rejected(op_id, "op_id_taken")
        first = json.loads(previous["result"])
        duplicate = {**first, "status": DUPLICATE, "first_status": first["status"]}
        if first["status"] == CONFLICT:
            duplicate["conflict_status"] = conflict_status(conn, op_id)
        return duplicate
    if not actor.signed_in and not policy.anonymous_edits:
        return rejected(op_id, "login_required")
    result = _apply_edit(conn, op, actor, device_id)
    if result["status"] != REJECTED:
        # Rejections are not stored: the same op may succeed later (after log-in, say).
        _record(conn, op_id, actor, device_id, result)
    return result


def _apply_edit(conn: Conn, op: dict[str, Any], actor: Actor, device_id: str | None) -> dict[str, Any]:
    op_id, base_rev, body = op["op_id"], op.get("base_rev"), op["body"]
    summary = " ".join((op.get("summary") or "").split())
    now = now_iso()
    if base_rev is None:
        return _create(conn, op, actor, summary, now)
    page = pages.get_page(conn, op.get("slug") or "")
    if page is None:
        return rejected(op_id, "not_found", slug=op.get("slug"))
    if page["protected"] and not actor.is_moderator:
        return rejected(op_id, "protected", slug=page["slug"])
    title = None
    if op.get("title"):
        try:
            title = clean_title(op["title"])
        except TitleError as exc:
            return rejected(op_id, "bad_title", str(exc), slug=page["slug"])
    if base_rev != page["rev"]:
        base = pages.get_revision(conn, page["page_id"], base_rev)
        if base is None:
            return rejected(op_id, "unknown_base", slug=page["slug"], rev=page["rev"])
        if base["seq"] != page["seq"]:  # a local number may name the head too
            return _merge_edit(conn, op, actor, device_id, page, base, title or base["title"], summary, now)
    title = title or page["title"]
    if body == page["body"] and title == page["title"]:
        return {"op_id": op_id, "status": APPLIED, "slug": page["slug"], "rev": page["rev"],
                "seq": page["seq"], "title": title, "unchanged": True}
    written = pages.add_revision(
        conn, page_id=page["page_id"], parent_id=page["seq"], user_id=actor.user_id,
        author=actor.username, title=title, body=body, summary=summary, op_id=op_id, now=now,
    )
    return {"op_id": op_id, "status": APPLIED, "slug": page["slug"], "title": title, **written}


def _merge_edit(
    conn: Conn, op: dict[str, Any], actor: Actor, device_id: str | None, page: dict[str, Any],
    base: dict[str, Any], title: str, summary: str, now: str,
) -> dict[str, Any]:
    """base = the op's base revision, theirs = the head, ours = the op (sync rule 3)."""
    op_id = op["op_id"]
    done = {"op_id": op_id, "slug": page["slug"], "base_rev": base["rev"], "head_rev": page["rev"]}
    if title == base["title"] or title == page["title"]:
        merged_title: str | None = page["title"]
    elif page["title"] == base["title"]:
        merged_title = title
    else:
        merged_title = None  # both renamed the page, differently
    merge = merge_three_way(base["body"], page["body"], op["body"])
    if not merge.clean or merged_title is None:
        conflict_id = store_conflict(conn, op=op, actor=actor, device_id=device_id, page=page, base_seq=base["seq"],
                                     title=title, summary=summary, merge=merge, now=now)
        return {**done, "status": CONFLICT, "conflict_id": conflict_id, "rev": page["rev"], "seq": page["seq"],
                "title": page["title"]}
    if merge.merged == page["body"] and merged_title == page["title"]:
        return {**done, "status": MERGED, "rev": page["rev"], "seq": page["seq"], "title": merged_title,
                "unchanged": True}
    # The merged revision is the author's; its summary credits whoever else wrote the head's side (an
    # author's own earlier op from the same offline session needs no credit).
    others = [name for name in authors_since(conn, page["page_id"], base["seq"], page["seq"])
              if name != actor.username]
    credit = f"merged with changes by {', '.join(others)}" if others else ""
    if credit:
        summary = f"{summary} ({credit})" if summary else credit.capitalize()
    written = pages.add_revision(
        conn, page_id=page["page_id"], parent_id=page["seq"], user_id=actor.user_id, author=actor.username,
        title=merged_title, body=merge.merged, summary=summary, op_id=op_id, now=now,
    )
    return {**done, "status": MERGED, "title": merged_title, "merged_with": others, **written}


def _create(conn: Conn, op: dict[str, Any], actor: Actor, summary: str, now: str) -> dict[str, Any]:
    op_id = op["op_id"]
    try:
        title = clean_title(op.get("title") or "")
        slug = slugify(title)
    except TitleError as exc:
        return rejected(op_id, "bad_title", str(exc))
    if pages.slug_exists(conn, slug):
        return rejected(op_id, "exists", slug=slug)
    page = pages.create_page(conn, slug, title, now)
    written = pages.add_revision(
        conn, page_id=page["page_id"], parent_id=None, user_id=actor.user_id, author=actor.username,
        title=title, body=op["body"], summary=summary or "Created the page", op_id=op_id, now=now,
    )
    return {"op_id": op_id, "status": APPLIED, "slug": slug, "title": title, "created": True, **written}


def apply_ops(
    conn: Conn, ops: list[Any], actor: Actor, policy: Policy, device_id: str | None = None
) -> list[dict[str, Any]]:
    """Apply a batch in order inside one transaction (used by push and import)."""
    return [apply_op(conn, op, actor, policy, device_id) for op in ops]
