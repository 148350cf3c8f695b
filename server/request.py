"""The Request class the app builds for every HTTP call.

msgspec decodes JSON recursively and raises RecursionError (not a decode error) on a body nested
deeper than the stack allows: 1,000 `[` made every JSON route answer 500 and log a traceback, without
an account (issue 11, item 5). Here that becomes the 400 a malformed body gets.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import ClientException

TOO_DEEP = ("The JSON body is nested too deeply to read. Nothing was changed; "
            "send the fields this endpoint takes, as a flat object.")


class AppRequest(Request):
    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:
            raise ClientException(TOO_DEEP) from None
