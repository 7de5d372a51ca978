"""The joint image–text space of the built-in model (384-d, the text tower's space).

Images enter it two ways, as in the design: through their concept distribution (a convex
combination of label embeddings, "ConSE") and through a linear map W: 1280 -> 384 fit by
ridge regression on (classifier weight row, label embedding) pairs. A grid cell mapped by W
is a region embedding; text tokens are scored against those for the attention maps.
Label embeddings and W are computed once and cached on disk.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

log = logging.getLogger(__name__)

CACHE_VERSION = "2"
PROMPT = "a photo of a {}"
CONSE_TOP_K = 10
# Share of the concept path (ConSE) in the image embedding; the rest is the W path.
CONSE_WEIGHT = 0.75
RIDGE_LAMBDAS = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)

Encoder = Callable[[Sequence[str]], np.ndarray]


def prompts_for(name: str, synonyms: Sequence[str] = ()) -> list[str]:
    """Prompts whose mean embedding stands for one concept (its name and one synonym)."""
    seen: list[str] = []
    for term in [name, *synonyms]:
        term = term.strip()
        if term and term.lower() not in (s.lower() for s in seen):
            seen.append(term)
        if len(seen) == 2:
            break
    return [PROMPT.format(t) for t in seen]


def _normalise(x: np.ndarray) -> np.ndarray:
    return (x / (np.linalg.norm(x, axis=-1, keepdims=True) + 1e-12)).astype(np.float32)


def embed_terms(encode: Encoder, terms: Sequence[Sequence[str]]) -> np.ndarray:
    """One normalised row per concept: the mean embedding of its prompts."""
    flat: list[str] = []
    owner: list[int] = []
    for i, group in enumerate(terms):
        ps = prompts_for(group[0], group[1:]) if group else [PROMPT.format("thing")]
        flat += ps
        owner += [i] * len(ps)
    # Encoding in length order keeps padding (wasted work) small within each batch.
    order = sorted(range(len(flat)), key=lambda i: len(flat[i]))
    sorted_vecs = encode([flat[i] for i in order])
    vecs = np.empty_like(sorted_vecs)
    vecs[np.asarray(order)] = sorted_vecs
    out = np.zeros((len(terms), vecs.shape[1]), np.float64)
    np.add.at(out, np.asarray(owner), vecs)
    return _normalise(out)


def ridge_fit(x: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """W minimising |x W - y|² + lam |W|², in dual form (fewer rows than columns)."""
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    gram = x64 @ x64.T
    alpha = np.linalg.solve(gram + lam * np.eye(len(gram)), y64)
    return (x64.T @ alpha).astype(np.float32)


def choose_lambda(x: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0) -> float:
    """The ridge strength whose held-out classes retrieve their own label most often."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    best, best_score = RIDGE_LAMBDAS[0], -1.0
    yn = _normalise(y)
    for lam in RIDGE_LAMBDAS:
        hits = 0
        for f in range(folds):
            test = order[f::folds]
            train = np.setdiff1d(order, test)
            w = ridge_fit(x[train], y[train], lam)
            pred = _normalise(x[test] @ w)
            hits += int(np.sum(np.argmax(pred @ yn.T, axis=1) == test))
        score = hits / len(x)
        if score > best_score:
            best, best_score = lam, score
    log.info("ridge lambda %.3g (held-out class retrieval %.1f%%)", best, 100 * best_score)
    return best


@dataclass(frozen=True, eq=False)
class JointSpace:
    """Label embeddings, node embeddings and the map W, with the maths that uses them."""

    labels: np.ndarray  # [1000, 384] normalised, one per classifier class
    nodes: np.ndarray  # [N, 384] normalised, one per hypernym node
    weight_mean: np.ndarray  # [1280] mean classifier row (centring of the ridge inputs)
    label_mean: np.ndarray  # [384] mean label embedding (centring of the ridge targets)
    w: np.ndarray  # [1280, 384]
    region_scale: float  # typical norm of a mapped grid cell, to keep maps comparable

    def map_features(self, features: np.ndarray) -> np.ndarray:
        """Features [..., 1280] through W into the (centred) joint space, unnormalised."""
        return features @ self.w

    def image_embedding(self, probs: np.ndarray, pooled: np.ndarray) -> np.ndarray:
        """normalise(mix of ConSE over the top concepts and the W path), float32 [384]."""
        top = np.argsort(-probs)[:CONSE_TOP_K]
        p = probs[top] / max(float(probs[top].sum()), 1e-12)
        conse = _normalise(p @ self.labels[top])
        mapped = _normalise(self.label_mean + _normalise(self.map_features(pooled))
                            * np.linalg.norm(self.labels - self.label_mean, axis=1).mean())
        return _normalise(CONSE_WEIGHT * conse + (1 - CONSE_WEIGHT) * mapped)

    def regions(self, grid: np.ndarray) -> np.ndarray:
        """Region embeddings [h, w, 384] in the centred space, scaled so a typical cell is ~1."""
        return self.map_features(grid) / self.region_scale

    def centre_text(self, vectors: np.ndarray) -> np.ndarray:
        """Text vectors moved into the centred space the regions live in, normalised."""
        return _normalise(vectors - self.label_mean)


def _cache_key(model_id: str, groups: Sequence[Sequence[str]], node_names: Sequence[str],
               weight: np.ndarray) -> str:
    h = hashlib.blake2b(digest_size=12)
    h.update(f"{CACHE_VERSION}|{model_id}|{PROMPT}|{CONSE_TOP_K}".encode())
    for group in groups:
        h.update(("\x1f".join(group) + "\x1e").encode())
    h.update("\x1d".join(node_names).encode())
    h.update(np.ascontiguousarray(weight[:, :16]).tobytes())
    return h.hexdigest()


def build_joint_space(encode: Encoder, model_id: str, class_terms: Sequence[Sequence[str]],
                      node_names: Sequence[str], classifier_weight: np.ndarray,
                      cache_root: Path) -> JointSpace:
    """Load the joint space from the cache, or compute it once (embeds ~3000 prompts)."""
    key = _cache_key(model_id, class_terms, node_names, classifier_weight)
    path = cache_root / f"joint-{key}.npz"
    if path.is_file():
        try:
            with np.load(path) as z:
                return JointSpace(z["labels"], z["nodes"], z["weight_mean"], z["label_mean"],
                                  z["w"], float(z["region_scale"]))
        except (OSError, KeyError, ValueError) as exc:
            log.warning("joint-space cache %s unreadable (%s); rebuilding", path, exc)
    space = _compute(encode, class_terms, node_names, classifier_weight)
    cache_root.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, labels=space.labels, nodes=space.nodes, weight_mean=space.weight_mean,
             label_mean=space.label_mean, w=space.w, region_scale=np.float32(space.region_scale))
    tmp.replace(path)  # atomic, so a crash never leaves half a cache
    return space


def _compute(encode: Encoder, class_terms: Sequence[Sequence[str]], node_names: Sequence[str],
             classifier_weight: np.ndarray) -> JointSpace:
    labels = embed_terms(encode, class_terms)
    nodes = embed_terms(encode, [[n] for n in node_names]) if node_names else \
        np.zeros((0, labels.shape[1]), np.float32)
    weight_mean = classifier_weight.mean(axis=0)
    label_mean = labels.mean(axis=0)
    x = classifier_weight - weight_mean
    y = labels - label_mean
    lam = choose_lambda(x, y)
    w = ridge_fit(x, y, lam)
    # A grid cell's features are non-negative activations, unlike the centred weight rows;
    # scale by the rows' own mapped norm so region scores have a stable range.
    scale = float(np.linalg.norm(x @ w, axis=1).mean()) or 1.0
    return JointSpace(labels, nodes, weight_mean.astype(np.float32), label_mean.astype(np.float32),
                      w, scale)
