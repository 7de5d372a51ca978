"""Seconds to adapt a freshly indexed catalog, with the tower features the indexer kept
and without them (as a catalog indexed before the indexer kept them): the demo catalog
(297 pictures) on the built-in model.

    python benchmarks/adapt_after_indexing.py [--device cpu] [--epochs 30]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vlm_desktop.core.catalog import adapt, adapt_store  # noqa: E402
from vlm_desktop.core.catalog.demo import demo_folder  # noqa: E402
from vlm_desktop.core.catalog.importer import import_folder  # noqa: E402
from vlm_desktop.core.catalog.indexer import Indexer  # noqa: E402
from vlm_desktop.core.catalog.store import CatalogStore  # noqa: E402
from vlm_desktop.core.device import choose_device  # noqa: E402
from vlm_desktop.core.engine.lite.engine import LiteEngine  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--epochs", type=int, default=30)
    args = ap.parse_args()
    engine = LiteEngine.load(choose_device(args.device))
    config = replace(adapt.AdaptConfig(), epochs=args.epochs)
    folder = demo_folder()
    with tempfile.TemporaryDirectory() as tmp:
        store = CatalogStore(Path(tmp) / "demo.db")
        import_folder(store, folder / "images", metadata=folder / "catalog.csv")
        t0 = time.perf_counter()
        indexer = Indexer(store)
        try:
            indexer.run(engine)
        finally:
            indexer.close()
        index_s = time.perf_counter() - t0
        cache = adapt_store.adapt_dir(store)
        for label, drop in (("features kept while indexing", False),
                            ("features recomputed (no cache)", True)):
            if drop:
                for f in cache.glob("features*.npz"):
                    f.unlink()
            t0 = time.perf_counter()
            report = adapt.adapt_catalog(store, engine, config, apply=False)
            print(f"{label:34s} adapt {time.perf_counter() - t0:6.1f} s "
                  f"({report.trained + report.held_out} items, {report.epochs} epochs, "
                  f"{report.seconds_per_epoch:.2f} s/epoch)", flush=True)
        print(f"indexing {store.stats().items} items took {index_s:.1f} s")
        store.close()
    engine.close()


if __name__ == "__main__":
    main()
