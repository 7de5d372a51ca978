"""Which 224 px views a catalog item needs: retrieval quality of each choice, one table.

    python benchmarks/eval_views.py

Indexing runs every catalog image through the vision tower twice, at the classifier's
scale: the whole image (aspect kept, sides rounded to 32 px) and the centre crop. The
catalog stores vectors made from the two: the class probabilities of both views averaged
(the joint space's ConSE part) and the whole view's pooled feature (the joint space's
learnt part and the visual space). Each view costs one tower pass, and the tower is most
of an import's time (issue #12), so this measures what each view buys, on data the
shipped projection never saw:

- Open Clip Art, the demo catalog's own pictures (its eight folders; the shipped
  projection was trained without them), and all pictures of those folders;
- Fashion-MNIST test (100 per class).

Rows: "two views" (today), "whole only" (probs of the whole view), "crop only" (probs and
pooled of the crop), with chance. Columns: image->image P@5 in the visual space and in
the joint space (same category, itself excluded); text->image R@1/R@10 of each item's title
among the set's images (clip art); text->image P@10 of the one-line class descriptions
(Fashion). Features come from benchmarks/visual_features.py (cached, float16).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "tools"))
sys.path.insert(0, str(REPO))
import visual_features as vf  # noqa: E402
from lite_datasets import (FMNIST_CLASSES, FMNIST_TEXTS, clipart_pairs, demo_item_stems,  # noqa: E402
                           split_clipart)
from lite_features import embed_texts  # noqa: E402

from vlm_desktop.core.engine.lite import projection as pj  # noqa: E402

FASHION_TEST_PER_CLASS = 100


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def choices(f: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(probs, pooled) a catalog would store from, per view choice."""
    whole, crop = softmax(f["whole_logits"]), softmax(f["crop_logits"])
    return {"two views (today)": ((whole + crop) / 2, f["whole_mean"]),
            "whole only": (whole, f["whole_mean"]),
            "crop only": (crop, f["crop_mean"])}


def chance_p5(y: np.ndarray) -> float:
    _, c = np.unique(y, return_counts=True)
    return float(np.sum(c * (c - 1)) / (len(y) * (len(y) - 1)))


def main() -> int:
    model = pj.Projection.load(REPO / "resources" / "lite" / "projection.safetensors")
    from vlm_desktop.core.device import choose_device
    from vlm_desktop.core.engine.lite.engine import LiteEngine

    labels = LiteEngine.load(choose_device("cpu"), use_projection=False).joint.labels
    _, held = split_clipart(clipart_pairs())
    demo = demo_item_stems()
    f = vf.clipart([p.path for p in held])
    ok = f.pop("ok").astype(bool)
    held = [p for p, g in zip(held, ok) if g]
    f = {k: v[ok] for k, v in f.items()}
    titles = embed_texts([p.title for p in held])
    sets = {"demo pictures": np.array([Path(p.path).stem.lower() in demo for p in held]),
            "held-out folders": np.ones(len(held), bool)}
    header = f"{'':26}{'visual P@5':>11}{'joint P@5':>11}{'t2i R@1':>9}{'t2i R@10':>10}"
    for name, rows in sets.items():
        y = np.array([p.category for p in held])[rows]
        n = int(rows.sum())
        print(f"\nOpen Clip Art, {name}: {n} items, {len(set(y))} categories (never trained on"
              f"{'' if name == 'demo pictures' else ' for the demo part only'})\n{header}")
        print(f"{'chance':26}{chance_p5(y):11.3f}{chance_p5(y):11.3f}{1 / n:9.3f}{10 / n:10.3f}")
        for label, (probs, pooled) in choices({k: v[rows] for k, v in f.items()}).items():
            joint = model.image(probs, pooled, labels)
            q = pj.unit(titles[rows])
            truth = np.arange(n)
            print(f"{label:26}{pj.precision_at(model.visual(pooled), y, 5):11.3f}"
                  f"{pj.precision_at(joint, y, 5):11.3f}{pj.recall_at(q, joint, truth, 1):9.3f}"
                  f"{pj.recall_at(q, joint, truth, 10):10.3f}")
    ff, fy = vf.fashion_set("test", FASHION_TEST_PER_CLASS)
    texts = [t for c in FMNIST_CLASSES for t in FMNIST_TEXTS[c]]
    tvec = dict(zip(texts, pj.unit(embed_texts(texts))))
    print(f"\nFashion-MNIST test: {len(fy)} items, 10 classes\n"
          f"{'':26}{'visual P@5':>11}{'joint P@5':>11}{'t2i P@10':>10}")
    print(f"{'chance':26}{chance_p5(fy):11.3f}{chance_p5(fy):11.3f}{0.1:10.3f}")
    for label, (probs, pooled) in choices(ff).items():
        joint = model.image(probs, pooled, labels)
        precs = [float(np.mean(fy[np.argsort(-(joint @ tvec[t]))[:10]] == c))
                 for c, name in enumerate(FMNIST_CLASSES) for t in FMNIST_TEXTS[name]]
        print(f"{label:26}{pj.precision_at(model.visual(pooled), fy, 5):11.3f}"
              f"{pj.precision_at(joint, fy, 5):11.3f}{np.mean(precs):10.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
