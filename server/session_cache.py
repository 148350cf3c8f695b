"""Who a session cookie belongs to, remembered between requests (issue 11: contributors paid for every view).

The page cache (server/page_cache.py) answers signed-in page views without entering the app, so it needs
the account behind a cookie without a query per view. It keeps token -> account in memory and forgets
everything whenever the database changes (the page cache's `PRAGMA data_version` check calls `clear`):
a log-out, a block or a role change is a commit, so it takes effect on the very next request.
"""

from __future__ import annotations

import time

from server.clock import parse_iso
from server.db import Conn
from server.users import Actor, _token_hash

# Unknown tokens are remembered too (as None); past this many, the oldest go first.
MAX_SESSIONS = 10_000


def session_actor(conn: Conn, token: str) -> tuple[Actor, float] | None:
    """The account behind a session token and when the session ends (Unix time); None when unknown or blocked.

    The same rows as `server.users.actor_for_token`, with the end date kept to check later instead of now.
    """
    sql = """SELECT u.id, u.username, u.role, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = ? AND u.blocked = 0"""
    row = next(iter(conn.execute(sql, (_token_hash(token),))), None)
    return (Actor(row["id"], row["username"], row["role"]), parse_iso(row["expires_at"]).timestamp()) if row else None


class SessionCache:
    def __init__(self) -> None:
        self._sessions: dict[str, tuple[Actor, float] | None] = {}

    def actor(self, conn: Conn, token: str) -> Actor | None:
        if token in self._sessions:
            found = self._sessions[token]
        else:
            found = session_actor(conn, token)
            if len(self._sessions) >= MAX_SESSIONS:
                del self._sessions[next(iter(self._sessions))]
            self._sessions[token] = found
        if found is None or found[1] <= time.time():  # ended sessions end here too, not at the next commit
            return None
        return found[0]

    def clear(self) -> None:
        self._sessions.clear()
