"""Settings: one frozen dataclass, read from the environment (COMMONPLACE_*)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from server.reply_budget import DEFAULT_MAX_REPLY_BYTES

ENV_PREFIX = "COMMONPLACE_"


def _as_bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Every setting the app reads; README's settings table is checked against these fields."""

    data: Path = field(default=Path("data"), metadata={"help": "Data directory holding the SQLite file."})
    host: str = field(default="127.0.0.1", metadata={"help": "Address `serve` listens on."})
    port: int = field(default=8000, metadata={"help": "Port `serve` listens on."})
    anonymous_edits: bool = field(
        default=False, metadata={"help": "Allow edits without an account (attributed to `anonymous`)."}
    )
    session_days: int = field(
        default=60, metadata={"help": "How long a session or API token lasts, in days."}
    )
    secure_cookies: bool = field(
        default=False, metadata={"help": "Mark cookies `Secure` (turn on behind HTTPS)."}
    )
    max_body_bytes: int = field(
        default=1_000_000, metadata={"help": "Largest request body accepted, in bytes."}
    )
    max_page_bytes: int = field(
        default=200_000, metadata={"help": "Largest page body accepted, in bytes of UTF-8."}
    )
    max_reply_bytes: int = field(
        default=DEFAULT_MAX_REPLY_BYTES,
        metadata={"help": "Byte budget of one list reply (changes, conflicts, checkpoints, history, bulk)."},
    )
    site_name: str = field(default="Commonplace", metadata={"help": "Name shown in the header."})
    licence: str = field(
        default="CC BY-SA 4.0", metadata={"help": "Licence of contributions, shown in the footer."}
    )
    model: str = field(
        default="all-MiniLM-L6-v2",
        metadata={"help": "Embedding model: `all-MiniLM-L6-v2` (the installed package), `hashing`, or a folder."},
    )
    seed: bool = field(
        default=True, metadata={"help": "Load the starter commons into an empty database."}
    )
    # Rate limits, COUNT/SECONDS per client address and per account (`off` for none); see server/ratelimit.py.
    rate_login: str = field(
        default="10/60", metadata={"help": "Log-in attempts per address and per account name."}
    )
    rate_signup: str = field(default="20/3600", metadata={"help": "Sign-ups per address."})
    rate_edit: str = field(
        default="120/60", metadata={"help": "Pushes and edit-form saves per address and per account."}
    )
    rate_search: str = field(default="300/60", metadata={"help": "Searches per address and per account."})
    page_cache_bytes: int = field(
        default=32 * 1024 * 1024,
        metadata={"help": "Memory for page views kept ready (with their compressed copies), in bytes; 0 for none."},
    )

    @property
    def db_path(self) -> Path:
        return self.data / "commonplace.db"

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Read `COMMONPLACE_<NAME>` variables; keyword overrides (from the CLI) win."""
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = os.environ.get(ENV_PREFIX + f.name.upper())
            if raw is None:
                continue
            if f.type in ("bool", bool):
                values[f.name] = _as_bool(raw)
            elif f.type in ("int", int):
                values[f.name] = int(raw)
            elif f.type in ("Path", Path):
                values[f.name] = Path(raw)
            else:
                values[f.name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "data" in values:
            values["data"] = Path(values["data"])
        return cls(**values)
