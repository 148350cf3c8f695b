"""A byte budget for list replies (issue 11): a reply stops before it passes the budget and says where to go on.

Rows are taken one at a time from a live SQLite cursor and measured as the JSON they become, so a reply
holds about one budget's worth in the server however large the rows are (one reply of the changes feed with
bodies once took 110 MB and the server from 87 to 379 MB). The first row is always taken, so a client that
follows the cursor moves forward even past a row larger than the whole budget.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from litestar.serialization import encode_json

DEFAULT_MAX_REPLY_BYTES = 4_000_000

Row = dict[str, Any]


@dataclass
class Taken:
    items: list[Row]
    # A row was left behind (by the count limit or the budget): the client continues after `last_row`.
    more: bool
    last_row: Row | None


def take_within_budget(rows: Iterable[Row], budget: int, limit: int,
                       shape: Callable[[Row], Row] | None = None) -> Taken:
    """Up to `limit` rows, shaped into reply items, whose JSON fits in `budget` bytes (always at least one).

    `rows` should be a cursor, not a list: only the rows taken (and the one that did not fit) are read.
    """
    items: list[Row] = []
    used = 0
    last: Row | None = None
    for row in rows:
        if len(items) >= limit:
            return Taken(items, True, last)
        item = shape(row) if shape else row
        size = len(encode_json(item)) + 1  # the comma between items
        if items and used + size > budget:
            return Taken(items, True, last)
        items.append(item)
        used += size
        last = row
    return Taken(items, False, last)
