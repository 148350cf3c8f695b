"""Copies the browser's static files under content-hashed names and pre-compresses them.

Hashed names may be cached forever (immutable); the plain names stay too, for the manifest's icons.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from servestatic.compress import Compressor

PWA_DIR = Path(__file__).resolve().parent.parent / "pwa"
HASHED_NAME = r"\.[0-9a-f]{10}\.\w+$"
_SOURCES = (("static", ""), ("vendor", "vendor"))


def _hashed(rel: Path, data: bytes) -> Path:
    digest = hashlib.sha256(data).hexdigest()[:10]
    return rel.with_name(f"{rel.stem}.{digest}{rel.suffix}")


def build_static(out_dir: Path, pwa_dir: Path = PWA_DIR) -> dict[str, str]:
    """Fill `out_dir`; return a map from plain names ('css/app.css') to hashed ones."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    names: dict[str, str] = {}
    compressor = Compressor(use_gzip=True, use_brotli=True, use_zstd=False, quiet=True)
    for source, prefix in _SOURCES:
        root = pwa_dir / source
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            if path.suffix in {".sh", ".md", ".py"} or path.name.endswith("LICENSE"):
                continue
            rel = Path(prefix) / path.relative_to(root)
            data = path.read_bytes()
            hashed = _hashed(rel, data)
            for target in (rel, hashed):
                dest = out_dir / target
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)
                if compressor.should_compress(dest.name):
                    compressor.compress(dest)
            names[rel.as_posix()] = hashed.as_posix()
    return names
