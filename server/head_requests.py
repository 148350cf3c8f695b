"""HEAD answered like GET, without the body (issue 11, item 13: HEAD on `/` and `/wiki/{slug}` got 405).

Litestar routes HEAD only to handlers declared for it, and its router answers 405 before any of its
middleware runs, so this sits outside the app: the request goes in as a GET (through the page cache and
compression, so the headers, Content-Length included, are those a GET would get) and the body is dropped.
"""

from __future__ import annotations

from litestar.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] != "http.response.body":
                await send(message)
            elif not message.get("more_body", False):
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)
