"""Rate limits on log-in, sign-up, edits and search: a sliding window per client address and per account.

Kept in memory, per process (`commonplace serve` runs one). A key is kept only while it has hits inside
its window: once the window has passed, the address or account is forgotten (issue 6, privacy). Nothing
is written to disk.

Every way of writing shares the edit budget and every way of searching the search budget (issue 11 item 4:
after a push met 429, revert still wrote, and after a search met 429, related pages still answered). A push
costs one per op, so a 200-op push is not one edit. A refused request is refused whole, before anything
is written or counted: the phone keeps its ops and sends them again after `Retry-After`.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from litestar.connection import ASGIConnection
from litestar.exceptions import TooManyRequestsException
from litestar.types import ASGIApp, Receive, Scope, Send

from server.auth import request_actor
from server.users import Actor, username_key

LOGIN, SIGNUP, EDIT, SEARCH = "login", "signup", "edit", "search"
# What a person was doing, for the 429 message.
ACTIONS = {LOGIN: "log-in attempts", SIGNUP: "sign-ups", EDIT: "edits", SEARCH: "searches"}
# Which requests count one against which limit, before their handler runs. Not here: the log-in limit per
# account and the push (checked by their handlers: the name and the number of ops are in the body), and
# the moderators' protect, rollback and block (a flood from a shared address must not lock out the person
# stopping it; for anyone else they answer 403 and write nothing).
LIMITED_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"^/(login|api/session)$"), LOGIN),
    ("POST", re.compile(r"^/(signup|api/users)$"), SIGNUP),
    ("POST", re.compile(r"^/wiki/[^/]+/(edit|revert)$"), EDIT),
    ("POST", re.compile(r"^/(api/sync/)?conflicts/[^/]+/(resolve|discard)$"), EDIT),
    ("GET", re.compile(r"^/(api/)?search$"), SEARCH),
    ("GET", re.compile(r"^/wiki/[^/]+/related$"), SEARCH),
    ("GET", re.compile(r"^/api/bulk$"), SEARCH),
]
# Of these, the ones that search only when the query asks for it (`q`, and for bulk `scope=search`).
SEARCHES_ASKED_BY_QUERY = ("/search", "/api/search", "/api/bulk")
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
    """The times and costs of each key's recent hits; a key whose newest hit is older than the window is
    dropped. A hit costs 1 unless told otherwise (a push costs its number of ops)."""

    def __init__(self, rate: Rate, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.clock = clock
        self._hits: dict[str, deque[tuple[float, int]]] = {}
        self._spent: dict[str, int] = {}
        self._lock = threading.Lock()
        self._next_sweep = clock() + rate.seconds

    def hit(self, key: str, cost: int = 1) -> float | None:
        """Count one request for `key`; None when allowed, else the seconds to wait (nothing is counted)."""
        refused = self.spend([key], cost)
        return refused[1] if refused else None

    def spend(self, keys: list[str], cost: int = 1) -> tuple[str, float] | None:
        """Count `cost` for every key, or for none: the first key over the limit and the seconds it waits.

        A cost above the whole budget counts as the whole budget, so the largest push still goes through
        once its window is clear.
        """
        if self.rate.count == 0:
            return None
        cost = max(1, min(cost, self.rate.count))
        now = self.clock()
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            for key in keys:
                wait = self._wait(key, cost, now)
                if wait is not None:
                    return key, wait
            for key in keys:
                self._hits.setdefault(key, deque()).append((now, cost))
                self._spent[key] = self._spent.get(key, 0) + cost
            return None

    def _wait(self, key: str, cost: int, now: float) -> float | None:
        """None when `cost` fits in the key's window now, else how long until enough has slid out."""
        hits = self._hits.get(key)
        if not hits:
            return None
        while hits and hits[0][0] <= now - self.rate.seconds:
            self._spent[key] -= hits.popleft()[1]
        over = self._spent[key] + cost - self.rate.count
        if over <= 0:
            return None
        for at, spent in hits:
            over -= spent
            if over <= 0:
                return max(at + self.rate.seconds - now, 0.001)
        return float(self.rate.seconds)  # unreachable: cost is capped at the budget

    def _sweep(self, now: float) -> None:
        """Forget every key with no hit inside the window."""
        cutoff = now - self.rate.seconds
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1][0] <= cutoff]:
            del self._hits[key]
            del self._spent[key]
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

    def check(self, limit: str, address: str | None = None, account: str | None = None, cost: int = 1) -> None:
        """Count `cost` for the address and the account, or raise a 429 naming the wait and count nothing."""
        window = self.windows.get(limit)
        if window is None:
            return
        keys = [f"{who}:{key}" for who, key in (("this address", address), ("this account", account))
                if key is not None]
        refused = window.spend(keys, cost)
        if refused is not None:
            who, wait = refused[0].split(":", 1)[0], refused[1]
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


def _runs_a_search(path: str, query: bytes) -> bool:
    """The search form without `q`, or a bulk batch of another scope, searches nothing and costs nothing."""
    asked = parse_qs(query.decode("latin-1"))
    if not asked.get("q", [""])[0].strip():
        return False
    return path != "/api/bulk" or asked.get("scope", [""])[0] == "search"


def limit_for(method: str, path: str, query: bytes = b"") -> str | None:
    if method == "HEAD":
        method = "GET"  # a HEAD of a search runs the search too; only the body is left out
    for route_method, pattern, limit in LIMITED_ROUTES:
        if method == route_method and pattern.match(path):
            if path in SEARCHES_ASKED_BY_QUERY and not _runs_a_search(path, query):
                return None
            return limit
    return None


def _account(actor: Actor) -> str | None:
    return str(actor.user_id) if actor.signed_in else None


def rate_limit_middleware(app: ASGIApp) -> ASGIApp:
    """Counts each limited request by address and, when signed in, by account, before its handler runs."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        limit = None
        if scope["type"] == "http":
            limit = limit_for(scope.get("method", ""), scope.get("path", ""), scope.get("query_string", b""))
        if limit is not None:
            connection: ASGIConnection = ASGIConnection(scope)
            limiter: RateLimiter = connection.app.state.ratelimiter
            account = _account(request_actor(connection)) if limit in (EDIT, SEARCH) else None
            limiter.check(limit, address=client_address(connection), account=account)
        await app(scope, receive, send)

    return middleware


def check_push(connection: ASGIConnection, actor: Actor, ops: int) -> None:
    """Count a push as one edit per op (at least one), before any op is applied: a 429 records nothing."""
    connection.app.state.ratelimiter.check(EDIT, address=client_address(connection), account=_account(actor),
                                           cost=max(1, ops))


def check_login_account(connection: ASGIConnection, username: object) -> None:
    """Count a log-in attempt against the account name tried, from any address (slows password guessing).

    Keyed on `username_key`, built on the normalisation the account lookup uses: every spelling that could
    reach one account (composed or decomposed, any case) spends one budget.
    """
    if isinstance(username, str) and username.strip():
        connection.app.state.ratelimiter.check(LOGIN, account=username_key(username[:200]))
