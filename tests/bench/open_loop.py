"""The open-loop part of `bench_load.py` (issue 11, "Also"): requests at a fixed arrival rate, whatever the replies.

A closed loop (N clients, each waiting for its answer) only measures N ÷ throughput once the server is
saturated, and a slow answer delays the requests that would have come after it, so the slowness is never
seen (coordinated omission). Here each request has a scheduled send time drawn in advance (Poisson
arrivals at the rate asked), is sent at that time on its own task however many are still waiting, and its
latency runs from the scheduled time, not from when it was actually sent. How late the generator itself was
in sending (`send_lag`) is reported, so a run where the generator could not keep up shows it.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import httpx
from loadgen import RawConnections

# The mix of one request: what a wiki on a LAN mostly sees. Each kind's share of the arrivals.
MIX = (("anonymous view", 0.55), ("signed-in view", 0.20), ("search", 0.15), ("push", 0.10))
QUERIES = ["list files", "compress a folder", "network", "git commit", "docker", "find text", "disk usage",
           "copy", "process", "archive"]
LINES_PER_PAGE = 40
# An answer later than this after its scheduled time counts as an error (`timeout`): a person has given up,
# and waiting longer would only make an overloaded run drain for minutes.
TIMEOUT_S = 10


def percentile(sorted_seconds: list[float], q: float) -> float | None:
    if not sorted_seconds:
        return None
    return round(sorted_seconds[min(len(sorted_seconds) - 1, int(q * len(sorted_seconds)))] * 1000, 1)


@dataclass
class Editor:
    """One account editing its own page: each push changes one line of the last text it knows to be the
    head (`lines` at `rev`), a different line each time, so pushes sent before the last answer came back
    merge cleanly instead of waiting their turn."""

    token: str
    slug: str
    rev: str
    lines: list[str]
    count: int = 0

    def next_op(self) -> tuple[dict, list[str]]:
        self.count += 1
        lines = list(self.lines)
        lines[self.count % LINES_PER_PAGE] = f"Line {self.count % LINES_PER_PAGE}, edit {self.count}."
        op = {"op_id": str(uuid.uuid4()), "slug": self.slug, "base_rev": self.rev, "body": "\n".join(lines),
              "summary": f"open-loop edit {self.count}"}
        return op, lines


@dataclass
class Actors:
    """The timed requests share one pool of connections; who is asking is in each request's headers."""

    connections: RawConnections
    reader_cookies: list[str]
    editors: list[Editor]


@dataclass
class RateResult:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    lags: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    statuses: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def make_actors(url: str, readers: int, editors: int, connections: int) -> Actors:
    """Signed-in readers send a session cookie like a browser; editors push with a bearer token."""
    cookies = []
    for number in range(readers):
        reply = httpx.post(url + "/api/users", json={"username": f"openreader{number}", "password": "long enough"})
        reply.raise_for_status()
        cookies.append("; ".join(f"{name}={value}" for name, value in reply.cookies.items()))
    editor_list = []
    for number in range(editors):
        reply = httpx.post(url + "/api/users", json={"username": f"openeditor{number}", "password": "long enough"})
        token = reply.json()["token"]
        lines = [f"Line {n}." for n in range(LINES_PER_PAGE)]
        made = httpx.post(url + "/api/sync/push", headers={"Authorization": f"Bearer {token}"}, json={"ops": [
            {"op_id": str(uuid.uuid4()), "base_rev": None, "title": f"Open loop page {number}",
             "body": "\n".join(lines)}]})
        first = made.json()["results"][0]
        editor_list.append(Editor(token, first["slug"], first["rev"], lines))
    parts = urlsplit(url)
    return Actors(RawConnections(parts.hostname, parts.port, connections), cookies, editor_list)


async def one_request(kind: str, actors: Actors, slugs: list[str], rng: random.Random, scheduled: float,
                      result: RateResult) -> None:
    result.lags.append(time.perf_counter() - scheduled)
    try:
        await asyncio.wait_for(send(kind, actors, slugs, rng, scheduled, result),
                               scheduled + TIMEOUT_S - time.perf_counter())
    except TimeoutError:
        result.errors[f"{kind}: timeout"] += 1


async def send(kind: str, actors: Actors, slugs: list[str], rng: random.Random, scheduled: float,
               result: RateResult) -> None:
    editor = None
    pool = actors.connections
    try:
        if kind == "anonymous view":
            status, body = await pool.request("GET", f"/wiki/{rng.choice(slugs)}")
        elif kind == "signed-in view":
            status, body = await pool.request("GET", f"/wiki/{rng.choice(slugs)}",
                                              {"Cookie": rng.choice(actors.reader_cookies)})
        elif kind == "search":
            query = urlencode({"q": rng.choice(QUERIES), "mode": rng.choice(["hybrid", "lexical"])})
            status, body = await pool.request("GET", f"/api/search?{query}")
        else:
            editor = rng.choice(actors.editors)
            op, lines = editor.next_op()
            status, body = await pool.request(
                "POST", "/api/sync/push", {"Authorization": f"Bearer {editor.token}",
                                           "Content-Type": "application/json"},
                json.dumps({"device_id": "open-loop", "ops": [op]}).encode())
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        result.errors[f"{kind}: {type(exc).__name__}"] += 1
        return
    result.latencies[kind].append(time.perf_counter() - scheduled)
    if status != 200:
        result.errors[f"{kind}: {status}"] += 1
        return
    if editor is not None:
        answer = json.loads(body)["results"][0]
        result.statuses[answer["status"]] += 1
        if answer["status"] == "applied":  # a merge's text is not in the answer: keep the older known head
            editor.rev, editor.lines = answer["rev"], lines
        elif answer["status"] != "merged":
            result.errors[f"push: {answer['status']}"] += 1


async def run_rate(actors: Actors, slugs: list[str], rate: float, seconds: float, seed: int) -> dict:
    """Send Poisson arrivals at `rate` per second for `seconds`, then wait for the last answers."""
    rng = random.Random(seed)
    kinds, weights = zip(*MIX, strict=True)
    result = RateResult()
    tasks = []
    start = time.perf_counter() + 0.2
    at = start
    while True:
        at += rng.expovariate(rate)
        if at - start >= seconds:
            break
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        kind = rng.choices(kinds, weights)[0]
        tasks.append(asyncio.create_task(one_request(kind, actors, slugs, random.Random(rng.random()), at, result)))
    await asyncio.gather(*tasks)
    took = time.perf_counter() - start
    everything = sorted(x for values in result.latencies.values() for x in values)
    lags = sorted(result.lags)
    row = {"rate": rate, "seconds": seconds, "sent": len(tasks), "answered": len(everything),
           "answered_per_s": round(len(everything) / took, 1), "errors": sum(result.errors.values()),
           "error_kinds": dict(result.errors), "push_statuses": dict(result.statuses),
           "p50_ms": percentile(everything, 0.50), "p95_ms": percentile(everything, 0.95),
           "p99_ms": percentile(everything, 0.99), "max_ms": percentile(everything, 1.0),
           "send_lag_p99_ms": percentile(lags, 0.99), "kinds": {}}
    for kind, values in sorted(result.latencies.items()):
        values.sort()
        row["kinds"][kind] = {"requests": len(values), "p50_ms": percentile(values, 0.50),
                              "p95_ms": percentile(values, 0.95), "p99_ms": percentile(values, 0.99)}
    return row


async def settle(pool: RawConnections, pause: float) -> None:
    """Wait until the server answers at once again: requests given up on are still being served."""
    await asyncio.sleep(pause)
    for _ in range(120):
        started = time.perf_counter()
        await pool.request("GET", "/api/status")
        if time.perf_counter() - started < 0.2:
            return
        await asyncio.sleep(1)


async def run_open_loop(actors: Actors, slugs: list[str], rates: list[float], seconds: float,
                        pause: float) -> list[dict]:
    rows = []
    try:
        for number, rate in enumerate(rates):
            await settle(actors.connections, pause)
            rows.append(await run_rate(actors, slugs, rate, seconds, seed=number))
    finally:
        await actors.connections.close()
    return rows
