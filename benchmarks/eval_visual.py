"""Image->image similarity on the vision tower's own features: every variant in one table.

    python benchmarks/eval_visual.py

P@5 = share of each item's five nearest others (itself excluded) in its own category.
Held out: the demo catalog's eight Open Clip Art folders (by folder) and Fashion-MNIST test
(100 per class, by class). Every hyper-parameter (whitening shrinkage, layer weight,
neighbour count of the search-time expansion) is chosen on *training* data only: 600
pictures of the other Open Clip Art folders plus 50 per class of Fashion-MNIST train, by
the mean of their two P@5; the held-out sets are then scored once with the choice.
Whitening variants are fitted on that same training data.

"shipped" applies the shipped projection's visual transform; it was fitted on training
pictures that include non-demo pictures of the held-out folders, so its clip-art figure
is, if anything, optimistic. "shipped method" is the same recipe (power 0.5, PCA 256,
shrinkage 0.05) refitted on this script's training data.
Features: benchmarks/visual_features.py (cached; the first run takes ~20 min on 2 cores).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "tools"))
sys.path.insert(0, str(REPO))
import visual_features as vf  # noqa: E402
from lite_datasets import clipart_pairs, split_clipart  # noqa: E402

from vlm_desktop.core.engine.lite import projection as pj  # noqa: E402

TRAIN_CLIPART = 600
FASHION_TRAIN_PER_CLASS = 50
FASHION_TEST_PER_CLASS = 100

Feats = dict[str, np.ndarray]


def unit(x: np.ndarray) -> np.ndarray:
    return pj.unit(np.asarray(x, np.float64)).astype(np.float32)


def p_at_5(v: np.ndarray, y: np.ndarray) -> float:
    return pj.precision_at(v, y, 5)


def chance(y: np.ndarray) -> float:
    _, c = np.unique(y, return_counts=True)
    return float(np.sum(c * (c - 1)) / (len(y) * (len(y) - 1)))


def root(x: np.ndarray) -> np.ndarray:
    return unit(np.sqrt(np.maximum(x, 0.0)))


def pooled(f: Feats, views: tuple[str, ...], stat: str = "mean") -> np.ndarray:
    return np.mean([f[f"{v}_{stat}"] for v in views], axis=0)


class Whiten:
    """Centring + PCA whitening with shrinkage, fitted on training rows (root-normalised)."""

    def __init__(self, x: np.ndarray, eps_share: float, dims: int = 256) -> None:
        self.mean, self.basis = pj.fit_visual(x, 0.5, dims, eps_share)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return unit((root(x) - self.mean) @ self.basis)


def expand(v: np.ndarray, k: int, alpha: float = 3.0) -> np.ndarray:
    """Database-side augmentation (alpha-weighted sum of each vector's k nearest, itself
    included) over the catalog's own vectors; queries are catalog items, so this is also
    alpha query expansion against the augmented database."""
    if k <= 1:
        return v
    sims = v @ v.T
    top = np.argsort(-sims, axis=1)[:, :k]
    w = np.power(np.maximum(np.take_along_axis(sims, top, 1), 0.0), alpha)
    return unit(np.einsum("nk,nkd->nd", w, v[top]))


def concat(parts: list[tuple[float, np.ndarray]]) -> np.ndarray:
    return unit(np.concatenate([np.sqrt(w) * unit(p) for w, p in parts if w > 0], axis=1))


def load() -> tuple[dict[str, tuple[Feats, np.ndarray]], dict[str, tuple[Feats, np.ndarray]]]:
    train_pairs, test_pairs = split_clipart(clipart_pairs())
    rng = np.random.default_rng(0)
    sub = [train_pairs[i] for i in sorted(rng.permutation(len(train_pairs))[:TRAIN_CLIPART])]

    def clip(pairs: list) -> tuple[Feats, np.ndarray]:
        f = vf.clipart([p.path for p in pairs])
        ok = f.pop("ok").astype(bool)
        return {k: v[ok] for k, v in f.items()}, np.array([p.category for p, g in zip(pairs, ok) if g])

    train = {"clip-art": clip(sub), "fashion": vf.fashion_set("train", FASHION_TRAIN_PER_CLASS)}
    test = {"clip-art": clip(test_pairs), "fashion": vf.fashion_set("test", FASHION_TEST_PER_CLASS)}
    return train, test


def main() -> int:
    train, test = load()
    fit_rows = {s: np.concatenate([train[k][0][s] for k in train])
                for s in ("whole_mean", "whole_gem", "whole_s5", "whole_b7")}
    shipped = pj.Projection.load(REPO / "resources" / "lite" / "projection.safetensors")
    # A variant: (name, {hyper-parameter: value} grid, builder(feats, params, fitted) -> vectors)
    whiten_cache: dict = {}

    def white(stat: str, eps: float) -> Whiten:
        if (stat, eps) not in whiten_cache:
            whiten_cache[(stat, eps)] = Whiten(fit_rows[f"whole_{stat}"], eps)
        return whiten_cache[(stat, eps)]

    eps_grid = [0.01, 0.05, 0.2, 1.0]
    variants: list[tuple[str, list[dict], Callable[[Feats, dict], np.ndarray]]] = [
        ("naive: mean-pooled whole, unit", [{}], lambda f, p: unit(f["whole_mean"])),
        ("root-normalised (power 0.5), no whitening", [{}], lambda f, p: root(f["whole_mean"])),
        ("shipped method refit (power .5, PCA 256, eps .05)", [{}],
         lambda f, p: white("mean", 0.05)(f["whole_mean"])),
        ("whitening, shrinkage chosen", [{"eps": e} for e in eps_grid],
         lambda f, p: white("mean", p["eps"])(f["whole_mean"])),
        ("whole+flip, root", [{}], lambda f, p: root(pooled(f, ("whole", "flip")))),
        ("whole+crop, root", [{}], lambda f, p: root(pooled(f, ("whole", "crop")))),
        ("whole+flip+crop, root", [{}], lambda f, p: root(pooled(f, ("whole", "flip", "crop")))),
        ("GeM p=3, root", [{}], lambda f, p: root(f["whole_gem"])),
        ("max pooling, root", [{}], lambda f, p: root(f["whole_max"])),
        ("multi-layer: root + w*stage5(112)", [{"w": w} for w in (0.1, 0.25, 0.5)],
         lambda f, p: concat([(1 - p["w"], root(f["whole_mean"])), (p["w"], root(f["whole_s5"]))])),
        ("multi-layer: root + w*block7(320)", [{"w": w} for w in (0.1, 0.25, 0.5)],
         lambda f, p: concat([(1 - p["w"], root(f["whole_mean"])), (p["w"], root(f["whole_b7"]))])),
        ("root + w*sqrt(probs)", [{"w": w} for w in (0.1, 0.25, 0.5)],
         lambda f, p: concat([(1 - p["w"], root(f["whole_mean"])),
                              (p["w"], root(_softmax(f["whole_logits"])))])),
        ("root + DBA/alpha-QE, k chosen", [{"k": k} for k in (2, 3, 5, 8)],
         lambda f, p: expand(root(f["whole_mean"]), p["k"])),
        ("whitened (eps chosen) + DBA/alpha-QE, k chosen",
         [{"eps": e, "k": k} for e in eps_grid for k in (2, 3, 5, 8)],
         lambda f, p: expand(white("mean", p["eps"])(f["whole_mean"]), p["k"])),
        ("flip+crop+stage5 w + DBA k (all chosen)",
         [{"w": w, "k": k} for w in (0.0, 0.1, 0.25) for k in (1, 3, 5)],
         lambda f, p: expand(concat([(1 - p["w"], root(pooled(f, ("whole", "flip", "crop")))),
                                     (p["w"], root(pooled(f, ("whole", "flip", "crop"), "s5")))]), p["k"])),
    ]
    names = list(test)
    print(f"{'':52}" + "".join(f"{n:>11}" for n in names) + f"{'train mean':>12}   chosen")
    print(f"{'chance':52}" + "".join(f"{chance(test[n][1]):11.3f}" for n in names))
    print(f"{'shipped (projection.safetensors visual)':52}"
          + "".join(f"{p_at_5(shipped.visual(test[n][0]['whole_mean']), test[n][1]):11.3f}" for n in names))
    for label, grid, build in variants:
        def train_score(p: dict) -> float:
            return float(np.mean([p_at_5(build(f, p), y) for f, y in train.values()]))
        scores = [(train_score(p), i) for i, p in enumerate(grid)]
        best_score, best = max(scores)
        p = grid[best]
        row = [p_at_5(build(f, p), y) for f, y in test.values()]
        print(f"{label:52}" + "".join(f"{r:11.3f}" for r in row) + f"{best_score:12.3f}   {p or ''}",
              flush=True)
    return 0


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


if __name__ == "__main__":
    raise SystemExit(main())
