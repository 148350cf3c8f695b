"""Chains of one author's edits (sync rule 8, issue 10 item 3): an edit made on top of one's own waiting edit.

An op may name `after_op`: the op id of the same author's earlier op on the same page, the one this edit was
made on top of (still waiting in the same batch, acknowledged long ago, or lost on the way). Its `base_rev`
is the revision the first waiting edit of the chain started from. The server then:

- bases the op on what the earlier op left: the revision it produced, merged against the author's own text
  of it (a merge changed the revision, not what the author saw), or, when the earlier op ended as an open
  conflict, on that conflict's base, so that the later op (which holds the earlier text) replaces the
  conflict instead of adding a second one against the author's own words;
- falls back on `base_rev` when the earlier op is unknown (not arrived yet, or refused) or another
  account's (nobody builds on an op they have not seen), and when `base_rev` is as new as what the earlier
  op left (the device had that result already and edited the page as it then was);
- answers an earlier op that arrives after a later op named it without writing anything: the later op
  holds its text already (`superseded_by`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from server import pages
from server.db import Conn
from server.users import Actor
from sync.vocabulary import APPLIED, CONFLICT, CONFLICT_OPEN, CONFLICT_SUPERSEDED, MERGED

Revision = dict[str, Any]  # {seq, rev, title, body}: what a merge starts from


@dataclass(frozen=True)
class Earlier:
    """What a later op of a chain is based on."""

    op_id: str
    slug: str
    base: Revision
    left_seq: int  # the newest revision the earlier op's outcome is part of (or the head its conflict met)
    # When `base` holds the author's own text rather than a revision's, a conflict is stored against this
    # revision instead, so that a conflict always starts from a real revision (and reads the same later).
    fallback: Revision | None = None
    open_conflict: int | None = None  # the earlier op's open conflict, which the later op replaces
    open_conflict_uid: str | None = None


def _revision(conn: Conn, revision_id: int | None) -> Revision | None:
    return pages.get_revision_by_id(conn, revision_id) if revision_id is not None else None


def earlier_op(conn: Conn, after_op: str | None, base_rev: str | None, actor: Actor) -> Earlier | None:
    """The author's earlier op named by `after_op`, if it is theirs, left a revision or a conflict, and the
    op's own `base_rev` is older than what it left."""
    if not after_op or not actor.signed_in:
        return None
    row = next(iter(conn.execute("SELECT user_id, result, text FROM ops WHERE op_id = ?", (after_op,))), None)
    if row is None or row["user_id"] != actor.user_id:
        return None
    result = json.loads(row["result"])
    page = pages.get_page(conn, result.get("slug") or "")
    if page is None:
        return None
    earlier = _what_it_left(conn, after_op, page, result, row["text"])
    if earlier is None or base_rev is None:
        return earlier
    seen = pages.get_revision(conn, page["page_id"], base_rev)
    return None if seen is not None and seen["seq"] >= earlier.left_seq else earlier


def _what_it_left(conn: Conn, after_op: str, page: dict[str, Any], result: dict[str, Any],
                  text: str | None) -> Earlier | None:
    if result["status"] in (APPLIED, MERGED):
        produced = pages.get_revision(conn, page["page_id"], result["rev"])
        if produced is None:
            return None
        if text is None:  # the revision holds the author's text as it was
            return Earlier(after_op, page["slug"], produced, produced["seq"])
        merged_from = pages.get_revision(conn, page["page_id"], result.get("base_rev") or result["rev"])
        own = {**produced, "body": text}
        return Earlier(after_op, page["slug"], own, produced["seq"], merged_from or produced)
    if result["status"] != CONFLICT:
        return None
    sql = "SELECT id, uid, status, base_id, head_id, resolved_id, title, body FROM conflicts WHERE op_id = ?"
    conflict = next(iter(conn.execute(sql, (after_op,))), None)
    if conflict is None:
        return None
    base = _revision(conn, conflict["base_id"])
    if conflict["status"] in (CONFLICT_OPEN, CONFLICT_SUPERSEDED):
        if conflict["status"] == CONFLICT_SUPERSEDED:
            return Earlier(after_op, page["slug"], base, conflict["head_id"])
        return Earlier(after_op, page["slug"], base, conflict["head_id"], open_conflict=conflict["id"],
                       open_conflict_uid=conflict["uid"])
    # Resolved or discarded: the author has decided what becomes of the earlier text; only what the later
    # op changed on top of it is new.
    settled = _revision(conn, conflict["resolved_id"] or conflict["head_id"])
    own = {**settled, "title": conflict["title"], "body": conflict["body"]}
    return Earlier(after_op, page["slug"], own, settled["seq"], base)


def later_op(conn: Conn, op_id: str, actor: Actor) -> dict[str, Any] | None:
    """The result of an op of the same author that named `op_id` as its `after_op` and so holds its text."""
    if not actor.signed_in:
        return None
    sql = "SELECT op_id, result FROM ops WHERE after_op = ? AND user_id = ? ORDER BY received_at LIMIT 1"
    row = next(iter(conn.execute(sql, (op_id, actor.user_id))), None)
    return {**json.loads(row["result"]), "op_id": row["op_id"]} if row else None


def superseded(op_id: str, later: dict[str, Any]) -> dict[str, Any]:
    """The answer to an op that a later op of its chain already carried: nothing written, never a conflict."""
    return {"op_id": op_id, "status": APPLIED, "slug": later.get("slug"), "rev": later.get("rev"),
            "seq": later.get("seq"), "title": later.get("title"), "unchanged": True,
            "superseded_by": later["op_id"]}
