"""server/request.py: a JSON body nested too deeply answers 400 on every JSON route, and logs nothing."""

from __future__ import annotations

import logging
import re

import pytest
from conftest import bearer, sign_up
from litestar.testing import TestClient

DEEP = b"[" * 1000
DEEP_OBJECT = b'{"a":' * 1000


def _json_routes(client: TestClient) -> list[tuple[str, str]]:
    """Every API route whose handler reads a body, with its path parameters filled in."""
    found = []
    for route in client.app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if route.path.startswith("/api") and "data" in handler.parsed_fn_signature.parameters:
                found += [(method, re.sub(r"\{[^}]+\}", "x", route.path)) for method in sorted(handler.http_methods)]
    return found


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
def test_deeply_nested_json_is_a_400_without_a_traceback(client: TestClient, body: bytes,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    token = sign_up(client)
    routes = _json_routes(client)
    assert ("POST", "/api/sync/push") in routes and ("POST", "/api/session") in routes
    for method, path in routes:
        for headers in ({}, bearer(token)):
            caplog.clear()
            with caplog.at_level(logging.ERROR):
                reply = client.request(method, path, content=body,
                                       headers={"content-type": "application/json", **headers})
            assert reply.status_code == 400, (method, path, reply.status_code, reply.text)
            assert "nested too deeply" in reply.json()["detail"]
            assert not [r for r in caplog.records if r.levelno >= logging.ERROR], (method, path)
