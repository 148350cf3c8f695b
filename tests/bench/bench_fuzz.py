"""API fuzzing, the larger run: schemathesis against the OpenAPI schema of a real server (issue 6).

    python tests/bench/bench_fuzz.py [--examples 200] [--max-time 600] [--seed 6]

Starts `commonplace serve` on a free 127.0.0.1 port (fresh data, rate limits off, the hashing embedder), signs
up one account, and runs every schemathesis phase (examples, coverage, fuzzing, stateful) with the checks that
make a response wrong: a 5xx, a body that breaks the response schema, an undocumented content type. The suite
runs the same with 15 examples per operation (`tests/server/test_fuzz.py`). Undocumented status codes (a 401,
404 or 429 the schema does not list) are counted separately, from a second pass, and reported, not failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from loadgen import NO_LIMITS, serving

ROOT = Path(__file__).resolve().parents[2]
CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance"


def schemathesis(url: str, token: str, workdir: Path, checks: str, args: argparse.Namespace) -> tuple[int, str]:
    argv = [sys.executable, "-m", "schemathesis.cli", "run", f"{url}/schema/openapi.json", "--checks", checks,
            "--max-examples", str(args.examples), "--max-time", str(args.max_time), "--seed", str(args.seed),
            "--header", f"Authorization: Bearer {token}", "--exclude-method", "DELETE", "--generation-database",
            "none", "--no-color", "--workers", "1", "--request-timeout", "10", "--continue-on-failure"]
    done = subprocess.run(argv, cwd=workdir, capture_output=True, text=True, timeout=args.max_time * 2 + 300)
    return done.returncode, done.stdout + done.stderr


def summary(output: str) -> dict[str, object]:
    generated = re.search(r"(\d+) generated", output)
    failures = dict(re.findall(r"❌ (ST\d+ [^:]+): (\d+)", output))
    took = re.search(r"in ([\d.]+)s =+", output)
    return {"cases": int(generated.group(1)) if generated else 0, "failures": failures,
            "seconds": float(took.group(1)) if took else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--max-time", type=int, default=600)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cp-fuzz-") as tmp:
        env = {**os.environ, "COMMONPLACE_MODEL": "hashing", **NO_LIMITS}
        with serving(ROOT, Path(tmp) / "data", env) as (url, _):
            token = httpx.post(url + "/api/users", json={"username": "fuzzer", "password": "long enough"}
                               ).json()["token"]
            code, output = schemathesis(url, token, Path(tmp), CHECKS, args)
            _, status_output = schemathesis(url, token, Path(tmp), "status_code_conformance", args)
            alive = httpx.get(url + "/api/status").status_code == 200
    report = {"examples_per_operation": args.examples, "seed": args.seed, "checks": CHECKS,
              "result": summary(output), "exit_code": code, "server_alive_after": alive,
              "undocumented_status_codes": summary(status_output)["failures"]}
    print(json.dumps(report, indent=2))
    if code != 0:
        print(output[-8000:], file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
