"""The database: one writer thread owns the only write connection; reads use per-thread connections.

apsw is the binding because this Python's `sqlite3` cannot load extensions and apsw bundles a
current SQLite (3.54, FTS5 included) that loads sqlite-vec on every platform we ship to.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import apsw
import sqlite_vec

from search import tokenizer
from server.migrations import migrate

T = TypeVar("T")
Conn = apsw.Connection


def dict_row(cursor: apsw.Cursor, row: tuple) -> dict[str, Any]:
    return {d[0]: v for d, v in zip(cursor.get_description(), row, strict=True)}


def connect(path: Path, readonly: bool = False) -> apsw.Connection:
    """Open a connection with the pragmas every connection needs, sqlite-vec loaded and the word tokenizer known."""
    flags = apsw.SQLITE_OPEN_READONLY if readonly else apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE
    conn = apsw.Connection(str(path), flags=flags)
    conn.set_busy_timeout(10_000)
    conn.enable_load_extension(True)
    conn.load_extension(sqlite_vec.loadable_path())
    conn.enable_load_extension(False)
    tokenizer.register(conn)  # chunks_fts uses it (migration 8): every read, write and trigger needs it
    conn.row_trace = dict_row
    conn.execute("PRAGMA foreign_keys = ON")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        # FULL: an acknowledged op must survive a crash right after the reply (sync rule 4).
        conn.execute("PRAGMA synchronous = FULL")
    return conn


class Database:
    """Serialises writes through one thread (BEGIN IMMEDIATE per task) and hands out read connections."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tasks: queue.Queue = queue.Queue()
        self._local = threading.local()
        self._readers: list[apsw.Connection] = []
        self._readers_lock = threading.Lock()
        self._write_conn = connect(self.path)
        migrate(self._write_conn)
        self._thread = threading.Thread(target=self._run_writer, name="commonplace-writer", daemon=True)
        self._thread.start()

    def _run_writer(self) -> None:
        conn = self._write_conn
        while True:
            task = self._tasks.get()
            if task is None:
                break
            fn, args, kwargs, future = task
            if not future.set_running_or_notify_cancel():
                continue
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = fn(conn, *args, **kwargs)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except BaseException as exc:  # handed to the caller, never lost in the thread
                future.set_exception(exc)
            else:
                future.set_result(result)
        conn.close()

    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        self._tasks.put((fn, args, kwargs, future))
        return future

    def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn(conn, ...)` in one write transaction on the writer thread; return its result."""
        return self.submit(fn, *args, **kwargs).result()

    def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn(conn, ...)` on this thread's read-only connection, inside one read snapshot."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, readonly=True)
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        conn.execute("BEGIN")
        try:
            return fn(conn, *args, **kwargs)
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        self._tasks.put(None)
        self._thread.join(timeout=30)
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
