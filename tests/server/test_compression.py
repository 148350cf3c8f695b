"""Every HTML and JSON reply travels compressed when the client accepts it (issue 10, item 10), signed in too."""

from __future__ import annotations

import gzip
import json
import re
from typing import Any

import brotli
import httpx
import pytest
from conftest import LiveServer

from server.compression import chosen_encoding

DECODE = {"br": brotli.decompress, "gzip": gzip.decompress}
PER_REQUEST = re.compile(rb'(name="(?:csrf[-_]token|op_id)" (?:content|value)=")[^"]*"')
SEARCH_TIME = re.compile(rb"\(\d+ ms\)")


def without_tokens(page: bytes) -> bytes:
    """Pages carry a fresh CSRF token (and edit forms an op id) per request, search results their time."""
    return SEARCH_TIME.sub(b"", PER_REQUEST.sub(rb'\1"', page))


def raw_get(url: str, accept: str, **headers: str) -> tuple[httpx.Response, bytes]:
    """The reply and its body as it came over the wire (httpx would decode it otherwise)."""
    with httpx.Client(headers={"Accept-Encoding": accept, **headers}) as client, client.stream("GET", url) as reply:
        return reply, b"".join(reply.iter_raw())


@pytest.fixture
def contributor(live_server: LiveServer) -> dict[str, Any]:
    reply = httpx.post(live_server.url + "/api/users", json={"username": "ada", "password": "correct horse"})
    assert reply.status_code == 201, reply.text
    token = reply.json()["token"]
    op = {"op_id": "op-1", "type": "edit", "slug": None, "title": "Shopping list", "base_rev": None,
          "summary": "start", "body": "Things to buy at the market.\n\n" + "- milk\n- eggs\n- bread\n" * 40}
    pushed = httpx.post(live_server.url + "/api/sync/push", json={"device_id": "d", "ops": [op]},
                        headers={"Authorization": f"Bearer {token}"})
    assert pushed.status_code == 200, pushed.text
    return {"cookie": f"cp_session={token}", "slug": pushed.json()["results"][0]["slug"]}


def test_signed_in_pages_and_json_come_compressed_and_decode_to_the_same_bytes(
    live_server: LiveServer, contributor: dict[str, Any]
) -> None:
    slug = contributor["slug"]
    paths = [f"/wiki/{slug}", "/wiki", "/changes", f"/wiki/{slug}/history", "/search?q=milk",
             f"/wiki/{slug}/edit", "/new", f"/api/pages/{slug}", "/api/pages/how-to-edit", "/schema/openapi.json"]
    for path in paths:
        plain, plain_body = raw_get(live_server.url + path, "identity", Cookie=contributor["cookie"])
        assert plain.status_code == 200, path
        assert "content-encoding" not in plain.headers, path
        assert "Accept-Encoding" in plain.headers.get("vary", ""), path
        for encoding in ("br", "gzip"):
            reply, body = raw_get(live_server.url + path, encoding, Cookie=contributor["cookie"])
            assert reply.headers.get("content-encoding") == encoding, f"{path} with {encoding}"
            assert "Accept-Encoding" in reply.headers["vary"], path
            assert int(reply.headers["content-length"]) == len(body) < len(plain_body), path
            decoded = DECODE[encoding](body)
            if path.startswith(("/api/", "/schema")):
                assert json.loads(decoded) == json.loads(plain_body), path
            elif path.startswith("/search"):
                # Results (their number, order, snippets) may differ between two searches while the index settles.
                main = b'<main id="main"'
                assert without_tokens(decoded).split(main)[0] == without_tokens(plain_body).split(main)[0], path
                # A list of results, or of the closest pages when nothing matched well (the hashing stand-in's
                # cosines are low, and the index may still be settling).
                assert b'<ol class="results' in decoded and decoded.endswith(b"</html>\n"), path
            else:
                assert without_tokens(decoded) == without_tokens(plain_body), path


def test_error_pages_made_by_exception_handlers_are_compressed(live_server: LiveServer) -> None:
    reply, body = raw_get(live_server.url + "/wiki/no-such-page/history", "br")
    assert reply.status_code == 404
    assert reply.headers["content-encoding"] == "br"
    assert b"Not found" in brotli.decompress(body)


def test_replies_that_chose_their_encoding_are_not_compressed_twice(live_server: LiveServer) -> None:
    # The page cache (anonymous articles) and /api/bulk compress themselves.
    for path in ("/wiki/how-to-edit", "/api/bulk?scope=all&limit=50"):
        reply, body = raw_get(live_server.url + path, "br, gzip")
        assert reply.headers["content-encoding"] == "br", path
        decoded = brotli.decompress(body)
        assert decoded.lstrip().startswith((b"<!doctype", b"{")), path


def test_tiny_replies_and_refused_codings_stay_plain(live_server: LiveServer) -> None:
    reply, body = raw_get(live_server.url + "/api/status", "br, gzip")
    assert len(body) < 512 and "content-encoding" not in reply.headers
    reply, _ = raw_get(live_server.url + "/wiki", "br;q=0, gzip;q=0")
    assert "content-encoding" not in reply.headers


def test_brotli_is_preferred_and_q_zero_refuses_a_coding() -> None:
    assert chosen_encoding(b"gzip, deflate, br, zstd") == "br"
    assert chosen_encoding(b"br;q=0, gzip") == "gzip"
    assert chosen_encoding(b"identity") is None
    assert chosen_encoding(b"") is None


REFUSALS = ("gzip;q=0", "*;q=0", "br;q=0, gzip;q=0", "gzip;q=0, identity", "gzip;level=1;q=0")


def test_a_refused_coding_is_never_sent(live_server: LiveServer) -> None:
    """Issue 11, item 13: `gzip;q=0` was served gzip by the changes feed, the shell's pages and /sw.js."""
    paths = ("/", "/wiki/how-to-edit", "/wiki", "/login", "/offline", "/sw.js", "/api/pages/welcome",
             "/api/sync/changes?include=body,html")
    for path in paths:
        for accept in REFUSALS:
            reply, body = raw_get(live_server.url + path, accept)
            assert reply.status_code == 200 and "content-encoding" not in reply.headers, (path, accept)
            assert len(body) >= 512, path  # long enough that it would have been compressed
        reply, body = raw_get(live_server.url + path, "br;q=0, gzip")
        assert reply.headers["content-encoding"] == "gzip", path
        gzip.decompress(body)


def test_q_values_rank_codings_and_star_stands_for_the_rest() -> None:
    assert chosen_encoding(b"gzip;q=0") is None
    assert chosen_encoding(b"*;q=0") is None
    assert chosen_encoding(b"gzip;level=1;q=0") is None
    assert chosen_encoding(b"*") == "br"
    assert chosen_encoding(b"br;q=0.5, *") == "gzip"
    assert chosen_encoding(b"gzip;q=1, br;q=0.5") == "gzip"
    assert chosen_encoding(b"GZIP;Q=0.2") == "gzip"
    assert chosen_encoding("br, gzip", ("gzip",)) == "gzip"
    assert chosen_encoding(b"gzip;q=oops") is None
