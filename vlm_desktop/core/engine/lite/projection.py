"""The trained joint space of VLM Lite: a projection of image features into the text space.

LiT-style: both towers stay frozen and only this map is trained, with a symmetric InfoNCE
loss on image–text pairs (tools/train_joint.py; a catalog can refine it, see adapt.py).
The image side starts from the ImageNet prior, the concept embedding ("ConSE": the class
probabilities over the label embeddings), and learns a residual from the pooled feature:

    z = normalise(alpha * conse(probs) + (unit(pooled) - mean) @ W + b)

With W = b = 0 and alpha = 1 this is plain ConSE, which is what training starts from and
what weight decay pulls back towards. Text stays the text tower's own sentence vector, so
captions, answers and search all share one space.

The visual space (image-to-image similarity) is the pooled feature after a power law,
centring and PCA whitening fitted on the same training images; it keeps what the vision
tower sees (shape, texture, layout) that a text space throws away.

Inference is NumPy only; torch is needed only for training (`fit`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

log = logging.getLogger(__name__)

FORMAT = "vlm-lite-projection/1"
CONSE_TOP_K = 10


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32)."""
    x = np.asarray(x, np.float32)
    return (x / (np.linalg.norm(x, axis=-1, keepdims=True) + 1e-12)).astype(np.float32)


def conse(probs: np.ndarray, labels: np.ndarray, top_k: int = CONSE_TOP_K) -> np.ndarray:
    """Concept embeddings [N, D] of probability rows [N, C]: their top classes' label
    embeddings weighted by probability, normalised."""
    probs = np.atleast_2d(np.asarray(probs, np.float32))
    top = np.argsort(-probs, axis=1)[:, :top_k]
    p = np.take_along_axis(probs, top, axis=1)
    p = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)
    return unit(np.einsum("nk,nkd->nd", p, labels[top]))


@dataclass(frozen=True, eq=False)
class Projection:
    """Trained image->text-space map and the visual-similarity transform (NumPy arrays)."""

    alpha: float
    mean: np.ndarray  # [F] mean of unit(pooled) over the training images
    w: np.ndarray  # [F, D]
    b: np.ndarray  # [D]
    visual_mean: np.ndarray  # [F] mean of the power-normalised pooled features
    visual_basis: np.ndarray  # [F, K] PCA directions scaled by 1/sqrt(eigenvalue + eps)
    visual_power: float
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return int(self.w.shape[1])

    @property
    def naming(self) -> tuple[float, float]:
        """(beta, temperature): how much the joint space's reading of an image weighs in the
        class distribution captions name from (0 = the classifier alone); chosen by
        tools/train_joint.py on training folders and stored in the file's metadata."""
        got = self.meta.get("naming", {})
        return float(got.get("beta", 0.0)), float(got.get("temperature", 0.05))

    def image(self, probs: np.ndarray, pooled: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Joint-space embeddings [N, D] (unit rows) of images given as probs and pooled."""
        pooled = np.atleast_2d(pooled)
        base = self.alpha * conse(probs, labels)
        return unit(base + (unit(pooled) - self.mean) @ self.w + self.b)

    def visual(self, pooled: np.ndarray) -> np.ndarray:
        """Visual-similarity embeddings [N, K] (unit rows) of pooled features."""
        x = np.power(np.maximum(np.atleast_2d(pooled), 0.0), self.visual_power)
        return unit((unit(x) - self.visual_mean) @ self.visual_basis)

    # --- files --------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write as safetensors (the arrays) with the scalars and metrics in its metadata."""
        from safetensors.numpy import save_file

        tensors = {"mean": self.mean, "w": self.w, "b": self.b, "visual_mean": self.visual_mean,
                   "visual_basis": self.visual_basis}
        info = {"format": FORMAT, "alpha": repr(self.alpha),
                "visual_power": repr(self.visual_power), "meta": json.dumps(self.meta)}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        save_file({k: np.ascontiguousarray(v, np.float32) for k, v in tensors.items()}, str(tmp),
                  metadata=info)
        tmp.replace(path)

    @classmethod
    def load(cls, source: Path | bytes) -> Projection:
        """Read a projection written by `save` (a path, or the file's bytes)."""
        from safetensors import safe_open
        from safetensors.numpy import load

        if isinstance(source, bytes):
            arrays = load(source)
            meta = _metadata_of_bytes(source)
        else:
            with safe_open(str(source), framework="numpy") as fh:
                meta = fh.metadata() or {}
                arrays = {k: fh.get_tensor(k) for k in fh.keys()}
        if meta.get("format") != FORMAT:
            raise ValueError(f"not a VLM Lite projection (format {meta.get('format')!r})")
        return cls(alpha=float(meta["alpha"]), mean=arrays["mean"], w=arrays["w"], b=arrays["b"],
                   visual_mean=arrays["visual_mean"], visual_basis=arrays["visual_basis"],
                   visual_power=float(meta["visual_power"]), meta=json.loads(meta.get("meta", "{}")))


def _metadata_of_bytes(data: bytes) -> dict[str, str]:
    """The `__metadata__` of a safetensors file held in memory."""
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    return dict(header.get("__metadata__", {}))


# --- visual transform ---------------------------------------------------------------------

def fit_visual(pooled: np.ndarray, power: float = 0.5, dims: int = 256,
               eps_share: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """(mean, basis) of the visual transform: PCA whitening of power-normalised features,
    regularised by adding `eps_share` of the mean eigenvalue (full whitening amplifies noise)."""
    x = unit(np.power(np.maximum(pooled, 0.0), power))
    mean = x.mean(axis=0)
    xc = (x - mean).astype(np.float64)
    cov = xc.T @ xc / max(1, len(xc) - 1)
    vals, vecs = np.linalg.eigh(cov)
    order = np.argsort(-vals)[:dims]
    vals, vecs = vals[order], vecs[:, order]
    eps = eps_share * float(vals.mean())
    basis = vecs / np.sqrt(np.maximum(vals, 0.0) + eps)
    return mean.astype(np.float32), basis.astype(np.float32)


# --- training -------------------------------------------------------------------------------

@dataclass(frozen=True)
class FitConfig:
    """Hyper-parameters of `fit` (the defaults are what tools/train_joint.py ships with)."""

    epochs: int = 40
    batch: int = 256
    lr: float = 2e-3
    weight_decay: float = 0.05
    temperature: float = 0.05
    seed: int = 0


@dataclass(frozen=True)
class FitData:
    """Training pairs as arrays: image features, concept embeddings, text vectors.

    `texts[i]` holds one or more text vectors of pair i (one is drawn per epoch); pairs with
    the same `group` (the same title or class) count as positives of each other.
    """

    pooled: np.ndarray  # [N, F]
    conse: np.ndarray  # [N, D]
    texts: Sequence[np.ndarray]  # N arrays [k_i, D]
    group: np.ndarray  # [N] int


Progress = Callable[[int, float, Optional[float]], None]  # (epoch, loss, held-out score)


def fit(data: FitData, config: FitConfig = FitConfig(), start: Optional[Projection] = None,
        score: Optional[Callable[[Projection], float]] = None,
        progress: Optional[Progress] = None, cancelled: Callable[[], bool] = lambda: False,
        patience: int = 0, visual: Optional[tuple[np.ndarray, np.ndarray, float]] = None,
        rank: int = 0, world: int = 1) -> tuple[Projection, list[dict[str, float]]]:
    """Train the projection with a symmetric InfoNCE loss; returns it and the epoch history.

    `start` continues from an existing projection (a catalog adapting the shipped one), else
    training starts from plain ConSE. With `score` (higher is better, e.g. held-out
    recall@10) and `patience` > 0 the best epoch is kept and training stops early. Under
    torch.distributed (`world` > 1) each rank trains on its shard of every batch and the
    gradients are averaged, so the result matches a single process within float rounding.
    """
    import torch

    gen = torch.Generator().manual_seed(config.seed)
    pooled = torch.from_numpy(unit(data.pooled))
    mean = pooled.mean(0) if start is None else torch.from_numpy(start.mean)
    x = pooled - mean
    base = torch.from_numpy(data.conse.astype(np.float32))
    group = torch.from_numpy(np.asarray(data.group, np.int64))
    n, f = x.shape
    d = base.shape[1]
    w = torch.zeros(f, d) if start is None else torch.from_numpy(start.w.copy())
    b = torch.zeros(d) if start is None else torch.from_numpy(start.b.copy())
    alpha = torch.tensor(1.0 if start is None else start.alpha)
    params = [w.requires_grad_(), b.requires_grad_(), alpha.requires_grad_()]
    opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    vmean, vbasis, vpower = visual if visual is not None else (
        (start.visual_mean, start.visual_basis, start.visual_power) if start is not None
        else (*fit_visual(data.pooled), 0.5))

    def snapshot() -> Projection:
        return Projection(float(alpha.detach()), mean.numpy().astype(np.float32),
                          w.detach().numpy().copy(), b.detach().numpy().copy(),
                          vmean, vbasis, vpower)

    history: list[dict[str, float]] = []
    best, best_score, waited = snapshot(), -np.inf, 0
    if score is not None:
        best_score = score(best)
        history.append({"epoch": 0, "loss": float("nan"), "score": best_score})
    for epoch in range(1, config.epochs + 1):
        if cancelled():
            break
        order = torch.randperm(n, generator=gen)
        pick = torch.tensor([int(torch.randint(len(t), (1,), generator=gen)) for t in data.texts])
        total, count = 0.0, 0
        for s in range(0, n, config.batch):
            idx = order[s:s + config.batch]
            if len(idx) < 2:
                continue
            t = torch.from_numpy(np.stack([data.texts[int(i)][int(pick[i])] for i in idx]))
            mine = idx[rank::world]  # this rank's share of the batch's images
            loss = _info_nce(x[idx], base[idx], t, group[idx], w, b, alpha,
                             config.temperature, rows=torch.arange(len(idx))[rank::world])
            opt.zero_grad()
            (loss * len(mine) / len(idx)).backward()
            if world > 1:
                import torch.distributed as dist

                for p in params:
                    assert p.grad is not None
                    dist.all_reduce(p.grad)
            opt.step()
            total += float(loss.detach()) * len(idx)
            count += len(idx)
        entry = {"epoch": epoch, "loss": total / max(count, 1)}
        current = snapshot()
        if score is not None:
            entry["score"] = score(current)
            if entry["score"] > best_score + 1e-6:
                best, best_score, waited = current, entry["score"], 0
            else:
                waited += 1
        else:
            best = current
        history.append(entry)
        if progress is not None:
            progress(epoch, entry["loss"], entry.get("score"))
        if patience and waited >= patience:
            break
    return best, history


def _info_nce(x, base, t, group, w, b, alpha, temperature, rows):  # noqa: ANN001, ANN202
    """Symmetric InfoNCE over one batch, positives = same group; mean over `rows`."""
    import torch
    import torch.nn.functional as F

    z = F.normalize(alpha * base + x @ w + b, dim=-1)
    t = F.normalize(t, dim=-1)
    logits = z @ t.T / temperature
    pos = (group[:, None] == group[None, :]).float()
    target = pos / pos.sum(1, keepdim=True)
    i2t = -(target * F.log_softmax(logits, dim=1)).sum(1)
    t2i = -(target * F.log_softmax(logits.T, dim=1)).sum(1)
    return ((i2t + t2i) / 2)[rows].mean()


# --- retrieval measures (NumPy, used by training, the tools and the benchmarks) ---------------

def recall_at(queries: np.ndarray, items: np.ndarray, truth: np.ndarray, k: int) -> float:
    """Share of queries whose own item (index `truth[i]` in `items`) is in their top k."""
    sims = queries @ items.T
    own = sims[np.arange(len(queries)), truth]
    rank = (sims > own[:, None]).sum(1)
    return float(np.mean(rank < k))


def precision_at(vectors: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Mean share of each item's k nearest others (itself excluded) with its label."""
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    top = np.argsort(-sims, axis=1)[:, :k]
    return float(np.mean(labels[top] == labels[:, None]))
