"""The server side of the page-view benchmark, run as its own process by `bench_pageview.py`.

    python tests/bench/launch_server.py commonplace --port N --data DIR [--pwa DIR] [--extra-static DIR]
    python tests/bench/launch_server.py whitenoise  --port N --data DIR [--pwa DIR]

In both modes `--pwa` makes `build_static` read a snapshot of `pwa/` taken when the benchmark started, so
both servers of one run serve identical files (and the same hashed names in the HTML) even while someone
edits `pwa/` during the run.

`commonplace` runs the real CLI entry point (`server.cli.main(["serve", ...])`, i.e. `commonplace serve`:
`create_asgi` + `uvicorn.run` with the CLI's own options). The only change is that the files of
`--extra-static` are copied into the built static folder (`<data>/static-<build id>/bench/`) right after
`build_static` returns and before `ServeStaticASGI` indexes it, so the same process serves them at
`/static/bench/...`. This is needed because servestatic (autorefresh off) only knows the files present
when it is constructed.

`whitenoise` builds the real Litestar app with `create_app` and registers a mount at `/static` that hands
the request to WhiteNoise 6 through a2wsgi. Litestar strips the mount prefix from `scope["path"]`, so the
mount restores the full path from `raw_path` (WhiteNoise matches on `static/`). Served by uvicorn with
the same options as `commonplace serve`.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote


def patch_build_static(pwa: Path | None, extra_static: Path | None) -> None:
    """Make `create_app` build the static folder from `pwa` and then add `extra_static` under bench/."""
    import server.app

    build_static = server.app.build_static

    def build_static_for_bench(parent: Path, *args: Any, **kwargs: Any) -> tuple[Path, dict[str, str]]:
        if pwa is not None:
            kwargs["pwa_dir"] = pwa
        out_dir, names = build_static(parent, *args, **kwargs)
        if extra_static is not None:
            shutil.copytree(extra_static, out_dir / "bench", dirs_exist_ok=True)
        return out_dir, names

    server.app.build_static = build_static_for_bench


def serve_commonplace(port: int, data: Path) -> None:
    from server.cli import main

    main(["serve", "--host", "127.0.0.1", "--port", str(port), "--data", str(data)])


def serve_whitenoise(port: int, data: Path) -> None:
    import uvicorn
    from a2wsgi import WSGIMiddleware
    from litestar.handlers import asgi
    from whitenoise import WhiteNoise

    from server.app import create_app
    from server.settings import Settings
    from server.static_build import HASHED_NAME

    def not_found(environ: dict, start_response: Any) -> list[bytes]:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not Found"]

    settings = Settings.from_env(data=data, host="127.0.0.1", port=port)
    app = create_app(settings)
    whitenoise = WhiteNoise(not_found, root=app.state.static_dir, prefix="static/", max_age=3600,
                            immutable_file_test=HASHED_NAME)
    bridge = WSGIMiddleware(whitenoise)

    @asgi("/static", is_mount=True, copy_scope=True)
    async def static_files(scope: dict, receive: Any, send: Any) -> None:
        scope["path"] = unquote(scope["raw_path"].decode("latin-1"))
        await bridge(scope, receive, send)

    app.register(static_files)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False, server_header=False)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["commonplace", "whitenoise"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--pwa", type=Path, default=None)
    parser.add_argument("--extra-static", type=Path, default=None)
    args = parser.parse_args(argv)
    patch_build_static(args.pwa, args.extra_static)
    if args.mode == "commonplace":
        serve_commonplace(args.port, args.data)
    else:
        serve_whitenoise(args.port, args.data)


if __name__ == "__main__":
    # Run as a script, so the project root (for `server`) comes from the editable install, not sys.path[0].
    main(sys.argv[1:])
