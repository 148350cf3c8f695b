"""Sign-up and log-in, shared by the HTML forms, the JSON API and the CLI.

Password hashing runs outside the write transaction: argon2id is slow on purpose.
"""

from __future__ import annotations

from server.db import Database
from server.settings import Settings
from server.users import (
    ROLE_EDITOR,
    AccountError,
    check_password,
    clean_username,
    create_session,
    create_user,
    find_user,
    hash_password,
    verify_login,
)


def register(db: Database, username: str, password: str, role: str = ROLE_EDITOR) -> dict:
    username = clean_username(username)
    check_password(password)
    return db.write(create_user, username, hash_password(password), role)


def sign_up(db: Database, username: str, password: str, settings: Settings) -> str:
    """Create an account and return a new session token for it."""
    user = register(db, username, password)
    return db.write(create_session, user["id"], settings.session_days)


def log_in(db: Database, username: str, password: str, settings: Settings) -> str | None:
    """A new session token, or None when the name and password don't match (or the account is blocked)."""
    if not isinstance(username, str) or not isinstance(password, str) or len(password) > 1000:
        return None
    try:
        username = clean_username(username)
    except AccountError:
        username = ""
    user = db.read(find_user, username) if username else None
    if not verify_login(user, password) or user is None or user["blocked"]:
        return None
    return db.write(create_session, user["id"], settings.session_days)
