"""Train VLM Lite's joint-space projection and visual transform, reproducibly, on this CPU.

    python tools/train_joint.py            # evaluate on held-out folders, then train and
                                           # write resources/lite/projection.safetensors
    python tools/train_joint.py --eval-only

Data (offline, Debian packages): Open Clip Art pictures with their titles and keywords,
Fashion-MNIST with one-line class descriptions, and the ImageNet classes through the
classifier as the prior (training starts from ConSE). Two models are trained with the
same settings and seed:

1. the *evaluation* model, which never sees the held-out folders (the demo catalog's eight
   folders) nor Fashion-MNIST's held-out classes; its figures on them are the honest ones,
   printed beside chance, a naive baseline from the same towers and the previous model;
2. the *shipped* model, trained on everything except the demo catalog's own pictures and
   the Fashion-MNIST test split, written with its metrics and licence notes.

Tower features are cached (~/.cache/vlm-desktop-train), so a rerun takes seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))
sys.path.insert(0, str(TOOLS.parent))
from lite_datasets import (FMNIST_CLASSES, FMNIST_TEXTS, HELD_OUT_FOLDERS, Pair,  # noqa: E402
                           clipart_pairs, shipping_train, split_clipart, tokens)
from lite_features import clipart_features, embed_texts, fashion_features  # noqa: E402

from vlm_desktop.core.engine.lite import projection as pj  # noqa: E402
from vlm_desktop.core.engine.lite.joint import labels_digest  # noqa: E402

OUT = TOOLS.parent / "resources" / "lite" / "projection.safetensors"
SEED = 0
FASHION_TRAIN_PER_CLASS = 600
FASHION_TEST_PER_CLASS = 100
# Fashion-MNIST classes the evaluation model never trains on (the rest it does).
FASHION_HELD_OUT = (1, 3, 5, 7, 9)  # trouser, dress, sandal, sneaker, ankle boot
CONFIG = pj.FitConfig()
# Training folders that stand in for an unseen catalog when epochs and naming are chosen.
VALIDATION_FOLDERS = ("recreation", "geography", "special", "education", "people")
LICENCE = ("Trained on Open Clip Art (public domain, Debian openclipart-png/-svg) and "
           "Fashion-MNIST (MIT, Zalando SE; Debian dataset-fashion-mnist); starts from the "
           "ImageNet classifier of EfficientNet-Lite0 (Apache-2.0) over all-MiniLM-L6-v2 "
           "label embeddings (Apache-2.0).")


def load_engine():  # noqa: ANN201
    from vlm_desktop.core.device import choose_device
    from vlm_desktop.core.engine.lite.engine import LiteEngine

    return LiteEngine.load(choose_device("cpu"), use_projection=False)


class Sets:
    """Features of every pair, text vectors of every text, split as the model needs."""

    def __init__(self, engine) -> None:  # noqa: ANN001
        self.labels = engine.joint.labels
        self.pairs = clipart_pairs()
        f = clipart_features(self.pairs)
        ok = f["ok"].astype(bool)
        self.pairs = [p for p, good in zip(self.pairs, ok) if good]
        self.clip = {k: v[ok] for k, v in f.items() if k != "ok"}
        self.index = {p.path: i for i, p in enumerate(self.pairs)}
        texts = sorted({t for p in self.pairs for t in p.texts})
        vecs = embed_texts(texts)
        self.text = dict(zip(texts, vecs))
        self.ftrain, self.ftrain_y = fashion_features("train", FASHION_TRAIN_PER_CLASS)
        self.ftest, self.ftest_y = fashion_features("test", FASHION_TEST_PER_CLASS)
        ftexts = [t for c in FMNIST_CLASSES for t in FMNIST_TEXTS[c]]
        self.ftext = dict(zip(ftexts, embed_texts(ftexts)))

    def clip_rows(self, pairs: list[Pair]) -> np.ndarray:
        return np.array([self.index[p.path] for p in pairs if p.path in self.index], int)

    def fit_data(self, pairs: list[Pair], fashion_classes: tuple[int, ...]) -> pj.FitData:
        rows = self.clip_rows(pairs)
        kept = [self.pairs[i] for i in rows]
        groups = {}
        group = [groups.setdefault(p.title.lower(), len(groups)) for p in kept]
        texts = [np.stack([self.text[t] for t in p.texts]) for p in kept]
        pooled, probs = [self.clip["pooled"][rows]], [self.clip["probs"][rows]]
        fmask = np.isin(self.ftrain_y, fashion_classes)
        for y in self.ftrain_y[fmask]:
            name = FMNIST_CLASSES[int(y)]
            texts.append(np.stack([self.ftext[t] for t in FMNIST_TEXTS[name]]))
            group.append(100_000 + int(y))
        pooled.append(self.ftrain["pooled"][fmask])
        probs.append(self.ftrain["probs"][fmask])
        pooled_all, probs_all = np.concatenate(pooled), np.concatenate(probs)
        return pj.FitData(pooled_all, pj.conse(probs_all, self.labels), texts, np.array(group))


def previous_image(engine, probs: np.ndarray, pooled: np.ndarray) -> np.ndarray:  # noqa: ANN001
    """The previous model's joint embedding (ConSE 0.75 + ridge map 0.25) of each image."""
    return np.stack([engine.joint.legacy_embedding(p, x) for p, x in zip(probs, pooled)])


def naive_pooled(pooled: np.ndarray) -> np.ndarray:
    return pj.unit(pooled)


def evaluate(name: str, sets: Sets, engine, model: pj.Projection, test: list[Pair]) -> dict:  # noqa: ANN001
    """Held-out figures of `model` beside chance, the naive baseline and the previous model."""
    rows = sets.clip_rows(test)
    probs, pooled = sets.clip["probs"][rows], sets.clip["pooled"][rows]
    cats = np.array([sets.pairs[i].category for i in rows])
    titles = [sets.pairs[i].title for i in rows]
    q = pj.unit(np.stack([sets.text[t] for t in titles]))
    truth = np.arange(len(rows))
    _, counts = np.unique(cats, return_counts=True)
    chance_p = float(np.sum(counts * (counts - 1)) / (len(cats) * (len(cats) - 1)))
    spaces = {
        "naive (pooled 224 / ConSE)": (naive_pooled(pooled), pj.conse(probs, sets.labels)),
        "previous model": (previous_image(engine, probs, pooled),) * 2,
        "new model": (model.visual(pooled), model.image(probs, pooled, sets.labels)),
    }
    out: dict = {"items": len(rows), "categories": int(len(counts)),
                 "chance": {"i2i_p5": chance_p, "t2i_r1": 1 / len(rows), "t2i_r10": 10 / len(rows)}}
    for label, (vis, joint) in spaces.items():
        out[label] = {"i2i_p5": pj.precision_at(vis, cats, 5),
                      "t2i_r1": pj.recall_at(q, joint, truth, 1),
                      "t2i_r10": pj.recall_at(q, joint, truth, 10)}
    joint = model.image(probs, pooled, sets.labels)
    out["new model, joint space for i2i"] = {"i2i_p5": pj.precision_at(joint, cats, 5)}
    for w in (0.3, 0.5):
        mix = pj.unit(np.concatenate([np.sqrt(1 - w) * model.visual(pooled), np.sqrt(w) * joint], 1))
        out[f"new, visual+joint {w}"] = {"i2i_p5": pj.precision_at(mix, cats, 5)}
    _print(name, out)
    return out


def evaluate_fashion(sets: Sets, engine, model: pj.Projection, held: tuple[int, ...]) -> dict:  # noqa: ANN001
    """Fashion-MNIST test images: i2i P@5 by class; text->image P@10 per class description,
    split into classes the model trained on and held-out ones."""
    probs, pooled, y = sets.ftest["probs"], sets.ftest["pooled"], sets.ftest_y
    spaces = {"naive (pooled 224 / ConSE)": (naive_pooled(pooled), pj.conse(probs, sets.labels)),
              "previous model": (previous_image(engine, probs, pooled),) * 2,
              "new model": (model.visual(pooled), model.image(probs, pooled, sets.labels))}
    out: dict = {"items": int(len(y)), "chance": {"i2i_p5": (FASHION_TEST_PER_CLASS - 1) / (len(y) - 1),
                                                  "t2i_p10_seen": 0.1, "t2i_p10_held": 0.1}}
    for label, (vis, joint) in spaces.items():
        row = {"i2i_p5": pj.precision_at(vis, y, 5)}
        for part, classes in (("seen", [c for c in range(10) if c not in held]), ("held", list(held))):
            precs = []
            for c in classes:
                for text in FMNIST_TEXTS[FMNIST_CLASSES[c]]:
                    sims = joint @ pj.unit(sets.ftext[text])
                    precs.append(float(np.mean(y[np.argsort(-sims)[:10]] == c)))
            row[f"t2i_p10_{part}"] = float(np.mean(precs)) if precs else float("nan")
        out[label] = row
    _print("Fashion-MNIST test", out)
    return out


def _print(name: str, out: dict) -> None:
    print(f"\n{name}: {out['items']} held-out items")
    keys = sorted({k for v in out.values() if isinstance(v, dict) for k in v})
    print(f"{'':34}" + "".join(f"{k:>14}" for k in keys))
    for label, v in out.items():
        if isinstance(v, dict):
            print(f"{label:34}" + "".join(f"{v[k]:14.3f}" if k in v else f"{'':>14}" for k in keys))


NAMING_BETAS = (0.0, 0.25, 0.4, 0.5, 0.6, 0.75)
NAMING_TEMPERATURES = (0.02, 0.03, 0.05)


def named(engine, probs: np.ndarray, pooled: np.ndarray, model: pj.Projection | None,  # noqa: ANN001
          beta: float, temperature: float) -> list[str]:
    """The main object's name the captioner would give each image (probs fused as in
    LiteEngine._with_naming; beta 0 = the classifier alone, the previous model)."""
    from vlm_desktop.core.engine.lite.captioner import choose_node

    hier = engine.hier
    out = []
    z = model.image(probs, pooled, engine.joint.labels) if model is not None and beta > 0 else None
    for i, p in enumerate(probs):
        node, hedged = choose_node(hier, hier.masses(p))
        if z is not None and hedged:  # as captioner._main_object: only where the classifier is unsure
            reading = np.exp((engine.joint.labels @ z[i] - 1.0) / temperature, dtype=np.float64)
            f = np.power(np.maximum(p, 1e-12), 1 - beta) * np.power(reading / reading.sum(), beta)
            node, _ = choose_node(hier, hier.masses((f / f.sum()).astype(np.float32)))
        out.append(hier.name(node))
    return out


def hit_rate(names: list[str], pairs: list[Pair]) -> float:
    return float(np.mean([bool(tokens(n) & tokens(" ".join((p.title, *p.tags))))
                          for n, p in zip(names, pairs)]))


def caption_rates(sets: Sets, engine, model: pj.Projection, pairs: list[Pair]) -> dict:  # noqa: ANN001
    rows = sets.clip_rows(pairs)
    kept = [sets.pairs[i] for i in rows]
    probs, pooled = sets.clip["probs"][rows], sets.clip["pooled"][rows]
    top1 = [engine.hier.node_names[int(np.argmax(p))] for p in probs]
    beta, temperature = model.naming
    return {"top-1 ImageNet label": hit_rate(top1, kept),
            "previous model": hit_rate(named(engine, probs, pooled, None, 0, 1), kept),
            "new model": hit_rate(named(engine, probs, pooled, model, beta, temperature), kept)}


def choose_naming(sets: Sets, engine, model: pj.Projection, val: list[Pair]) -> dict:  # noqa: ANN001
    """The (beta, temperature) whose names hit the validation pairs' titles most often."""
    rows = sets.clip_rows(val)
    kept = [sets.pairs[i] for i in rows]
    probs, pooled = sets.clip["probs"][rows], sets.clip["pooled"][rows]
    best = (-1.0, 0.0, 0.05)
    for beta in NAMING_BETAS:
        for t in NAMING_TEMPERATURES if beta > 0 else (0.05,):
            rate = hit_rate(named(engine, probs, pooled, model, beta, t), kept)
            if rate > best[0] + 1e-9:
                best = (rate, beta, t)
    print(f"  naming: beta {best[1]}, temperature {best[2]}: validation hit rate {best[0]:.3f} "
          f"(classifier alone {hit_rate(named(engine, probs, pooled, None, 0, 1), kept):.3f})",
          file=sys.stderr)
    return {"beta": best[1], "temperature": best[2]}


def with_meta(model: pj.Projection, meta: dict) -> pj.Projection:
    return pj.Projection(model.alpha, model.mean, model.w, model.b, model.visual_mean,
                         model.visual_basis, model.visual_power, {**model.meta, **meta})


def validation_score(sets: Sets, val: list[Pair]):  # noqa: ANN201
    """Text->image recall@10 on a validation split of the *training* folders."""
    rows = sets.clip_rows(val)
    probs, pooled = sets.clip["probs"][rows], sets.clip["pooled"][rows]
    q = pj.unit(np.stack([sets.text[sets.pairs[i].title] for i in rows]))
    truth = np.arange(len(rows))
    return lambda m: pj.recall_at(q, m.image(probs, pooled, sets.labels), truth, 10)


def train(sets: Sets, engine, pairs: list[Pair], fashion_classes: tuple[int, ...],  # noqa: ANN001
          label: str) -> tuple[pj.Projection, list[dict]]:
    """Epochs and naming chosen on validation folders (whole folders of the training set,
    so the choice favours what carries over to a catalog never seen), then refit on all."""
    val = [p for p in pairs if p.category in VALIDATION_FOLDERS]
    fit_pairs = [p for p in pairs if p.category not in VALIDATION_FOLDERS]
    data = sets.fit_data(fit_pairs, fashion_classes)
    t0 = time.perf_counter()
    _, history = pj.fit(data, CONFIG, score=validation_score(sets, val), patience=6)
    best = max(history, key=lambda h: h.get("score", -1.0))
    epochs = max(1, int(best["epoch"]))
    full = sets.fit_data(pairs, fashion_classes)
    model, _ = pj.fit(full, pj.FitConfig(**{**CONFIG.__dict__, "epochs": epochs}))
    # Naming is tuned on the validation split with a model that never saw it.
    val_model, _ = pj.fit(data, pj.FitConfig(**{**CONFIG.__dict__, "epochs": epochs}))
    model = with_meta(model, {"naming": choose_naming(sets, engine, val_model, val)})
    print(f"{label}: {len(full.group)} pairs; validation R@10 {history[0]['score']:.3f} (ConSE) -> "
          f"{best['score']:.3f} at epoch {epochs}; {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return model, history


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-only", action="store_true", help="do not write the shipped model")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    engine = load_engine()
    sets = Sets(engine)
    train_pairs, test_pairs = split_clipart(sets.pairs)
    seen = tuple(c for c in range(10) if c not in FASHION_HELD_OUT)
    eval_model, _ = train(sets, engine, train_pairs, seen, "evaluation model")
    held = evaluate(f"Open Clip Art, held-out folders {', '.join(HELD_OUT_FOLDERS)}",
                    sets, engine, eval_model, test_pairs)
    held["caption_hit"] = caption_rates(sets, engine, eval_model, test_pairs)
    print("caption names the object (title/keyword word):", json.dumps(held["caption_hit"]))
    fashion = evaluate_fashion(sets, engine, eval_model, FASHION_HELD_OUT)
    if args.eval_only:
        return 0
    ship_pairs = shipping_train(sets.pairs)
    model, history = train(sets, engine, ship_pairs, tuple(range(10)), "shipped model")
    demo = [p for p in sets.pairs if p not in ship_pairs]
    demo_eval = evaluate("Shipped model on the demo catalog's pictures (never trained on)",
                         sets, engine, model, demo)
    meta = {"seed": SEED, "config": CONFIG.__dict__, "trained_pairs": len(ship_pairs),
            "held_out_folders": list(HELD_OUT_FOLDERS),
            "fashion_held_out_classes": [FMNIST_CLASSES[c] for c in FASHION_HELD_OUT],
            "evaluation_model": {"clipart_held_out": held, "fashion_test": fashion},
            "shipped_model": {"demo_pictures": demo_eval, "epochs": len(history) - 1},
            "label_embeddings": labels_digest(sets.labels),
            "licence": LICENCE}
    model = with_meta(model, meta)
    model.save(args.out)
    args.out.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
