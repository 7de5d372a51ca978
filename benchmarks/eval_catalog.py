"""Catalog retrieval quality on labelled catalogs built offline; prints tables beside chance.

- Fashion-MNIST (Debian `dataset-fashion-mnist`): a class-balanced subset of the test set;
  image->image precision@10 by class; text->image precision@10 with the class name as query.
- Open Clip Art (the shipped demo catalog, folders as categories): image->image
  precision@10 by category; text->image recall@10 with each item's title as the query.

Everything runs through the app's own path: import into a CatalogStore, index with the
Indexer, search with CatalogSearch in `vector` mode (no adaptive cut, k=10).
Uses the built-in LiteEngine when it loads, else says so and uses the FakeEngine.

    python benchmarks/eval_catalog.py [--per-class 60]
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from vlm_desktop.core.catalog.demo import demo_folder  # noqa: E402
from vlm_desktop.core.catalog.importer import import_folder  # noqa: E402
from vlm_desktop.core.catalog.indexer import Indexer  # noqa: E402
from vlm_desktop.core.catalog.search import CatalogSearch  # noqa: E402
from vlm_desktop.core.catalog.store import CatalogStore  # noqa: E402

FMNIST = Path("/usr/share/datasets/fashion-mnist")
FMNIST_CLASSES = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                  "Sneaker", "Bag", "Ankle boot"]


def load_engine():
    try:
        from vlm_desktop.core.device import choose_device
        from vlm_desktop.core.engine.lite.engine import LiteEngine

        return LiteEngine.load(choose_device("cpu")), "LiteEngine (built-in)"
    except Exception as exc:  # noqa: BLE001 - report and fall back, this is a benchmark
        from vlm_desktop.core.engine.fake import FakeEngine

        print(f"!! LiteEngine not available ({exc}); using the FakeEngine (colour histograms)")
        return FakeEngine(), "FakeEngine (LiteEngine unavailable)"


def fashion_folder(out: Path, per_class: int) -> Path:
    with gzip.open(FMNIST / "t10k-images-idx3-ubyte.gz") as fp:
        images = np.frombuffer(fp.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(FMNIST / "t10k-labels-idx1-ubyte.gz") as fp:
        labels = np.frombuffer(fp.read(), np.uint8, offset=8)
    rows = ["image,title,category"]
    for c, name in enumerate(FMNIST_CLASSES):
        folder = out / f"c{c}"
        folder.mkdir(parents=True, exist_ok=True)
        for j, idx in enumerate(np.flatnonzero(labels == c)[:per_class]):
            # Product photos are dark-on-light; Fashion-MNIST is light-on-black: invert.
            img = Image.fromarray(255 - images[idx]).resize((112, 112), Image.Resampling.BICUBIC)
            img.convert("RGB").save(folder / f"{j:03d}.png")
            rows.append(f"c{c}/{j:03d}.png,{name},{name}")
    (out / "meta.csv").write_text("\n".join(rows) + "\n")
    return out


def build(folder: Path, meta: Path, db: Path, engine) -> tuple[CatalogStore, float, int]:
    store = CatalogStore(db)
    import_folder(store, folder, metadata=meta)
    indexer = Indexer(store)
    t0 = time.perf_counter()
    final = indexer.run(engine)
    indexer.close()
    return store, time.perf_counter() - t0, final.done


def image_precision(store: CatalogStore, search: CatalogSearch) -> dict[str, tuple[float, float]]:
    """Per category: mean precision@10 of image->image (query item left out), and chance."""
    index = search.index.get()
    items = store.items(index.ids.tolist())
    counts = defaultdict(int)
    for it in items.values():
        counts[it.category] += 1
    n = len(items)
    per_cat: dict[str, list[float]] = defaultdict(list)
    for item_id, it in items.items():
        hits = search.by_vector(index.vector(item_id), k=10, exclude=[item_id], cut=False)
        per_cat[it.category].append(np.mean([h.item.category == it.category for h in hits]))
    return {c: (float(np.mean(v)), (counts[c] - 1) / (n - 1)) for c, v in per_cat.items()}


def print_table(title: str, rows: dict[str, tuple[float, float]]) -> None:
    print(f"\n{title}")
    print(f"{'category':<18}{'P@10':>8}{'chance':>9}{'ratio':>8}")
    for c, (p, ch) in sorted(rows.items()):
        print(f"{c:<18}{p:8.3f}{ch:9.3f}{p / ch:8.1f}")
    mean_p = np.mean([p for p, _ in rows.values()])
    mean_c = np.mean([c for _, c in rows.values()])
    print(f"{'mean':<18}{mean_p:8.3f}{mean_c:9.3f}{mean_p / mean_c:8.1f}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-class", type=int, default=60)
    parser.add_argument("--only", choices=("fmnist", "clipart"), default=None)
    args = parser.parse_args()
    engine, engine_name = load_engine()
    print(f"engine: {engine_name}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        if args.only != "clipart":
            eval_fashion(tmp_path, args.per_class, engine)
        if args.only != "fmnist":
            eval_clipart(tmp_path, engine)
    return 0


def eval_fashion(tmp_path: Path, per_class: int, engine) -> None:
    fm = fashion_folder(tmp_path / "fmnist", per_class)
    store, secs, n = build(fm, fm / "meta.csv", tmp_path / "fm.db", engine)
    print(f"Fashion-MNIST subset: {n} items indexed in {secs:.1f} s ({n / secs:.1f} items/s)")
    search = CatalogSearch.for_engine(store, engine)
    print_table("Fashion-MNIST image->image precision@10 by class", image_precision(store, search))
    rows = {}
    for name in FMNIST_CLASSES:
        hits = search.by_text(engine, name.lower(), k=10, mode="vector", cut=False)
        rows[name] = (float(np.mean([h.item.category == name for h in hits])), 0.1)
    print_table("Fashion-MNIST text->image precision@10 (query: class name, vector mode)",
                rows)


def eval_clipart(tmp_path: Path, engine) -> None:
    # A private copy: the evaluation must not see the shipped folder change under it.
    demo = tmp_path / "demo"
    shutil.copytree(demo_folder(), demo)
    store2, secs, n = build(demo, demo / "catalog.csv", tmp_path / "demo.db", engine)
    print(f"\nOpen Clip Art demo catalog: {n} items indexed in {secs:.1f} s")
    search2 = CatalogSearch.for_engine(store2, engine)
    print_table("Open Clip Art image->image precision@10 by category",
                image_precision(store2, search2))
    items = store2.all_items()
    found = 0
    for it in items:
        hits = search2.by_text(engine, it.title, k=10, mode="vector", cut=False)
        found += any(h.item.id == it.id for h in hits)
    recall = found / len(items)
    chance = 10 / len(items)
    print("\nOpen Clip Art text->image recall@10 (query: the item's title, vector mode)")
    print(f"recall@10 {recall:.3f}   chance {chance:.3f}   ratio {recall / chance:.1f}")
    found_h = 0
    for it in items:
        hits = search2.by_text(engine, it.title, k=10, mode="hybrid", cut=False)
        found_h += any(h.item.id == it.id for h in hits)
    print(f"(hybrid mode, same queries: recall@10 {found_h / len(items):.3f})")


if __name__ == "__main__":
    raise SystemExit(main())
