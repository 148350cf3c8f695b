"""JSON API of the sync protocol: push ops, the changes feed, conflicts, device checkpoints."""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from typing import Any

from litestar import Controller, Request, Response, get, post, put
from litestar.enums import MediaType
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    TooManyRequestsException,
)
from litestar.params import JSONBody
from litestar.serialization import encode_json

from server.compression import chosen_encoding
from server.db import Database
from server.ratelimit import check_push
from server.settings import Settings
from server.users import Actor
from sync.apply import Policy, apply_ops
from sync.changes import EXTRA_FIELDS, MAX_LIMIT, changes_since
from sync.checkpoints import MAX_DEVICE_ID_CHARS, checkpoints_after, get_checkpoint, save_checkpoint
from sync.conflicts import ConflictError, conflicts_after, get_conflict
from sync.resolve import discard_conflict, resolve_conflict
from sync.vocabulary import NO_SUCH_CONFLICT

MAX_OPS_PER_PUSH = 200
GZIP_MIN_BYTES = 1024
# "Not yours" answers as "no such conflict" (sync/vocabulary.py, NO_SUCH_CONFLICT).
CONFLICT_ERROR_STATUS = {"not_found": 404, "not_owner": 404, "closed": 409}


@dataclass
class Op:
    op_id: str
    body: str
    type: str = "edit"
    slug: str | None = None
    title: str | None = None
    base_rev: str | None = None
    summary: str = ""
    # The same author's earlier op on this page that this edit was made on top of (sync/chains.py).
    after_op: str | None = None


@dataclass
class PushRequest:
    ops: list[Op]
    device_id: str | None = None
    # Who made the ops ("" for nobody). A device can hold ops of an account that has since logged out:
    # they are refused, never credited to whoever is signed in now (DESIGN.md, "The browser").
    account: str | None = None


@dataclass
class PushReply:
    results: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Resolution:
    body: str
    title: str | None = None


@dataclass
class Checkpoint:
    last_seq: int
    reset: bool = False


def _signed_in(actor: Actor) -> Actor:
    if not actor.signed_in:
        raise NotAuthorizedException("Log in to see and resolve your conflicts and checkpoints.")
    return actor


def _check_device_id(device_id: str | None) -> None:
    if device_id is not None and not 0 < len(device_id) <= MAX_DEVICE_ID_CHARS:
        raise ClientException(f"device_id has 1 to {MAX_DEVICE_ID_CHARS} characters.")


class ConflictSettled(HTTPException):
    """The conflict was already resolved or discarded."""

    status_code = 409


# What the conflict endpoints may answer besides 200, for the OpenAPI schema.
CONFLICT_ERRORS = [NotAuthorizedException, NotFoundException, ConflictSettled]


def _conflict_call(db: Database, fn: Any, *args: Any, write: bool = False) -> dict[str, Any]:
    """Run a conflict action and turn its ConflictError into 404, 409 or 400."""
    try:
        return db.write(fn, *args) if write else db.read(fn, *args)
    except ConflictError as exc:
        status = CONFLICT_ERROR_STATUS.get(exc.kind, 400)
        if status == 404:
            raise NotFoundException(NO_SUCH_CONFLICT) from None
        if status == 409:
            raise ConflictSettled(str(exc), extra=exc.extra or None) from exc
        raise HTTPException(str(exc), status_code=status, extra=exc.extra or None) from exc


def _json(request: Request, content: dict[str, Any]) -> Response:
    """JSON, gzipped when the client takes it: the changes feed is what phones pay for on refresh."""
    body = encode_json(content)
    headers = {"Vary": "Accept-Encoding", "Cache-Control": "no-store"}
    if len(body) >= GZIP_MIN_BYTES and chosen_encoding(request.headers.get("accept-encoding", ""), ("gzip",)):
        body = gzip.compress(body, 6)
        headers["Content-Encoding"] = "gzip"
    return Response(content=body, media_type=MediaType.JSON, headers=headers)


class SyncApiController(Controller):
    path = "/api/sync"
    tags = ["sync"]

    @post("/push", sync_to_thread=True, status_code=200, raises=[NotAuthorizedException, TooManyRequestsException])
    def push_ops(self, request: Request, db: Database, actor: Actor, policy: Policy,
                 data: JSONBody[PushRequest]) -> PushReply:
        """Apply ops in order; each result is `applied`, `duplicate`, `merged`, `conflict` or `rejected`.

        A reply means every op in it is durable. Replaying an op returns its first result. Each op counts
        against `COMMONPLACE_RATE_EDIT`; a push over it gets 429 and none of its ops is applied or recorded.
        """
        if not actor.signed_in and not policy.anonymous_edits:
            raise NotAuthorizedException("Log in to push edits; keep the ops and send them again after.")
        if len(data.ops) > MAX_OPS_PER_PUSH:
            raise ClientException(f"Send at most {MAX_OPS_PER_PUSH} ops per push.")
        _check_device_id(data.device_id)
        caller = actor.username if actor.signed_in else ""
        if data.account is not None and data.account.casefold() != caller.casefold():
            raise NotAuthorizedException(
                f"These edits were made as {data.account}; log in as {data.account} to send them."
                if data.account else "These edits were made without an account; log out to send them."
            )
        check_push(request, actor, len(data.ops))
        ops = [vars(op) for op in data.ops]
        return PushReply(results=db.write(apply_ops, ops, actor, policy, data.device_id))

    @get("/changes", sync_to_thread=True)
    def list_changes(self, request: Request, db: Database, settings: Settings, since: int = 0, limit: int = 100,
                     include: str = "") -> Response:
        """Pages whose head moved past `since`, oldest first; continue with `since=last_seq` while `more`.

        `include=body,html` adds each head's text and HTML, so one (gzipped) reply refreshes saved pages.
        A reply stops early, with `more`, at `COMMONPLACE_MAX_REPLY_BYTES` (always at least one change).
        """
        if since < 0 or limit < 1 or limit > MAX_LIMIT:
            raise ClientException(f"since must be ≥ 0 and limit between 1 and {MAX_LIMIT}.")
        wanted = tuple(name for name in include.split(",") if name)
        if any(name not in EXTRA_FIELDS for name in wanted):
            raise ClientException(f"include takes {', '.join(EXTRA_FIELDS)}, separated by commas.")
        return _json(request, db.read(changes_since, since, limit, wanted, settings.max_reply_bytes))

    @get("/conflicts", sync_to_thread=True)
    def list_conflicts(self, db: Database, actor: Actor, settings: Settings, after: int = 0) -> dict[str, Any]:
        """The caller's open conflicts: op, base, current head, their version and a merge proposal.

        Oldest first, as many as fit in `COMMONPLACE_MAX_REPLY_BYTES`; while `more`, pass `cursor` as `after`.
        """
        if after < 0:
            raise ClientException("after must be a cursor from an earlier reply.")
        return db.read(conflicts_after, _signed_in(actor).user_id, after, settings.max_reply_bytes)

    @get("/conflicts/{conflict_id:str}", sync_to_thread=True, raises=CONFLICT_ERRORS)
    def get_conflict(self, db: Database, actor: Actor, conflict_id: str) -> dict[str, Any]:
        """One of the caller's conflicts, open or closed."""
        return _conflict_call(db, get_conflict, conflict_id, _signed_in(actor))

    @post("/conflicts/{conflict_id:str}/resolve", sync_to_thread=True, status_code=200, raises=CONFLICT_ERRORS)
    def resolve_conflict(self, db: Database, actor: Actor, policy: Policy, conflict_id: str,
                         data: JSONBody[Resolution]) -> dict[str, Any]:
        """`{body, title?}` becomes a new revision on top of the current head; the conflict is resolved."""
        return _conflict_call(db, resolve_conflict, conflict_id, _signed_in(actor), policy, data.body,
                              data.title, write=True)

    @post("/conflicts/{conflict_id:str}/discard", sync_to_thread=True, status_code=200, raises=CONFLICT_ERRORS)
    def discard_conflict(self, db: Database, actor: Actor, conflict_id: str) -> dict[str, Any]:
        """The author drops their version; nothing is written to the page."""
        return _conflict_call(db, discard_conflict, conflict_id, _signed_in(actor), write=True)

    @get("/checkpoints", sync_to_thread=True)
    def list_checkpoints(self, db: Database, actor: Actor, settings: Settings, after: str = "") -> dict[str, Any]:
        """Every device of the caller with its changes-feed checkpoint; while `more`, pass `cursor` as `after`."""
        return db.read(checkpoints_after, _signed_in(actor).user_id, after, settings.max_reply_bytes)

    @get("/checkpoints/{device_id:str}", sync_to_thread=True)
    def get_checkpoint(self, db: Database, actor: Actor, device_id: str) -> dict[str, Any]:
        """`{device_id, last_seq, updated_at}`; a device never seen has `last_seq` 0."""
        _check_device_id(device_id)
        return db.read(get_checkpoint, _signed_in(actor).user_id, device_id)

    @put("/checkpoints/{device_id:str}", sync_to_thread=True)
    def save_checkpoint(self, db: Database, actor: Actor, device_id: str,
                        data: JSONBody[Checkpoint]) -> dict[str, Any]:
        """Record `{last_seq}`; it only moves forward unless `reset` is true."""
        _check_device_id(device_id)
        if data.last_seq < 0:
            raise ClientException("last_seq must be ≥ 0.")
        return db.write(save_checkpoint, _signed_in(actor).user_id, device_id, min(data.last_seq, 2**62),
                        data.reset)
