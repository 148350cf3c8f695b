"""JSON API: search the commons."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get
from litestar.exceptions import ClientException, TooManyRequestsException

from search.ranking import MODES
from search.service import MAX_LIMIT, MAX_QUERY_CHARS, SearchService


def check_query(q: str, limit: int, mode: str) -> None:
    if len(q) > MAX_QUERY_CHARS:
        raise ClientException(f"Search for at most {MAX_QUERY_CHARS} characters.")
    if not 1 <= limit <= MAX_LIMIT:
        raise ClientException(f"limit must be between 1 and {MAX_LIMIT}.")
    if mode not in MODES:
        raise ClientException(f"mode must be one of {', '.join(MODES)}.")


class SearchApiController(Controller):
    path = "/api"
    tags = ["search"]

    @get("/search", sync_to_thread=True, raises=[TooManyRequestsException])
    def search_pages(self, search: SearchService, q: str = "", limit: int = 10, mode: str = "hybrid") -> dict[str, Any]:
        """Pages matching `q`, best first, each with a snippet. `mode`: hybrid (default), semantic or lexical.

        Without a model (still loading, or unavailable) every mode answers with word matches and says so in
        `notice`.
        """
        check_query(q, limit, mode)
        return search.search(q, limit, mode)
