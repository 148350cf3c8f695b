"""Rate limits on log-in, sign-up, edits and search: a sliding window per client address and per account.

Kept in memory, per process (`commonplace serve` runs one). A key is kept only while it has hits inside
its window: once the window has passed, the address or account is forgotten (issue 6, privacy). Nothing
is written to disk.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from litestar.connection import ASGIConnection
from litestar.exceptions import TooManyRequestsException
from litestar.types import ASGIApp, Receive, Scope, Send

from server.auth import request_actor
from server.users import username_key

LOGIN, SIGNUP, EDIT, SEARCH = "login", "signup", "edit", "search"
# What a person was doing, for the 429 message.
ACTIONS = {LOGIN: "log-in attempts", SIGNUP: "sign-ups", EDIT: "edits", SEARCH: "searches"}
# Which requests count against which limit; the log-in limit per account is checked by the log-in handlers,
# since the name is in the body.
LIMITED_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"^/(login|api/session)$"), LOGIN),
    ("POST", re.compile(r"^/(signup|api/users)$"), SIGNUP),
    ("POST", re.compile(r"^/(api/sync/push|wiki/[^/]+/edit)$"), EDIT),
    ("GET", re.compile(r"^/(api/)?search$"), SEARCH),
]
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Rate:
    """At most `count` requests in any `seconds`; count 0 means no limit."""

    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        if text.strip().lower() in {"0", "off", ""}:
            return cls(0, 1)
        match = _RATE.match(text)
        if not match or int(match.group(2)) < 1:
            raise ValueError(f"A rate limit is written COUNT/SECONDS, like 10/60, or off; got {text!r}.")
        return cls(int(match.group(1)), int(match.group(2)))


class SlidingWindow:
    """The times of each key's recent hits; a key whose newest hit is older than the window is dropped."""

    def __init__(self, rate: Rate, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._next_sweep = clock() + rate.seconds

    def hit(self, key: str) -> float | None:
        """Count one request for `key`; None when allowed, else the seconds to wait (nothing is counted)."""
        if self.rate.count == 0:
            return None
        now = self.clock()
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.rate.seconds:
                hits.popleft()
            if len(hits) >= self.rate.count:
                return max(hits[0] + self.rate.seconds - now, 0.001)
            hits.append(now)
            return None

    def _sweep(self, now: float) -> None:
        """Forget every key with no hit inside the window."""
        cutoff = now - self.rate.seconds
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= cutoff]:
            del self._hits[key]
        self._next_sweep = now + self.rate.seconds

    def keys(self) -> list[str]:
        """Keys still remembered after forgetting the expired ones."""
        with self._lock:
            self._sweep(self.clock())
            return list(self._hits)


class RateLimiter:
    """One sliding window per limit; addresses and accounts share it under different key prefixes."""

    def __init__(self, rates: dict[str, Rate], clock: Callable[[], float] = time.monotonic) -> None:
        self.windows = {name: SlidingWindow(rate, clock) for name, rate in rates.items()}

    def check(self, limit: str, address: str | None = None, account: str | None = None) -> None:
        """Count one request; raise a 429 naming the wait when the address or the account is over the limit."""
        window = self.windows.get(limit)
        if window is None:
            return
        for who, key in (("this address", address), ("this account", account)):
            if key is None:
                continue
            wait = window.hit(f"{who}:{key}")
            if wait is not None:
                seconds = math.ceil(wait)
                raise TooManyRequestsException(
                    f"Too many {ACTIONS[limit]} from {who}. Wait {seconds} second{'s' if seconds != 1 else ''} "
                    "and try again.",
                    headers={"Retry-After": str(seconds)},
                )

    def remembered(self) -> int:
        """How many addresses and accounts are held right now (all forgotten once their windows pass)."""
        return sum(len(window.keys()) for window in self.windows.values())


def client_address(connection: ASGIConnection) -> str:
    """The peer's address. `serve` does not trust proxy headers, so behind a proxy this is the proxy."""
    return connection.client.host if connection.client else "unknown"


def limit_for(method: str, path: str) -> str | None:
    for route_method, pattern, limit in LIMITED_ROUTES:
        if method == route_method and pattern.match(path):
            return limit
    return None


def rate_limit_middleware(app: ASGIApp) -> ASGIApp:
    """Counts each limited request by address and, when signed in, by account, before its handler runs."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        limit = limit_for(scope.get("method", ""), scope.get("path", "")) if scope["type"] == "http" else None
        if limit is not None:
            connection: ASGIConnection = ASGIConnection(scope)
            limiter: RateLimiter = connection.app.state.ratelimiter
            actor = request_actor(connection) if limit in (EDIT, SEARCH) else None
            limiter.check(limit, address=client_address(connection),
                          account=str(actor.user_id) if actor and actor.signed_in else None)
        await app(scope, receive, send)

    return middleware


def check_login_account(connection: ASGIConnection, username: object) -> None:
    """Count a log-in attempt against the account name tried, from any address (slows password guessing).

    Keyed on `username_key`, built on the normalisation the account lookup uses: every spelling that could
    reach one account (composed or decomposed, any case) spends one budget.
    """
    if isinstance(username, str) and username.strip():
        connection.app.state.ratelimiter.check(LOGIN, account=username_key(username[:200]))
