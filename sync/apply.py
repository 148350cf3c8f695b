"""Applying one op: the single write path for every change to the commons (form, API, import).

`apply_op` runs inside the writer's transaction; its result is stored with the op so that a replay
returns the first answer and writes nothing (sync rule 1). An op on the head becomes a revision
(rule 2); an op on an older revision is merged three ways, and lands as a revision or a stored
conflict (rule 3). Either way the op's result is stored in the same transaction. An op made on top of the
same author's earlier op (`after_op`) is based on what that op left (sync/chains.py, rule 8), and a create
whose page exists already is an edit of it on an empty base (rule 8).
"""

from __future__ import annotations

import json
from typing import Any

from server import pages
from server.clock import now_iso
from server.db import Conn
from server.slugs import TitleError, clean_title
from server.users import Actor, is_blocked
from sync.chains import Earlier, earlier_op, later_op, superseded
from sync.conflicts import authors_since, close_conflict, conflict_status, store_conflict
from sync.merge import merge_three_way
from sync.vocabulary import (
    APPLIED,
    CONFLICT,
    CONFLICT_SUPERSEDED,
    CONFUSABLE,
    DUPLICATE,
    MERGED,
    OP_TYPES,
    REASONS,
    REJECTED,
    too_large_message,
)

MAX_OP_ID_CHARS = 100
MAX_SUMMARY_CHARS = 500


class Policy:
    """What the server allows; built from settings by the caller."""

    def __init__(self, anonymous_edits: bool = False, max_page_bytes: int = 200_000) -> None:
        self.anonymous_edits = anonymous_edits
        self.max_page_bytes = max_page_bytes


def rejected(op_id: Any, reason: str, detail: str = "", message: str = "", **extra: Any) -> dict[str, Any]:
    message = message or REASONS[reason] + (f" {detail}" if detail else "")
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
    size = len(body.encode("utf-8", "surrogatepass"))
    if size > policy.max_page_bytes:
        return rejected(op_id, "too_large", message=too_large_message(size, policy.max_page_bytes),
                        size=size, limit=policy.max_page_bytes)
    summary = op.get("summary") or ""
    if not isinstance(summary, str) or len(summary) > MAX_SUMMARY_CHARS:
        return rejected(op_id, "invalid_op", f"summary must be text of at most {MAX_SUMMARY_CHARS} characters.")
    for key in ("slug", "title", "base_rev", "after_op"):
        if op.get(key) is not None and not isinstance(op.get(key), str):
            return rejected(op_id, "invalid_op", f"{key} must be text or null.")
    if op.get("after_op") == op_id:
        return rejected(op_id, "invalid_op", "after_op names an earlier op, not the op itself.")
    if "\x00" in body or "\x00" in summary:
        return rejected(op_id, "invalid_op", "Text may not contain NUL characters.")
    return None


def _previous_result(conn: Conn, op_id: str) -> dict[str, Any] | None:
    row = next(iter(conn.execute("SELECT user_id, result FROM ops WHERE op_id = ?", (op_id,))), None)
    return row


def _record(conn: Conn, op: dict[str, Any], actor: Actor, device_id: str | None, result: dict[str, Any]) -> None:
    # The author's own text is kept when the revision differs from it: a later op of the chain was made on it.
    text = op["body"] if result["status"] == MERGED or "superseded_by" in result else None
    conn.execute(
        """INSERT INTO ops (op_id, user_id, device_id, received_at, status, result, after_op, text)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        (op["op_id"], actor.user_id, device_id, now_iso(), result["status"], json.dumps(result),
         op.get("after_op"), text),
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
    # The account was looked up when the request came in; a moderator may have blocked it since. Checked
    # here, in the transaction that writes, so that no edit lands once the block has answered (issue 11).
    if actor.signed_in and is_blocked(conn, actor.user_id):
        return rejected(op_id, "blocked")
    later = later_op(conn, op_id, actor)
    result = superseded(op_id, later) if later else _apply_edit(conn, op, actor, device_id)
    if result["status"] != REJECTED:
        # Rejections are not stored: the same op may succeed later (after log-in, say).
        _record(conn, op, actor, device_id, result)
    return result


def _apply_edit(conn: Conn, op: dict[str, Any], actor: Actor, device_id: str | None) -> dict[str, Any]:
    op_id = op["op_id"]
    summary = " ".join((op.get("summary") or "").split())
    now = now_iso()
    earlier = earlier_op(conn, op.get("after_op"), op.get("base_rev"), actor)
    if earlier is not None:
        slug = earlier.slug  # a chain may start with a create whose slug the device only guessed
    elif op.get("base_rev") is None:
        try:
            slug = pages.slug_for_title(conn, clean_title(op.get("title") or ""))
        except TitleError as exc:
            return rejected(op_id, "bad_title", str(exc))
        if not pages.slug_exists(conn, slug):
            return _create(conn, op, actor, slug, summary, now)
    else:
        slug = op.get("slug") or ""
    page = pages.get_page(conn, slug)
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
    if earlier is not None:
        base, fallback = earlier.base, earlier.fallback
    elif op.get("base_rev") is None:
        # Two people started the same page (issue 10 item 6): the later create is an edit of the page on an
        # empty base. Every line of it is then an addition at one place, so both texts are kept; its title
        # counts as the base's, so the page keeps the title it was started with.
        base, fallback = {"seq": 0, "rev": None, "title": title, "body": ""}, None
    else:
        base, fallback = pages.get_revision(conn, page["page_id"], op["base_rev"]), None
        if base is None:
            return rejected(op_id, "unknown_base", slug=page["slug"], rev=page["rev"])
    if base["seq"] != page["seq"] or base["body"] != page["body"]:  # a local number may name the head too
        result = _merge_edit(conn, op, actor, device_id, page, base, fallback, title or base["title"], summary, now)
    else:
        result = _edit_head(conn, op, actor, page, title or page["title"], summary, now)
    if earlier is not None:
        _replace_conflict(conn, earlier, result)
    return result


def _replace_conflict(conn: Conn, earlier: Earlier, result: dict[str, Any]) -> None:
    """The later op of a chain holds the earlier op's text: its result replaces the earlier open conflict."""
    result["after_op"] = earlier.op_id
    if earlier.open_conflict is None:
        return
    written = result["seq"] if result["status"] in (APPLIED, MERGED) and not result.get("unchanged") else None
    close_conflict(conn, earlier.open_conflict, CONFLICT_SUPERSEDED, written)
    result["replaced_conflict"] = earlier.open_conflict_uid


def _edit_head(conn: Conn, op: dict[str, Any], actor: Actor, page: dict[str, Any], title: str, summary: str,
               now: str) -> dict[str, Any]:
    op_id, body = op["op_id"], op["body"]
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
    base: dict[str, Any], fallback: dict[str, Any] | None, title: str, summary: str, now: str,
) -> dict[str, Any]:
    """base = the op's base (or the author's own earlier text), theirs = the head, ours = the op (rule 3)."""
    op_id = op["op_id"]
    merge = merge_three_way(base["body"], page["body"], op["body"])
    if not merge.clean and fallback is not None:
        base = fallback
        merge = merge_three_way(base["body"], page["body"], op["body"])
    done = {"op_id": op_id, "slug": page["slug"], "base_rev": base["rev"], "head_rev": page["rev"]}
    if base["seq"] == 0:
        done["page_existed"] = True
    if title == base["title"] or title == page["title"]:
        merged_title: str | None = page["title"]
    elif page["title"] == base["title"]:
        merged_title = title
    else:
        merged_title = None  # both renamed the page, differently
    if not merge.clean or merged_title is None:
        # An empty base never gets here: every line on both sides is an addition at one place, kept both.
        conflict_id = store_conflict(conn, op=op, actor=actor, device_id=device_id, page=page, base_seq=base["seq"],
                                     title=title, summary=summary, merge=merge, now=now)
        return {**done, "status": CONFLICT, "conflict_id": conflict_id, "rev": page["rev"], "seq": page["seq"],
                "title": page["title"]}
    merged = merge.merged
    if base["seq"] == 0 and merge.kept_both:
        # Two texts started apart are two parts of the page, not one run-on paragraph.
        merged = page["body"].rstrip("\n") + "\n\n" + op["body"]
    if merged == page["body"] and merged_title == page["title"]:
        return {**done, "status": MERGED, "rev": page["rev"], "seq": page["seq"], "title": merged_title,
                "unchanged": True}
    # The merged revision is the author's; its summary credits whoever else wrote the head's side (an
    # author's own earlier op from the same offline session needs no credit) and says what the merge did.
    others = [name for name in authors_since(conn, page["page_id"], base["seq"], page["seq"])
              if name != actor.username]
    notes = ["this page had been started already"] if base["seq"] == 0 else []
    if others:
        notes.append(f"merged with changes by {', '.join(others)}")
    if merge.kept_both:
        notes.append("kept both additions at the same place")
    if notes:
        note = "; ".join(notes)
        summary = f"{summary} ({note})" if summary else note[0].upper() + note[1:]
    written = pages.add_revision(
        conn, page_id=page["page_id"], parent_id=page["seq"], user_id=actor.user_id, author=actor.username,
        title=merged_title, body=merged, summary=summary, op_id=op_id, now=now,
    )
    return {**done, "status": MERGED, "title": merged_title, "merged_with": others,
            "kept_both": merge.kept_both > 0, **written}


def _create(conn: Conn, op: dict[str, Any], actor: Actor, slug: str, summary: str, now: str) -> dict[str, Any]:
    title = clean_title(op.get("title") or "")
    similar = pages.look_alike_page(conn, title, slug)
    page = pages.create_page(conn, slug, title, now)
    written = pages.add_revision(
        conn, page_id=page["page_id"], parent_id=None, user_id=actor.user_id, author=actor.username,
        title=title, body=op["body"], summary=summary or "Created the page", op_id=op["op_id"], now=now,
    )
    result = {"op_id": op["op_id"], "status": APPLIED, "slug": slug, "title": title, "created": True, **written}
    if similar is not None:
        # A create replayed from an outbox may have been written days ago: it is kept (never lose words), and
        # the reply says which page its title reads like, for the author to merge or rename (issue 11 item 12).
        result.update(warning=CONFUSABLE, similar=similar["slug"], similar_title=similar["title"])
    return result


def apply_ops(
    conn: Conn, ops: list[Any], actor: Actor, policy: Policy, device_id: str | None = None
) -> list[dict[str, Any]]:
    """Apply a batch in order inside one transaction (used by push and import)."""
    return [apply_op(conn, op, actor, policy, device_id) for op in ops]
