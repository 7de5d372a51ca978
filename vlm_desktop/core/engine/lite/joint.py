"""The joint image–text space of the built-in model (384-d, the text tower's space).

Images enter it two ways, as in the design: through their concept distribution (a convex
combination of label embeddings, "ConSE") and through a linear map W: 1280 -> 384 fit by
ridge regression on (classifier weight row, label embedding) pairs. A grid cell mapped by W
is a region embedding; text tokens are scored against those for the attention maps.
Label embeddings and W ship precomputed (resources/lite/, written by
tools/make_label_cache.py, each with the hash of what produced it); when the hash does not
match this install they are computed once and cached on disk.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from vlm_desktop.core.engine.lite.projection import Projection

log = logging.getLogger(__name__)

CACHE_VERSION = "3"
# Precomputed by tools/make_label_cache.py and shipped, so a fresh install skips ~1 min of work.
RESOURCE_DIR = "lite"
LABELS_FILE = "label_embeddings.npz"
MAP_FILE = "ridge_map.npz"
PROJECTION_FILE = "projection.safetensors"
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
    return _ridge_path(x, y, (lam,))[0]


def _ridge_path(x: np.ndarray, y: np.ndarray, lams: Sequence[float]) -> list[np.ndarray]:
    """Ridge solutions for several strengths from one eigendecomposition of the Gram matrix."""
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    s, u = np.linalg.eigh(x64 @ x64.T)
    uy = u.T @ y64
    return [(x64.T @ (u @ (uy / (s + lam)[:, None]))).astype(np.float32) for lam in lams]


def choose_lambda(x: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0) -> float:
    """The ridge strength whose held-out classes retrieve their own label most often."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    yn = _normalise(y)
    hits = np.zeros(len(RIDGE_LAMBDAS))
    for f in range(folds):
        test = order[f::folds]
        train = np.setdiff1d(order, test)
        for i, w in enumerate(_ridge_path(x[train], y[train], RIDGE_LAMBDAS)):
            pred = _normalise(x[test] @ w)
            hits[i] += int(np.sum(np.argmax(pred @ yn.T, axis=1) == test))
    best = int(np.argmax(hits))  # first of equals: the weakest regulariser, as before
    log.info("ridge lambda %.3g (held-out class retrieval %.1f%%)", RIDGE_LAMBDAS[best],
             100 * hits[best] / len(x))
    return float(RIDGE_LAMBDAS[best])


@dataclass(frozen=True, eq=False)
class JointSpace:
    """Label embeddings, node embeddings and the map W, with the maths that uses them."""

    labels: np.ndarray  # [1000, 384] normalised, one per classifier class
    nodes: np.ndarray  # [N, 384] normalised, one per hypernym node
    weight_mean: np.ndarray  # [1280] mean classifier row (centring of the ridge inputs)
    label_mean: np.ndarray  # [384] mean label embedding (centring of the ridge targets)
    w: np.ndarray  # [1280, 384]
    region_scale: float  # typical norm of a mapped grid cell, to keep maps comparable
    # The trained projection (projection.py); None gives the first generation's space.
    projection: Optional[Projection] = None

    def map_features(self, features: np.ndarray) -> np.ndarray:
        """Features [..., 1280] through W into the (centred) joint space, unnormalised."""
        return features @ self.w

    def image_embedding(self, probs: np.ndarray, pooled: np.ndarray) -> np.ndarray:
        """The image's joint-space vector, float32 [384]: the trained projection's when there
        is one, else the first generation's ConSE + ridge mix."""
        if self.projection is not None:
            return self.projection.image(probs, pooled, self.labels)[0]
        return self.legacy_embedding(probs, pooled)

    def image_embeddings(self, probs: np.ndarray, pooled: np.ndarray) -> np.ndarray:
        """Joint-space vectors [N, 384] of several images at once."""
        if self.projection is not None:
            return self.projection.image(probs, pooled, self.labels)
        return np.stack([self.legacy_embedding(p, x) for p, x in zip(probs, pooled)])

    def visual_embeddings(self, pooled: np.ndarray) -> Optional[np.ndarray]:
        """Image-to-image similarity vectors [N, K] of pooled features; None without a
        trained projection (the joint space then serves both)."""
        return None if self.projection is None else self.projection.visual(pooled)

    def legacy_embedding(self, probs: np.ndarray, pooled: np.ndarray) -> np.ndarray:
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


def label_key(model_id: str, groups: Sequence[Sequence[str]], node_names: Sequence[str]) -> str:
    """Hash of everything the label embeddings depend on: text model, prompts, names."""
    h = hashlib.blake2b(digest_size=12)
    h.update(f"labels|{CACHE_VERSION}|{model_id}".encode())
    for group in groups:
        prompts = prompts_for(group[0], group[1:]) if group else [PROMPT.format("thing")]
        h.update(("\x1f".join(prompts) + "\x1e").encode())
    h.update("\x1d".join(node_names).encode())
    return h.hexdigest()


def map_key(labels_key: str, weight: np.ndarray) -> str:
    """Hash of what the ridge map W depends on: the label embeddings and the classifier."""
    h = hashlib.blake2b(digest_size=12)
    h.update(f"map|{CACHE_VERSION}|{labels_key}|{RIDGE_LAMBDAS}|{CONSE_TOP_K}".encode())
    # At half precision, so a CUDA float16 tower and a CPU float32 one share the key.
    h.update(np.ascontiguousarray(weight, dtype=np.float16).tobytes())
    return h.hexdigest()


def _resource(name: str):  # noqa: ANN202 - an importlib Traversable
    from importlib.resources import files

    return files("vlm_desktop.resources") / RESOURCE_DIR / name


def _read_npz(source, key: str) -> dict[str, np.ndarray] | None:  # noqa: ANN001 - path or Traversable
    """The arrays of an .npz written for `key`, as float32; None when absent, stale or unreadable."""
    try:
        if not source.is_file():
            return None
        with source.open("rb") as fh, np.load(fh) as z:
            if str(z["key"]) != key:
                return None
            return {k: z[k].astype(np.float32) for k in z.files if k != "key"}
    except (OSError, KeyError, ValueError) as exc:
        log.warning("cache %s unreadable (%s); rebuilding", source, exc)
        return None


def _write_npz(path: Path, key: str, arrays: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    payload: dict[str, Any] = {"key": np.str_(key), **arrays}
    np.savez(tmp, **payload)
    tmp.replace(path)  # atomic, so a crash never leaves half a cache


def label_embeddings(encode: Encoder, model_id: str, class_terms: Sequence[Sequence[str]],
                     node_names: Sequence[str], cache_root: Path) -> tuple[np.ndarray, np.ndarray]:
    """(labels, nodes): from the shipped resource when its hash matches, else from the disk
    cache, else computed once (~2,500 prompts through the text tower) and cached."""
    key = label_key(model_id, class_terms, node_names)
    for source in (_resource(LABELS_FILE), cache_root / f"labels-{key}.npz"):
        found = _read_npz(source, key)
        if found is not None:  # stored at half precision: renormalise
            return _normalise(found["labels"]), _normalise(found["nodes"])
    log.info("label embeddings not shipped for this text model/concepts; computing them once")
    labels = embed_terms(encode, class_terms)
    nodes = embed_terms(encode, [[n] for n in node_names]) if node_names else \
        np.zeros((0, labels.shape[1]), np.float32)
    _write_npz(cache_root / f"labels-{key}.npz", key, {"labels": labels, "nodes": nodes})
    return labels, nodes


def build_joint_space(encode: Encoder, model_id: str, class_terms: Sequence[Sequence[str]],
                      node_names: Sequence[str], classifier_weight: np.ndarray,
                      cache_root: Path) -> JointSpace:
    """The joint space: label embeddings and W from the shipped resources when they match,
    else from the disk cache, else computed once and cached."""
    labels, nodes = label_embeddings(encode, model_id, class_terms, node_names, cache_root)
    key = map_key(label_key(model_id, class_terms, node_names), classifier_weight)
    for source in (_resource(MAP_FILE), cache_root / f"map-{key}.npz"):
        found = _read_npz(source, key)
        if found is not None:
            return _space(labels, nodes, found)
    fitted = fit_map(labels, classifier_weight)
    _write_npz(cache_root / f"map-{key}.npz", key, fitted)
    return _space(labels, nodes, fitted)


def _space(labels: np.ndarray, nodes: np.ndarray, fitted: dict[str, np.ndarray]) -> JointSpace:
    return JointSpace(labels, nodes, fitted["weight_mean"], fitted["label_mean"], fitted["w"],
                      float(fitted["region_scale"]))


def labels_digest(labels: np.ndarray) -> str:
    """Short hash of the label embeddings a projection was trained over."""
    return hashlib.blake2b(np.ascontiguousarray(labels, np.float32).tobytes(),
                           digest_size=8).hexdigest()


def load_projection(labels: np.ndarray, source: Optional[Path] = None) -> Optional[Projection]:
    """The shipped (or given) trained projection, when it was trained over these label
    embeddings; None (with a warning) when it is missing, unreadable or stale."""
    try:
        if source is not None:
            proj = Projection.load(source)
        else:
            res = _resource(PROJECTION_FILE)
            if not res.is_file():
                log.warning("no trained projection shipped; using the first-generation space")
                return None
            proj = Projection.load(res.read_bytes())
    except (OSError, ValueError, KeyError) as exc:
        log.warning("trained projection unreadable (%s); using the first-generation space", exc)
        return None
    want = proj.meta.get("label_embeddings")
    if want is not None and want != labels_digest(labels):
        log.warning("trained projection was made for other label embeddings; not used")
        return None
    return proj


def fit_map(labels: np.ndarray, classifier_weight: np.ndarray) -> dict[str, np.ndarray]:
    """The ridge map W: 1280 -> 384 on centred (classifier row, label embedding) pairs."""
    weight_mean = classifier_weight.mean(axis=0)
    label_mean = labels.mean(axis=0)
    x = classifier_weight - weight_mean
    y = labels - label_mean
    lam = choose_lambda(x, y)
    w = ridge_fit(x, y, lam)
    # A grid cell's features are non-negative activations, unlike the centred weight rows;
    # scale by the rows' own mapped norm so region scores have a stable range.
    scale = float(np.linalg.norm(x @ w, axis=1).mean()) or 1.0
    return {"weight_mean": weight_mean.astype(np.float32), "label_mean": label_mean.astype(np.float32),
            "w": w, "region_scale": np.float32(scale)}
