"""Before/after tables of catalog adaptation (`vlm-desktop catalog adapt`) on two labelled
catalogs the shipped projection never trained on, beside chance.

- Fashion-MNIST (Debian `dataset-fashion-mnist`): a class-balanced sample of the *test*
  split (the shipped projection saw training-split images only), titled in a shop's own
  vocabulary that the shipped model never read ("Chelsea boot", "Midi wrap dress", ...),
  with a shade word measured from the picture ("dark Chelsea boot"): one-line titles that
  several items share, so text->image recall counts an item titled the same as a hit.
- Open Clip Art: the shipped demo catalog (297 pictures, 8 folders), which
  tools/train_joint.py leaves out of every model's training; its one-line titles.

Everything goes through the product path: images written to a folder, imported into a
CatalogStore, `adapt.adapt_catalog` (features cached beside the catalog; not applied).
Each catalog runs with several split seeds. "after" is measured on the held-out items that
also chose the epoch (early stopping), as the app reports it; "after (clean)" stops on one
half of the held-out items and measures on the other half, which chose nothing.

    python benchmarks/eval_adapt.py [--per-class 100] [--seeds 0 1 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from vlm_desktop.core.catalog import adapt  # noqa: E402
from vlm_desktop.core.catalog.demo import demo_folder  # noqa: E402
from vlm_desktop.core.catalog.importer import import_folder  # noqa: E402
from vlm_desktop.core.catalog.store import CatalogStore  # noqa: E402
from vlm_desktop.core.catalog import naming as catalog_naming  # noqa: E402

FMNIST = Path("/usr/share/datasets/fashion-mnist")
# A shop's names for the ten classes: none of them is a Fashion-MNIST class text the
# shipped projection trained with (tools/lite_datasets.FMNIST_TEXTS), except "Chelsea".
SHOP_NAMES = ["Essential crew tee", "Slim chino", "Cable knit jumper", "Midi wrap dress",
              "Belted trench", "Strappy slide", "Oxford button-down", "Court trainer",
              "Leather tote", "Chelsea boot"]
SHOP_CATEGORIES = ["Tops", "Bottoms", "Knitwear", "Dresses", "Outerwear", "Sandals", "Shirts",
                   "Trainers", "Bags", "Boots"]
KEYS = ("t2i_r1", "t2i_r10", "i2i_p5", "i2i_p5_joint")


def _idx(path: Path) -> np.ndarray:
    data = gzip.open(path).read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def fashion_catalog(folder: Path, per_class: int) -> CatalogStore:
    """Fashion-MNIST test images as a shop catalog (see module doc)."""
    if not FMNIST.is_dir():
        raise SystemExit("apt-get install dataset-fashion-mnist")
    images = _idx(FMNIST / "t10k-images-idx3-ubyte.gz")
    labels = _idx(FMNIST / "t10k-labels-idx1-ubyte.gz")
    rng = np.random.default_rng(0)
    pick = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:per_class]
                           for c in range(10)])
    root = folder / "images"
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for n, i in enumerate(pick):
        pixels, c = images[i], int(labels[i])
        ink = pixels[pixels > 30]
        shade = "light" if ink.size == 0 or ink.mean() < 110 else "dark" if ink.mean() > 170 else "grey"
        name = f"{n:05d}.png"
        Image.fromarray(255 - pixels).resize((112, 112), Image.Resampling.BICUBIC).convert(
            "RGB").save(root / name)
        rows.append({"image": name, "title": f"{shade} {SHOP_NAMES[c]}".capitalize(),
                     "category": SHOP_CATEGORIES[c]})
    return _import(folder, root, rows)


def clipart_catalog(folder: Path) -> CatalogStore:
    """The shipped demo catalog (Open Clip Art), copied so its folder is not written to."""
    src = demo_folder()
    root = folder / "images"
    shutil.copytree(src / "images", root, dirs_exist_ok=True)
    with open(src / "catalog.csv", newline="", encoding="utf-8") as fp:
        rows = [{"image": r["image"].removeprefix("images/"), "title": r["title"],
                 "category": r["category"], "tags": r.get("tags", "")} for r in csv.DictReader(fp)]
    return _import(folder, root, rows)


def _import(folder: Path, root: Path, rows: list[dict[str, str]]) -> CatalogStore:
    meta = folder / "meta.csv"
    with open(meta, "w", newline="", encoding="utf-8") as fp:
        w = csv.DictWriter(fp, fieldnames=sorted({k for r in rows for k in r}))
        w.writeheader()
        w.writerows(rows)
    store = CatalogStore(folder / "catalog.db")
    import_folder(store, root, metadata=meta)
    return store


def halves(held: adapt.HeldOut) -> tuple[adapt.HeldOut, adapt.HeldOut]:
    """The held-out items split in two, alternating within each category."""
    order = np.argsort(held.categories, kind="stable")
    a, b = order[0::2], order[1::2]

    def part(ix: np.ndarray) -> adapt.HeldOut:
        return adapt.HeldOut(held.probs[ix], held.pooled[ix], held.queries[ix], held.groups[ix],
                             held.categories[ix])

    return part(a), part(b)


def naming(proj, held: adapt.HeldOut, labels: np.ndarray, names: list[str],  # noqa: ANN001
           name_vecs: np.ndarray, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """(confidence, right) per held-out item of naming it by the closest category name in
    the joint space (softmax over the catalog's category names at `temperature`)."""
    joint = proj.image(held.probs.astype(np.float32), held.pooled.astype(np.float32), labels)
    logits = joint @ name_vecs.T / temperature
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    top = p.argmax(axis=1)
    return p.max(axis=1), np.array([names[t] for t in top]) == held.categories


def threshold_for(conf: np.ndarray, right: np.ndarray, precision: float = 0.9) -> float:
    """The lowest confidence above which naming is right at least `precision` of the time
    (1.01: never)."""
    for t in np.sort(conf):
        named = conf >= t
        if named.sum() >= 5 and right[named].mean() >= precision:
            return float(t)
    return 1.01


def naming_rows(base, clean, stop: adapt.HeldOut, test: adapt.HeldOut,  # noqa: ANN001
                labels: np.ndarray, engine, temperature: float) -> dict[str, float]:  # noqa: ANN001
    """Category naming on the clean half: top-1 accuracy of the base and adapted joint
    spaces, and, at a confidence threshold chosen on the other half (precision 0.9), how
    many items the adapted space would name and how many of those rightly."""
    names = sorted(set(stop.categories.tolist()) | set(test.categories.tolist()))
    vecs = engine.embed_texts(names)
    vecs = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    out = {}
    for label, proj in (("base", base), ("adapted", clean)):
        conf_s, right_s = naming(proj, stop, labels, names, vecs, temperature)
        conf_t, right_t = naming(proj, test, labels, names, vecs, temperature)
        t = threshold_for(conf_s, right_s)
        named = conf_t >= t
        out[f"{label}_top1"] = float(right_t.mean())
        out[f"{label}_threshold"] = t
        out[f"{label}_named"] = float(named.mean())
        out[f"{label}_named_right"] = float(right_t[named].mean()) if named.any() else float("nan")
    return out


def run_catalog(name: str, store: CatalogStore, engine, seeds: list[int]) -> dict:  # noqa: ANN001
    """Adapt with each seed; returns the rows of the table."""
    base = engine.joint.projection
    rows: dict[str, list[dict[str, float]]] = {"before": [], "after": [], "chance": [],
                                               "before (clean half)": [], "after (clean)": []}
    extra: dict[str, list[float]] = {"held_out": [], "epochs": [], "best_epoch": [],
                                     "s_per_epoch": [], "rss_growth_mb": []}
    names: list[dict[str, float]] = []
    t0 = time.perf_counter()
    adapt.prepare(store, engine, adapt.AdaptConfig())  # features once, outside the timings
    prepare_s = time.perf_counter() - t0
    for seed in seeds:
        config = adapt.AdaptConfig(seed=seed)
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        report = adapt.adapt_catalog(store, engine, config, apply=False)
        extra["rss_growth_mb"].append(
            (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024)
        for key in ("before", "after", "chance"):
            rows[key].append(getattr(report, key))
        for key, value in (("held_out", report.held_out), ("epochs", report.epochs),
                           ("best_epoch", report.best_epoch),
                           ("s_per_epoch", report.seconds_per_epoch)):
            extra[key].append(float(value))
        data, _ = adapt.prepare(store, engine, config)
        stop, test = halves(data.held)
        clean, _ = adapt.train(replace(data, held=stop), base, config)
        rows["before (clean half)"].append(adapt.measure(base, test, data.labels))
        rows["after (clean)"].append(adapt.measure(clean, test, data.labels))
        names.append(naming_rows(base, clean, stop, test, data.labels, engine, config.temperature))
    _print(name, store, rows, extra, prepare_s, seeds)
    print("naming the category on the clean half (mean over seeds): " + ", ".join(
        f"{k} {np.nanmean([n[k] for n in names]):.3f}" for k in names[0]))
    return {"rows": rows, "extra": extra}


def run_naming(name: str, store: CatalogStore, engine) -> None:  # noqa: ANN001
    """The catalog's name for an item from its nearest other items (core/catalog/naming.py),
    leave-one-out over the catalog: at each threshold, the share of items named and the
    share named rightly, on two halves (the threshold is picked on one, read on the other)."""
    from vlm_desktop.core.catalog.indexer import Indexer
    from vlm_desktop.core.catalog.search import CatalogSearch

    indexer = Indexer(store, batch_size=32)
    while indexer.next_batch(engine) is not None:
        pass
    cs = CatalogSearch.for_engine(store, engine)
    index = cs.index.get()
    items = [it for it in store.all_items() if it.category]
    shares, right = [], []
    for it in items:
        vec = index.vector(it.id)
        hits = cs.by_vector(vec, k=catalog_naming.NEIGHBOURS, exclude=[it.id], cut=False)
        guess = catalog_naming.guess_category(hits, min_share=0.0)
        shares.append(guess.share if guess else 0.0)
        right.append(bool(guess and guess.category == it.category))
    shares_a, right_a = np.array(shares), np.array(right)
    order = np.random.default_rng(0).permutation(len(items))
    halves_ = {"A": order[::2], "B": order[1::2]}
    top = max(np.mean([it.category == c for it in items]) for c in {it.category for it in items})
    print(f"\n{name}: {len(items)} items; leave-one-out naming by the {catalog_naming.NEIGHBOURS} "
          f"nearest (joint space); always naming: right {right_a.mean():.3f}; largest category "
          f"{top:.3f} (chance)")
    for t in (0.5, 0.6, 0.7, 0.8, 0.9):
        cells = []
        for half, ix in halves_.items():
            named = shares_a[ix] >= t
            rate = right_a[ix][named].mean() if named.any() else float("nan")
            cells.append(f"{half}: names {named.mean():.2f}, right {rate:.2f}")
        mark = "  <- MIN_SHARE" if abs(t - catalog_naming.MIN_SHARE) < 1e-9 else ""
        print(f"  share >= {t:.1f}   " + "   ".join(cells) + mark)


def _print(name: str, store: CatalogStore, rows: dict, extra: dict, prepare_s: float,
           seeds: list[int]) -> None:
    n = store.stats().items
    print(f"\n{name}: {n} items, {len(store.categories())} categories; held-out "
          f"{np.mean(extra['held_out']):.0f} items; seeds {seeds} (mean, [min-max])")
    print(f"{'':24}" + "".join(f"{k:>20}" for k in KEYS))
    for label, values in rows.items():
        cells = []
        for k in KEYS:
            v = np.array([r[k] for r in values])
            cells.append(f"{v.mean():8.3f} [{v.min():.2f}-{v.max():.2f}]")
        print(f"{label:24}" + "".join(f"{c:>20}" for c in cells))
    print(f"epochs run {np.mean(extra['epochs']):.1f}, kept epoch {extra['best_epoch']}, "
          f"{np.mean(extra['s_per_epoch']):.2f} s/epoch; reading features once "
          f"{prepare_s:.0f} s; peak RSS growth during adapt {max(extra['rss_growth_mb']):.0f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--keep", type=Path, help="build the catalogs here and keep them "
                        "(a rerun then reuses the cached features)")
    parser.add_argument("--naming", action="store_true", help="only the catalog-category "
                        "naming table (core/catalog/naming.py), no adapting")
    args = parser.parse_args()
    from vlm_desktop.core.device import choose_device
    from vlm_desktop.core.engine.lite.engine import LiteEngine

    print(f"load average {open('/proc/loadavg').read().split()[:3]}", file=sys.stderr)
    engine = LiteEngine.load(choose_device("cpu"))
    work = args.keep or Path(tempfile.mkdtemp(prefix="eval-adapt-"))
    try:
        fashion = work / f"fashion-{args.per_class}"
        store = CatalogStore(fashion / "catalog.db") if (fashion / "catalog.db").is_file() \
            else fashion_catalog(fashion, args.per_class)
        run = (lambda n, st: run_naming(n, st, engine)) if args.naming else (
            lambda n, st: run_catalog(n, st, engine, args.seeds))
        run("Fashion-MNIST test split, shop titles", store)
        clip = work / "clipart-demo"
        store = CatalogStore(clip / "catalog.db") if (clip / "catalog.db").is_file() \
            else clipart_catalog(clip)
        run("Open Clip Art, the demo catalog (never trained on)", store)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\npeak RSS of the process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
          f"load average {open('/proc/loadavg').read().split()[:3]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
