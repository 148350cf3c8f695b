"""Request size limits on every route that takes a body: 413 in plain words, for JSON, forms and chunked uploads."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import bearer, sign_up
from litestar.testing import TestClient

from server.app import create_app
from server.settings import Settings

LIMIT = 20_000


@pytest.fixture
def small_client(settings: Settings) -> TestClient:
    with TestClient(create_app(replace(settings, max_body_bytes=LIMIT))) as client:
        yield client


@pytest.mark.parametrize("path", ["/api/sync/push", "/api/users", "/api/session", "/api/sync/conflicts/x/resolve",
                                  "/api/sync/checkpoints/phone"])
def test_json_bodies_over_the_limit_get_413(small_client: TestClient, path: str) -> None:
    token = sign_up(small_client)
    big = b'{"ops": [], "username": "' + b"x" * (LIMIT * 2) + b'"}'
    method = "PUT" if "checkpoints" in path else "POST"
    headers = {**bearer(token), "Content-Type": "application/json"}
    reply = small_client.request(method, path, content=big, headers=headers)
    assert reply.status_code == 413, (path, reply.status_code, reply.text[:200])
    assert reply.json()["detail"]


@pytest.mark.parametrize("path", ["/login", "/signup", "/wiki/welcome/edit", "/wiki/welcome/revert", "/logout"])
def test_form_bodies_over_the_limit_get_413(small_client: TestClient, path: str) -> None:
    reply = small_client.post(path, content=b"body=" + b"x" * (LIMIT * 2),
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status_code == 413, (path, reply.status_code)
    assert "Too large" in reply.text


def test_chunked_upload_without_length_is_cut_off(small_client: TestClient) -> None:
    token = sign_up(small_client)

    def chunks():
        for _ in range(10):
            yield b"x" * (LIMIT // 4)

    reply = small_client.post("/api/sync/push", content=chunks(),
                              headers={**bearer(token), "Content-Type": "application/json"})
    assert reply.status_code == 413
