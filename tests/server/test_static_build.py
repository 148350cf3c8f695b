"""The static build: hashed names, compressed variants, reuse, and several processes starting at once."""

from __future__ import annotations

import threading
from pathlib import Path

from server.static_build import build_static


def test_build_hashes_compresses_and_is_reused(tmp_path: Path) -> None:
    out, names = build_static(tmp_path)
    hashed = out / names["css/app.css"]
    assert hashed.exists() and (out / "css" / "app.css").exists()
    assert Path(str(hashed) + ".br").exists() and Path(str(hashed) + ".gz").exists()
    assert names["vendor/htmx.min.js"].startswith("vendor/htmx.min.")
    again, _ = build_static(tmp_path)
    assert again == out and hashed.stat().st_mtime_ns == (again / names["css/app.css"]).stat().st_mtime_ns


def test_concurrent_builds_agree(tmp_path: Path) -> None:
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(build_static(tmp_path)[0])) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1 and results[0].is_dir()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("static-")) == [results[0].name]
