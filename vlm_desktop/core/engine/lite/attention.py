"""Heat maps of the built-in model: cross-modal attention rows and class activation maps.

Attention: region embeddings R (grid cells mapped into the joint space) scored against each
text token's state T, softmax over regions with a temperature: A = softmax(R · Tᵀ / τ).
Row t of A is where word t looks. CAMs (the classifier applied per grid cell) are the
evidence maps of concepts.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from vlm_desktop.core.engine.types import HeatMap

TEMPERATURE = 0.07


def unit_range(values: np.ndarray) -> np.ndarray:
    """Scale a map to [0, 1] (min -> 0, max -> 1); a flat map becomes all zeros."""
    v = np.asarray(values, dtype=np.float32)
    lo, hi = float(v.min()), float(v.max())
    if not np.isfinite(hi - lo) or hi - lo < 1e-12:
        return np.zeros_like(v, dtype=np.float32)
    return ((v - lo) / (hi - lo)).astype(np.float32)


def attention(regions: np.ndarray, tokens: np.ndarray,
              temperature: float = TEMPERATURE) -> np.ndarray:
    """A = softmax over regions of R·Tᵀ/τ: [T, h, w] rows that each sum to 1.

    Regions are scaled by the image's strongest cell, not normalised one by one, so a weakly
    activated cell (plain background) cannot win on direction alone.
    """
    h, w, d = regions.shape
    r = regions.reshape(h * w, d)
    r = r / (float(np.linalg.norm(r, axis=1).max()) + 1e-12)
    t = tokens / (np.linalg.norm(tokens, axis=1, keepdims=True) + 1e-12)
    logits = (t @ r.T) / temperature  # [T, h*w]
    logits -= logits.max(axis=1, keepdims=True)
    a = np.exp(logits)
    a /= a.sum(axis=1, keepdims=True)
    return a.reshape(len(tokens), h, w).astype(np.float32)


def attention_maps(words: Sequence[str], rows: np.ndarray) -> dict[str, HeatMap]:
    """Per-word HeatMaps (kind "attention") from attention rows [T, h, w]."""
    return {word.lower(): HeatMap(word, unit_range(row), kind="attention")
            for word, row in zip(words, rows)}


def cam_values(cams: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """One evidence map from class CAMs [K, h, w], weighted by the classes' probabilities."""
    wsum = float(np.sum(weights))
    if wsum <= 0:
        return np.zeros(cams.shape[1:], np.float32)
    return np.tensordot(np.asarray(weights, np.float32) / wsum, cams, axes=1).astype(np.float32)


def cam_heatmap(label: str, cams: np.ndarray, weights: np.ndarray) -> HeatMap:
    """A CAM-based evidence HeatMap (kind "cam") for a concept made of several classes."""
    return HeatMap(label, unit_range(cam_values(cams, weights)), kind="cam")


def resize_map(values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Nearest-cell resampling of a map to another grid shape (used for pixel weights)."""
    rows = np.minimum((np.arange(shape[0]) * values.shape[0]) // shape[0], values.shape[0] - 1)
    cols = np.minimum((np.arange(shape[1]) * values.shape[1]) // shape[1], values.shape[1] - 1)
    return values[rows][:, cols]


def peaks(values: np.ndarray, rel_threshold: float = 0.5,
          min_separation: int = 2) -> list[tuple[int, int]]:
    """Separated local maxima of a map, hottest first: cells above `rel_threshold` of the max
    that beat every neighbour, at least `min_separation` cells (Chebyshev) from a hotter peak."""
    v = np.asarray(values, np.float32)
    lo, hi = float(v.min()), float(v.max())
    if hi - lo < 1e-9:
        return []
    cut = lo + rel_threshold * (hi - lo)
    padded = np.pad(v, 1, constant_values=-np.inf)
    h, w = v.shape
    neighbours = np.stack([padded[1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
                           for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx])
    is_max = (v >= neighbours.max(axis=0)) & (v >= cut)
    found: list[tuple[int, int]] = []
    for idx in np.argsort(-v, axis=None):
        r, c = divmod(int(idx), w)
        if not is_max[r, c]:
            continue
        if all(max(abs(r - pr), abs(c - pc)) >= min_separation for pr, pc in found):
            found.append((r, c))
    return found


def count_blobs(values: np.ndarray, rel_threshold: float = 0.5, peak_threshold: float = 0.7,
                min_cells: int = 2) -> list[tuple[int, int]]:
    """Separate hot regions of a map: 4-connected components of cells above `rel_threshold`
    of the range whose own peak reaches `peak_threshold`; returns each component's peak cell."""
    v = unit_range(values)
    mask = v >= rel_threshold
    seen = np.zeros_like(mask)
    h, w = v.shape
    found: list[tuple[float, tuple[int, int]]] = []
    for r0, c0 in zip(*np.nonzero(mask)):
        if seen[r0, c0]:
            continue
        stack, cells = [(int(r0), int(c0))], []
        seen[r0, c0] = True
        while stack:
            r, c = stack.pop()
            cells.append((r, c))
            for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                if 0 <= rr < h and 0 <= cc < w and mask[rr, cc] and not seen[rr, cc]:
                    seen[rr, cc] = True
                    stack.append((rr, cc))
        top = max(cells, key=lambda rc: v[rc])
        if v[top] >= peak_threshold and len(cells) >= min_cells:
            found.append((float(v[top]), top))
    return [rc for _, rc in sorted(found, reverse=True)]


def separate_peaks(values: np.ndarray, min_peak: float = 0.5,
                   valley: float = 0.5) -> list[tuple[int, int]]:
    """Peaks of a map that stand for separate objects, hottest first.

    The map is scaled to [0, 1] first, so the rule does not depend on the CAM's units. Two
    peaks count as two objects only when every path between them dips below `valley` times
    the lower peak (a real gap, not the dip between a cat's head and its body); a peak
    below `min_peak` of the maximum is noise. Found by flooding cells from the hottest
    down and merging regions where they meet (topographic prominence).
    """
    v = unit_range(values)
    h, w = v.shape
    order = np.argsort(-v, axis=None, kind="stable")
    owner = np.full(h * w, -1)  # union-find parent of each flooded cell
    peak_of: dict[int, int] = {}  # root -> its peak cell
    separate: set[int] = set()  # peaks that ended as their own object

    def find(i: int) -> int:
        while owner[i] != i:
            owner[i] = owner[owner[i]]
            i = int(owner[i])
        return i

    flat = v.ravel()
    for idx in order:
        i = int(idx)
        owner[i] = i
        peak_of[i] = i
        r, c = divmod(i, w)
        for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1),
                       (r - 1, c - 1), (r - 1, c + 1), (r + 1, c - 1), (r + 1, c + 1)):
            if not (0 <= rr < h and 0 <= cc < w) or owner[rr * w + cc] < 0:
                continue
            a, b = find(i), find(rr * w + cc)
            if a == b:
                continue
            pa, pb = peak_of[a], peak_of[b]
            high, low = (pa, pb) if flat[pa] >= flat[pb] else (pb, pa)
            # Meeting at level flat[i]: the lower peak was its own object if the gap was deep.
            if flat[low] >= min_peak and flat[i] < valley * flat[low]:
                separate.add(low)
            owner[b if peak_of[b] == low else a] = a if peak_of[b] == low else b
            peak_of[find(i)] = high
    top = int(order[0]) if len(order) else 0
    found = [top] + sorted(separate - {top}, key=lambda i: -flat[i])
    return [divmod(i, w) for i in found] if flat.size and flat[top] > 0 else []
