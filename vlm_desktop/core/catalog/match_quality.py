"""When is a "similar item" really similar? A threshold read from the model's own scores.

Cosine levels mean different things per model and catalog: the built-in model gives two
unrelated clip-art items about 0.5, a CLIP model much less. So "weak" is measured, not
fixed: the similarity that the top 5 % of random pairs of this catalog's items reach by
chance. A best match below it is no better than picking two items at random and getting
lucky, and the panel says "closest items, low similarity" instead of presenting it as good.
"""

from __future__ import annotations

import numpy as np

CHANCE_QUANTILE = 0.95  # "random pairs reach this 1 time in 20"
SAMPLE = 400  # items sampled: 80 000 pairs, milliseconds at any catalog size


def chance_similarity(vectors: np.ndarray, quantile: float = CHANCE_QUANTILE) -> float:
    """The `quantile` of the cosines between distinct pairs of rows (unit vectors)."""
    n = vectors.shape[0]
    if n < 2:
        return 0.0
    sims = vectors @ vectors.T
    upper = sims[np.triu_indices(n, k=1)]
    return float(np.quantile(upper, quantile))


def weak_match_threshold(vx, sample: int = SAMPLE, seed: int = 0) -> float:  # noqa: ANN001
    """`chance_similarity` over a fixed random sample of the index `vx` (a VectorIndex)."""
    n = len(vx)
    if n < 2:
        return 0.0
    rng = np.random.default_rng(seed)
    pos = np.sort(rng.choice(n, min(n, sample), replace=False))
    return chance_similarity(np.asarray(vx.vectors(pos), np.float32))
