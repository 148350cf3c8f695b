"""The sync protocol's names: op types, result statuses and rejection reasons (one definition each)."""

from __future__ import annotations

OP_EDIT = "edit"
OP_TYPES = (OP_EDIT,)

APPLIED = "applied"
DUPLICATE = "duplicate"
MERGED = "merged"
CONFLICT = "conflict"
REJECTED = "rejected"
STATUSES = (APPLIED, DUPLICATE, MERGED, CONFLICT, REJECTED)

# A stored conflict is open until its author resolves it (a new revision) or discards their version, or a
# later edit by the same author, made on top of it (`after_op`), replaces it: the author resolves once.
CONFLICT_OPEN = "open"
CONFLICT_RESOLVED = "resolved"
CONFLICT_DISCARDED = "discarded"
CONFLICT_SUPERSEDED = "superseded"
CONFLICT_STATUSES = (CONFLICT_OPEN, CONFLICT_RESOLVED, CONFLICT_DISCARDED, CONFLICT_SUPERSEDED)

# A conflict id that is not the caller's is answered as one that does not exist, on the API and the HTML
# pages alike: the answer must not tell which ids exist (issue 11, item 13).
NO_SUCH_CONFLICT = "There is no conflict with that id among yours. Open your conflicts list to see them."

# Reasons that come with `rejected`, and the plain words a person sees.
REASONS: dict[str, str] = {
    "invalid_op": "The change is malformed.",
    "login_required": "Log in to edit; your change is kept until you do.",
    "blocked": "This account is blocked from editing.",
    "protected": "This page is protected; only moderators can edit it.",
    "not_found": "There is no page with that name.",
    "bad_title": "The title cannot be used.",
    "too_large": "The page is too large.",
    "unknown_base": "The revision this change starts from is not part of this page's history.",
    "op_id_taken": "This change id was already used by another account.",
}

# Warnings that may come with a result that wrote (`warning`), and the plain words a person sees.
CONFUSABLE = "confusable"
WARNINGS: dict[str, str] = {
    CONFUSABLE: "A page whose title looks the same already exists.",
}


def format_size(n_bytes: int) -> str:
    """A size as people read it: under 1,000,000 bytes, whole kB (`200 kB`); from there, MB with one decimal
    (`1.3 MB`). Decimal units, as phones show storage; halves round up, in integers, so that the browser's
    `Math.round(n / 1000) + " kB"` and `(Math.round(n / 1e5) / 10).toFixed(1) + " MB"` give the same words."""
    if n_bytes < 1_000_000:
        return f"{(n_bytes + 500) // 1000} kB"
    tenths = (n_bytes + 50_000) // 100_000
    return f"{tenths // 10}.{tenths % 10} MB"


def too_large_message(n_bytes: int, limit_bytes: int) -> str:
    """`The page is too large (1.3 MB; the limit is 200 kB).`, the same words online and offline."""
    return f"The page is too large ({format_size(n_bytes)}; the limit is {format_size(limit_bytes)})."
