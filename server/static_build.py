"""Copies the browser's static files under content-hashed names and pre-compresses them.

Hashed names may be cached forever (immutable); the plain names stay too, for the manifest's icons.
The output folder is named after a hash of its sources: a restart with unchanged files reuses it,
and several server processes starting at once never delete each other's files.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from servestatic.compress import Compressor

PWA_DIR = Path(__file__).resolve().parent.parent / "pwa"
HASHED_NAME = r"\.[0-9a-f]{10}\.\w+$"
_SOURCES = (("static", ""), ("vendor", "vendor"))
_SKIPPED_SUFFIXES = {".sh", ".md", ".py"}


def _sources(pwa_dir: Path) -> list[tuple[Path, Path]]:
    """(file on disk, name under /static/) for every file the browser may load."""
    found = []
    for source, prefix in _SOURCES:
        root = pwa_dir / source
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            if path.suffix in _SKIPPED_SUFFIXES or path.name.endswith("LICENSE"):
                continue
            found.append((path, Path(prefix) / path.relative_to(root)))
    return found


def _hashed(rel: Path, data: bytes) -> Path:
    digest = hashlib.sha256(data).hexdigest()[:10]
    return rel.with_name(f"{rel.stem}.{digest}{rel.suffix}")


def build_static(parent: Path, pwa_dir: Path = PWA_DIR) -> tuple[Path, dict[str, str]]:
    """Build (or reuse) the static folder under `parent`; return it and a map plain name -> hashed name."""
    files = [(path, rel, path.read_bytes()) for path, rel in _sources(pwa_dir)]
    names = {rel.as_posix(): _hashed(rel, data).as_posix() for _, rel, data in files}
    build_id = hashlib.sha256("\n".join(sorted(names.values())).encode()).hexdigest()[:12]
    out_dir = parent / f"static-{build_id}"
    if out_dir.is_dir():
        return out_dir, names
    parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".static-", dir=parent))
    compressor = Compressor(use_gzip=True, use_brotli=True, use_zstd=False, quiet=True)
    for _, rel, data in files:
        for target in (rel, Path(names[rel.as_posix()])):
            dest = work / target
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
            if compressor.should_compress(dest.name):
                compressor.compress(dest)
    try:
        os.rename(work, out_dir)
    except OSError:  # another process finished the same build first
        shutil.rmtree(work, ignore_errors=True)
    for old in parent.glob("static-*"):
        if old != out_dir:
            shutil.rmtree(old, ignore_errors=True)
    return out_dir, names
