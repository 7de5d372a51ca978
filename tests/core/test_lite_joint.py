"""The joint space's caches: the shipped label embeddings and ridge map are used when they
match this install, and anything else is computed once and cached on disk."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from vlm_desktop.core.engine.lite import joint


def _fake_encoder(calls: list[int]):
    """Deterministic unit vectors per text (a stand-in for the text tower), counting calls."""
    def encode(texts):
        calls.append(len(texts))
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest() * 12, np.uint8)[:384]
                .astype(np.float32) - 127.5 for t in texts]
        out = np.stack(rows)
        return out / np.linalg.norm(out, axis=1, keepdims=True)
    return encode


def test_mismatched_terms_are_computed_once_then_read_from_disk(tmp_path):
    terms = [["cat", "house cat"], ["dog"], ["cup", "teacup"]]
    weight = np.random.default_rng(0).normal(size=(3, 16)).astype(np.float32)
    calls: list[int] = []
    first = joint.build_joint_space(_fake_encoder(calls), "tiny-model", terms, ["animal"], weight, tmp_path)
    assert sum(calls) == 6  # 2 + 1 + 2 class prompts, 1 node prompt
    assert sorted(p.name.split("-")[0] for p in tmp_path.glob("*.npz")) == ["labels", "map"]
    assert first.labels.shape == (3, 384) and first.nodes.shape == (1, 384)
    assert first.w.shape == (16, 384)

    again = joint.build_joint_space(_fake_encoder(calls), "tiny-model", terms, ["animal"], weight, tmp_path)
    assert sum(calls) == 6  # nothing re-encoded
    assert np.array_equal(again.labels, first.labels) and np.array_equal(again.w, first.w)

    # Another text model must not reuse those embeddings.
    joint.build_joint_space(_fake_encoder(calls), "other-model", terms, ["animal"], weight, tmp_path)
    assert sum(calls) == 12


def test_an_unreadable_cache_file_is_rebuilt(tmp_path):
    terms = [["cat"], ["dog"]]
    calls: list[int] = []
    joint.label_embeddings(_fake_encoder(calls), "m", terms, [], tmp_path)
    (cached,) = tmp_path.glob("labels-*.npz")
    cached.write_bytes(b"not a zip file")
    labels, _ = joint.label_embeddings(_fake_encoder(calls), "m", terms, [], tmp_path)
    assert sum(calls) == 4 and labels.shape == (2, 384)


@pytest.fixture(scope="module")
def install_terms():
    from vlm_desktop.core.engine.lite.concepts import Concepts
    from vlm_desktop.core.engine.lite.engine import class_terms
    from vlm_desktop.core.engine.lite.hierarchy import Hierarchy
    from vlm_desktop.core.engine.lite.text import fingerprint

    concepts = Concepts.load()
    hier = Hierarchy(concepts)
    return fingerprint(), class_terms(concepts), hier.node_names[hier.num_classes:]


def test_shipped_label_embeddings_match_this_install_and_are_used(install_terms, tmp_path):
    model_id, terms, nodes = install_terms

    def must_not_encode(texts):
        raise AssertionError("the shipped label embeddings should have been used")

    labels, node_vecs = joint.label_embeddings(must_not_encode, model_id, terms, nodes, tmp_path)
    assert labels.shape == (1000, 384) and node_vecs.shape == (len(nodes), 384)
    assert np.allclose(np.linalg.norm(labels, axis=1), 1.0, atol=1e-5)
    assert not list(tmp_path.iterdir())  # nothing computed, nothing cached
    # The shipped vectors are meaningful: a cat's label is nearer another cat's than a cup's.
    names = [t[0] for t in terms]
    tabby, persian, cup = (names.index(n) for n in ("tabby cat", "Persian cat", "cup"))
    assert labels[tabby] @ labels[persian] > labels[tabby] @ labels[cup]
