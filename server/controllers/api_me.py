"""JSON API about the caller's own account: download everything they contributed."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from litestar.exceptions import NotAuthorizedException

from server.db import Database
from server.export import user_export
from server.users import Actor


class MeApiController(Controller):
    path = "/api/me"
    tags = ["accounts"]

    @get("/export", sync_to_thread=True)
    def export_contributions(self, db: Database, actor: Actor) -> Response[dict[str, Any]]:
        """Every revision you wrote (full text), your conflicts and your devices' checkpoints, as one JSON file."""
        if not actor.signed_in:
            raise NotAuthorizedException("Log in to download your contributions.")
        # A fixed ASCII name: usernames may hold letters that a header cannot carry.
        return Response(db.read(user_export, actor.user_id), headers={
            "Content-Disposition": 'attachment; filename="commonplace-contributions.json"',
            "Cache-Control": "no-store"})
