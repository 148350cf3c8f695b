"""Loopback plumbing for the benchmarks: free ports, child processes that always die, HTTP checks, wrk runs."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

HOST = "127.0.0.1"
WRK_SCRIPT = Path(__file__).resolve().parent / "wrk_summary.lua"
# Benchmarks measure speed, not the abuse limits (issue #6): every rate limit off for the servers they start.
NO_LIMITS = {f"COMMONPLACE_RATE_{name}": "off" for name in ("LOGIN", "SIGNUP", "EDIT", "SEARCH")}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Children:
    """Child processes, each in its own process group, killed (group and all) on `stop` or `close`."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True)
        log.close()
        self.procs[name] = proc
        return proc

    def log_tail(self, name: str, lines: int = 20) -> str:
        path = self.log_dir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait(timeout=10)

    def close(self) -> None:
        for name in list(self.procs):
            self.stop(name)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    """Signal the child's process group, only while the child is unreaped (so the group id is still ours)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def fetch(url: str, headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """GET without following redirects or sending Accept-Encoding (like wrk); returns (status, headers, body)."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": "identity", **(headers or {})})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def post_json(url: str, payload: dict, timeout: float = 30) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, {"detail": exc.read().decode(errors="replace")}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def wait_until_serving(children: Children, name: str, url: str, timeout: float = 90) -> None:
    proc = children.procs[name]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{children.log_tail(name)}")
        try:
            status, _, _ = fetch(url, timeout=2)
            if status < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not answer {url} within {timeout:.0f} s:\n{children.log_tail(name)}")


@dataclass
class WrkResult:
    url: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    bytes_per_request: float
    errors: dict[str, int]


def run_wrk(url: str, *, threads: int, connections: int, duration: int,
            headers: dict[str, str] | None = None) -> WrkResult:
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(WRK_SCRIPT)]
    for key, value in (headers or {}).items():
        argv += ["-H", f"{key}: {value}"]
    done = subprocess.run(argv + [url], capture_output=True, text=True, timeout=duration + 60, check=True)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary for {url}:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line.removeprefix("WRKJSON "))
    seconds = raw["duration_us"] / 1e6
    lat = raw["latency_us"]
    return WrkResult(url=url, requests=raw["requests"], seconds=round(seconds, 2),
                     rps=round(raw["requests"] / seconds, 1), p50_ms=lat["p50"] / 1000, p90_ms=lat["p90"] / 1000,
                     p99_ms=lat["p99"] / 1000, max_ms=lat["max"] / 1000,
                     bytes_per_request=round(raw["bytes"] / max(raw["requests"], 1), 1), errors=raw["errors"])


KEEP_ALIVE_S = 4


class RawConnections:
    """A fixed pool of keep-alive HTTP/1.1 connections on plain asyncio streams, for the open-loop run.

    httpx spends about a millisecond of CPU a request, which on a shared 2-core machine made the generator,
    not the server, fall seconds behind its schedule at 100 requests a second. This sends a request and
    reads the status and the body (by Content-Length or chunked), nothing more.
    """

    def __init__(self, host: str, port: int, size: int) -> None:
        import asyncio

        self.host, self.port = host, port
        self.idle: asyncio.Queue = asyncio.Queue()
        for _ in range(size):
            self.idle.put_nowait(None)  # a slot; the connection is opened on first use

    async def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                      body: bytes = b"") -> tuple[int, bytes]:
        import asyncio

        conn = await self.idle.get()
        try:
            # uvicorn closes a connection idle for 5 s (its keep-alive timeout): open a new one before that.
            if conn is not None and time.monotonic() - conn[2] > KEEP_ALIVE_S:
                conn[1].close()
                conn = None
            if conn is None:
                conn = (*await asyncio.open_connection(self.host, self.port), 0.0)
            reader, writer, _ = conn
            lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
            lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            status, reply = await _read_reply(reader)
        except BaseException:
            if conn is not None:
                conn[1].close()
            self.idle.put_nowait(None)
            raise
        self.idle.put_nowait((reader, writer, time.monotonic()))
        return status, reply

    async def close(self) -> None:
        while not self.idle.empty():
            conn = self.idle.get_nowait()
            if conn is not None:
                conn[1].close()


async def _read_reply(reader: object) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        return int(status_line.split()[1]), await reader.readexactly(int(headers["content-length"]))
    body = b""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            body += (await reader.readexactly(size + 2))[:-2]
            if size == 0:
                break
    return int(status_line.split()[1]), body


@contextmanager
def serving(tree: Path, data: Path, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """`commonplace serve` from `tree` on a free port (waits until it answers), until the block ends; yields its
    URL and process id. `env` is the whole environment of the server."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--data",
                               str(data)], cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                if httpx.get(url + "/api/status", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield url, server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)
