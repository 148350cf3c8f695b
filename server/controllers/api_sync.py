"""JSON API of the sync protocol: push ops, read the changes feed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import Controller, get, post
from litestar.exceptions import ClientException, NotAuthorizedException
from litestar.params import JSONBody

from server.db import Database
from server.users import Actor
from sync.apply import Policy, apply_ops
from sync.changes import MAX_LIMIT, changes_since

MAX_OPS_PER_PUSH = 200


@dataclass
class Op:
    op_id: str
    body: str
    type: str = "edit"
    slug: str | None = None
    title: str | None = None
    base_rev: str | None = None
    summary: str = ""


@dataclass
class PushRequest:
    ops: list[Op]
    device_id: str | None = None


@dataclass
class PushReply:
    results: list[dict[str, Any]] = field(default_factory=list)


class SyncApiController(Controller):
    path = "/api/sync"
    tags = ["sync"]

    @post("/push", sync_to_thread=True, status_code=200)
    def push_ops(self, db: Database, actor: Actor, policy: Policy, data: JSONBody[PushRequest]) -> PushReply:
        """Apply ops in order; each result is `applied`, `duplicate` or `rejected` (with a reason).

        A reply means every op in it is durable. Replaying an op returns its first result.
        """
        if not actor.signed_in and not policy.anonymous_edits:
            raise NotAuthorizedException("Log in to push edits; keep the ops and send them again after.")
        if len(data.ops) > MAX_OPS_PER_PUSH:
            raise ClientException(f"Send at most {MAX_OPS_PER_PUSH} ops per push.")
        if data.device_id is not None and len(data.device_id) > 100:
            raise ClientException("device_id has at most 100 characters.")
        ops = [vars(op) for op in data.ops]
        return PushReply(results=db.write(apply_ops, ops, actor, policy, data.device_id))

    @get("/changes", sync_to_thread=True)
    def list_changes(self, db: Database, since: int = 0, limit: int = 100) -> dict[str, Any]:
        """Pages whose head moved past `since`, oldest first; continue with `since=last_seq` while `more`."""
        if since < 0 or limit < 1 or limit > MAX_LIMIT:
            raise ClientException(f"since must be ≥ 0 and limit between 1 and {MAX_LIMIT}.")
        return db.read(changes_since, since, limit)
