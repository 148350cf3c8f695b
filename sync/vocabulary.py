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

# A stored conflict is open until its author resolves it (a new revision) or discards their version.
CONFLICT_OPEN = "open"
CONFLICT_RESOLVED = "resolved"
CONFLICT_DISCARDED = "discarded"

# Reasons that come with `rejected`, and the plain words a person sees.
REASONS: dict[str, str] = {
    "invalid_op": "The change is malformed.",
    "login_required": "Log in to edit; your change is kept until you do.",
    "blocked": "This account is blocked from editing.",
    "protected": "This page is protected; only moderators can edit it.",
    "not_found": "There is no page with that name.",
    "exists": "A page with that title exists already; edit it instead.",
    "bad_title": "The title cannot be used.",
    "too_large": "The page is too large.",
    "unknown_base": "The revision this change starts from is not part of this page's history.",
    "op_id_taken": "This change id was already used by another account.",
}
