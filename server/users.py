"""Accounts and sessions. Passwords are hashed with argon2id; only hashes of session tokens are stored."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.clock import now_iso, parse_iso
from server.db import Conn
from server.pages import new_uid

ROLE_EDITOR = "editor"
ROLE_MODERATOR = "moderator"
ROLES = (ROLE_EDITOR, ROLE_MODERATOR)
ANONYMOUS = "anonymous"
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1000
MAX_USERNAME_CHARS = 40

_USERNAME = re.compile(r"^[\w.-]+$")
# argon2id at OWASP's recommended floor (19 MiB, 2 passes, 1 lane): tens of milliseconds on a small
# server instead of argon2-cffi's default of about a second on 2 cores.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
# Verifying against this keeps log-in time the same whether or not the account exists.
_DUMMY_HASH = _hasher.hash("commonplace-no-such-user")


class AccountError(ValueError):
    """A sign-up or log-in problem, worded for the person who met it."""


@dataclass(frozen=True)
class Actor:
    """Who is making a request: an account, or nobody (user_id None)."""

    user_id: int | None
    username: str
    role: str = ROLE_EDITOR

    @property
    def is_moderator(self) -> bool:
        return self.role == ROLE_MODERATOR

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None


NOBODY = Actor(None, ANONYMOUS)


def normal_username(name: str) -> str:
    """The spelling accounts are stored and looked up by: NFC, without surrounding spaces."""
    return unicodedata.normalize("NFC", name).strip()


def username_key(name: str) -> str:
    """One key for every spelling of a name: `normal_username`, then case-folded beyond ASCII (`JOSÉ`,
    `josé` composed or decomposed, `STRASSE` and `straße` are one key each). The lookup folds ASCII case
    only (COLLATE NOCASE), so two accounts may share a key, never one account two (issue 11 item 7)."""
    return unicodedata.normalize("NFC", normal_username(name).casefold())


def clean_username(name: str) -> str:
    if not isinstance(name, str):
        raise AccountError("The username must be text.")
    name = normal_username(name)
    if not name:
        raise AccountError("Choose a username.")
    if len(name) > MAX_USERNAME_CHARS:
        raise AccountError(f"Usernames have at most {MAX_USERNAME_CHARS} characters.")
    if not _USERNAME.match(name) or name.lower() == ANONYMOUS:
        raise AccountError("Usernames may hold letters, digits, '.', '-' and '_' only.")
    if name.startswith(".") or not any(ch.isalnum() for ch in name):
        raise AccountError("Usernames need a letter or digit and may not start with '.'.")
    return name


def check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"Passwords need at least {MIN_PASSWORD_CHARS} characters.")
    if len(password) > MAX_PASSWORD_CHARS:
        raise AccountError(f"Passwords have at most {MAX_PASSWORD_CHARS} characters.")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(check_password(password))


def create_user(conn: Conn, username: str, password_hash: str, role: str = ROLE_EDITOR) -> dict[str, Any]:
    """Insert an account; the caller hashes the password outside the write transaction."""
    if role not in ROLES:
        raise AccountError(f"Unknown role {role!r}; use one of {', '.join(ROLES)}.")
    username = clean_username(username)
    if find_user(conn, username) is not None:
        raise AccountError("That username is taken; choose another.")
    conn.execute(
        "INSERT INTO users (uid, username, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?)",
        (new_uid(), username, password_hash, role, now_iso()),
    )
    return find_user(conn, username)


def find_user(conn: Conn, username: str) -> dict[str, Any] | None:
    sql = "SELECT id, uid, username, password_hash, role, blocked FROM users WHERE username = ?"
    return next(iter(conn.execute(sql, (username,))), None)


def verify_login(user: dict[str, Any] | None, password: str) -> bool:
    """True when the password matches; takes the same time for unknown accounts."""
    try:
        return _hasher.verify(user["password_hash"] if user else _DUMMY_HASH, password) and bool(user)
    except (VerificationError, InvalidHashError):
        return False


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_session(conn: Conn, user_id: int, days: int) -> str:
    token = secrets.token_urlsafe(32)
    now = now_iso()
    expires = (parse_iso(now) + timedelta(days=days)).isoformat().replace("+00:00", "Z")
    conn.execute(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        (_token_hash(token), user_id, now, expires),
    )
    return token


def actor_for_token(conn: Conn, token: str) -> Actor | None:
    sql = """SELECT u.id, u.username, u.role FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = ? AND s.expires_at > ? AND u.blocked = 0"""
    row = next(iter(conn.execute(sql, (_token_hash(token), now_iso()))), None)
    return Actor(row["id"], row["username"], row["role"]) if row else None


def delete_session(conn: Conn, token: str) -> None:
    conn.execute("DELETE FROM sessions WHERE token_hash = ?", (_token_hash(token),))


def is_blocked(conn: Conn, user_id: int) -> bool:
    """Read inside the write transaction that would add the account's edit (issue 11 item 3)."""
    row = next(iter(conn.execute("SELECT blocked FROM users WHERE id = ?", (user_id,))), None)
    return bool(row and row["blocked"])


def set_role(conn: Conn, username: str, role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"Unknown role {role!r}; use one of {', '.join(ROLES)}.")
    conn.execute("UPDATE users SET role = ? WHERE username = ?", (role, username))


def set_blocked(conn: Conn, username: str, blocked: bool) -> None:
    """Block or unblock an account. Blocking also ends its sessions and tokens, so unblocking needs a new log-in."""
    conn.execute("UPDATE users SET blocked = ? WHERE username = ?", (int(blocked), username))
    if blocked:
        conn.execute("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = ?)", (username,))


def count_users(conn: Conn) -> int:
    return next(iter(conn.execute("SELECT count(*) AS n FROM users")))["n"]
