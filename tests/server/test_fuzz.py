"""API fuzzing: schemathesis against the OpenAPI schema a running server serves (issue 6).

A bounded run (seeded, a few examples per operation, all phases but the slow stateful one): no 5xx, and no
response whose body or content type breaks the schema. `tests/bench/bench_fuzz.py` runs the larger sweep.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
from conftest import start_server, stop_server

# Rate limits off: the fuzzer's own bursts would otherwise meet 429s instead of the code under test.
NO_LIMITS = {f"COMMONPLACE_RATE_{name}": "off" for name in ("LOGIN", "SIGNUP", "EDIT", "SEARCH")}
CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance"


def run_schemathesis(url: str, token: str, workdir: Path, max_examples: int, max_time: int, seed: int = 6,
                     phases: str = "examples,coverage,fuzzing") -> subprocess.CompletedProcess:
    """The schemathesis CLI with the checks that make a response wrong; DELETE /api/session would log it out.

    One worker: with two, hypothesis parses lambda sources in two threads at once, and CPython 3.11.7's `ast.parse`
    is not thread-safe (gh-106905: "AST constructor recursion depth mismatch"), which failed a CI run.
    """
    argv = [sys.executable, "-m", "schemathesis.cli", "run", f"{url}/schema/openapi.json", "--checks", CHECKS,
            "--max-examples", str(max_examples), "--max-time", str(max_time), "--seed", str(seed),
            "--phases", phases, "--header", f"Authorization: Bearer {token}", "--exclude-method", "DELETE",
            "--generation-database", "none", "--no-color", "--workers", "1", "--request-timeout", "10"]
    return subprocess.run(argv, cwd=workdir, capture_output=True, text=True, timeout=max_time + 120)


def generated_cases(output: str) -> int:
    match = re.search(r"(\d+) generated", output)
    return int(match.group(1)) if match else 0


def test_fuzzing_the_api_finds_no_server_error_and_no_schema_break(tmp_path: Path) -> None:
    server = start_server(tmp_path / "fuzz-data", env=NO_LIMITS)
    try:
        token = httpx.post(server.url + "/api/users", json={"username": "fuzzer", "password": "long enough"}
                           ).json()["token"]
        result = run_schemathesis(server.url, token, tmp_path, max_examples=15, max_time=30)
        assert httpx.get(server.url + "/api/status").status_code == 200  # still serving
    finally:
        stop_server(server)
    output = result.stdout + result.stderr
    cases = generated_cases(output)
    print(f"schemathesis: {cases} generated cases")
    assert cases >= 300, output[-3000:]
    assert result.returncode == 0, output[-6000:]
