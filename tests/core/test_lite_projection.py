"""The trained joint-space projection: file format, training and the measures (no towers)."""

from __future__ import annotations

import numpy as np
import pytest

from vlm_desktop.core.engine.lite import projection as pj


def _toy(n_classes: int = 8, per: int = 30, seed: int = 0):
    """Image features whose class shows in the pooled feature but not in the (noisy)
    concept embedding, and one text vector per class: what a projection must learn.
    The classes are the same for every seed; the images differ."""
    fixed = np.random.default_rng(1234)
    text = pj.unit(fixed.normal(size=(n_classes, 16)))
    proto = np.abs(fixed.normal(size=(n_classes, 64)))
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), per)
    pooled = np.abs(proto[y] + 0.6 * np.abs(rng.normal(size=(len(y), 64))))
    conse = pj.unit(rng.normal(size=(len(y), 16)))
    return pooled.astype(np.float32), conse, text, y


def _score(model: pj.Projection, pooled, conse, text, y) -> float:
    z = pj.unit(model.alpha * conse + (pj.unit(pooled) - model.mean) @ model.w + model.b)
    return float(np.mean(np.argmax(z @ text.T, axis=1) == y))


def test_training_learns_what_the_concepts_miss():
    pooled, conse, text, y = _toy()
    data = pj.FitData(pooled, conse, [text[c][None] for c in y], y)
    model, history = pj.fit(data, pj.FitConfig(epochs=30, batch=64, lr=1e-2, weight_decay=0.0))
    start = pj.Projection(1.0, pj.unit(pooled).mean(0), np.zeros((64, 16), np.float32),
                          np.zeros(16, np.float32), *pj.fit_visual(pooled), 0.5)
    assert _score(start, pooled, conse, text, y) < 0.3  # plain ConSE: near chance (1/8)
    held = _toy(seed=1)  # new images of the same classes
    assert _score(model, *held[:2], text, held[3]) > 0.9
    assert history[-1]["loss"] < history[0]["loss"]


def test_early_stopping_keeps_the_best_epoch():
    pooled, conse, text, y = _toy()
    data = pj.FitData(pooled, conse, [text[c][None] for c in y], y)
    scores = iter([0.1, 0.5, 0.9, 0.4, 0.3, 0.2, 0.1, 0.0, 0.0])
    seen = []

    def score(m: pj.Projection) -> float:
        s = next(scores)
        seen.append((s, m))
        return s

    best, history = pj.fit(data, pj.FitConfig(epochs=8, batch=64), score=score, patience=3)
    assert [h["epoch"] for h in history] == [0, 1, 2, 3, 4, 5]  # stopped 3 epochs after the best
    assert best is seen[2][1]


def test_save_and_load_round_trip(tmp_path):
    pooled, conse, text, y = _toy()
    model, _ = pj.fit(pj.FitData(pooled, conse, [text[c][None] for c in y], y),
                      pj.FitConfig(epochs=2, batch=64))
    model = pj.Projection(model.alpha, model.mean, model.w, model.b, model.visual_mean,
                          model.visual_basis, model.visual_power,
                          {"naming": {"beta": 0.4, "temperature": 0.03}, "note": "x"})
    path = tmp_path / "p.safetensors"
    model.save(path)
    for source in (path, path.read_bytes()):
        back = pj.Projection.load(source)
        labels = pj.unit(np.random.default_rng(0).normal(size=(50, 16)))
        probs = np.random.default_rng(1).dirichlet(np.ones(50), size=4).astype(np.float32)
        # The weights come back bit for bit; outputs to float32 rounding (a loaded array's
        # alignment can send NumPy's matrix product down another SIMD path).
        for name in ("mean", "w", "b", "visual_mean", "visual_basis"):
            assert np.array_equal(getattr(back, name), getattr(model, name)), name
        assert np.allclose(back.image(probs, pooled[:4], labels),
                           model.image(probs, pooled[:4], labels), atol=1e-6)
        assert np.allclose(back.visual(pooled[:4]), model.visual(pooled[:4]), atol=1e-6)
        assert back.naming == (0.4, 0.03) and back.meta["note"] == "x"


def test_a_file_of_another_kind_is_refused(tmp_path):
    from safetensors.numpy import save_file

    path = tmp_path / "other.safetensors"
    save_file({"w": np.zeros((2, 2), np.float32)}, str(path), metadata={"format": "something"})
    with pytest.raises(ValueError, match="not a VLM Lite projection"):
        pj.Projection.load(path)


def test_measures():
    items = np.eye(4, dtype=np.float32)
    queries = np.array([[1, 0, 0, 0], [0, 0.9, 0.1, 0], [0, 0, 0, 1], [1, 0, 0, 0.1]], np.float32)
    assert pj.recall_at(queries, items, np.arange(4), 1) == 0.5  # the last two rank theirs second
    assert pj.recall_at(queries, items, np.arange(4), 2) == 1.0
    vecs = pj.unit(np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], np.float32))
    assert pj.precision_at(vecs, np.array([0, 0, 1, 1]), 1) == 1.0
    assert pj.precision_at(vecs, np.array([0, 1, 0, 1]), 1) == 0.0
