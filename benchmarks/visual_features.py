"""Extra tower features for the visual-similarity benchmark (benchmarks/eval_visual.py).

One pass per view (whole image, its mirror, the centre crop, all at the classifier's
224 px as the catalog indexer sees them) keeps, per image: the mean-pooled final grid,
GeM (p=3) and max pooling of it, the mean-pooled output of stage 5 (112 channels, stride
16) and of the last block (320 channels, before the 1x1 head), and the class
probabilities. Cached under ~/.cache/vlm-desktop-train like tools/lite_features.py.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
sys.path.insert(0, str(REPO))
from lite_datasets import CACHE, cache_key, fashion, fashion_image  # noqa: E402
from lite_features import _load  # noqa: E402

STAGE5_BLOCK = 10  # index of the last block of the 112-channel stage
LAST_BLOCK = 15


def _views(image):  # noqa: ANN001, ANN202
    from PIL import Image

    from vlm_desktop.core.engine.lite import evidence as ev

    small = ev.working_copy(image, ev.CLASSIFY_LONG_SIDE)
    whole = ev._sized(small, image, ev.CLASSIFY_LONG_SIDE)
    return {"whole": whole, "flip": whole.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
            "crop": ev.centre_crop(small)}


def _run(tower, images: list) -> dict[str, np.ndarray]:  # noqa: ANN001
    """Pooled statistics of each image through the tower, batched by input size."""
    import torch

    from vlm_desktop.core.engine.lite import vision

    taps: dict[str, torch.Tensor] = {}
    hooks = [tower._blocks[STAGE5_BLOCK].register_forward_hook(lambda m, i, o: taps.__setitem__("s5", o)),
             tower._blocks[LAST_BLOCK].register_forward_hook(lambda m, i, o: taps.__setitem__("b7", o))]
    inputs = [vision.preprocess(im, 224) for im in images]
    groups: dict[tuple, list[int]] = {}
    for i, x in enumerate(inputs):
        groups.setdefault(tuple(x.shape), []).append(i)
    out: dict[str, list] = {k: [None] * len(images) for k in ("mean", "gem", "max", "s5", "b7", "logits")}
    w = tower._fc.weight.detach().float()
    b = tower._fc.bias.detach().float()
    try:
        with torch.inference_mode():
            for members in groups.values():
                for s in range(0, len(members), 32):
                    part = members[s:s + 32]
                    grid = tower(torch.cat([inputs[i] for i in part])).float()
                    mean = grid.mean((2, 3))
                    stats = {"mean": mean, "gem": grid.clamp_min(1e-6).pow(3).mean((2, 3)).pow(1 / 3),
                             "max": grid.amax((2, 3)), "s5": taps["s5"].float().mean((2, 3)),
                             "b7": taps["b7"].float().mean((2, 3)), "logits": mean @ w.T + b}
                    for k, v in stats.items():
                        for j, i in enumerate(part):
                            out[k][i] = v[j].numpy()
    finally:
        for h in hooks:
            h.remove()
    return {k: np.stack(v).astype(np.float32) for k, v in out.items()}


def features(images: list, tower=None) -> dict[str, np.ndarray]:  # noqa: ANN001
    """`<view>_<stat>` arrays for every image (views whole, flip, crop)."""
    views = [_views(im) for im in images]
    out = {}
    for view in ("whole", "flip", "crop"):
        for k, v in _run(tower, [vs[view] for vs in views]).items():
            out[f"{view}_{k}"] = v
    return out


def _tower():  # noqa: ANN202
    import torch

    from vlm_desktop.core.engine.lite import vision

    torch.set_num_threads(2)
    return vision.load_vision_tower("cpu", torch.float32)


def _cached(name: str, key: str, make) -> dict[str, np.ndarray]:  # noqa: ANN001
    path = CACHE / f"{name}-{key}.npz"
    if path.is_file():
        with np.load(path) as z:
            return {k: z[k].astype(np.float32) if z[k].dtype == np.float16 else z[k] for k in z.files}
    t0 = time.perf_counter()
    arrays = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **{k: v.astype(np.float16) if v.dtype == np.float32 else v for k, v in arrays.items()})
    tmp.replace(path)
    print(f"  {name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return arrays


def clipart(paths: list[str], tower=None) -> dict[str, np.ndarray]:  # noqa: ANN001
    """Features of the pictures at `paths`; `ok` marks the decodable ones."""
    def make() -> dict[str, np.ndarray]:
        images = [_load(p) for p in paths]
        ok = np.array([im is not None for im in images])
        f = features([im for im in images if im is not None], tower or _tower())
        full = {k: np.zeros((len(paths), v.shape[1]), np.float32) for k, v in f.items()}
        for k, v in f.items():
            full[k][ok] = v
        full["ok"] = ok
        return full
    return _cached("visual-clipart", cache_key("visual-clipart-v1", paths), make)


def fashion_set(split: str, per_class: int, tower=None) -> tuple[dict[str, np.ndarray], np.ndarray]:  # noqa: ANN001
    images, labels = fashion(split, per_class)
    f = _cached("visual-fashion", cache_key("visual-fashion-v1", split, per_class),
                lambda: features([fashion_image(x) for x in images], tower or _tower()))
    return f, labels
