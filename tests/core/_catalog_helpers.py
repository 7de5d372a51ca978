"""Small generated catalogs for the catalog tests (fast: 32-px images, FakeEngine)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

# Two "interests" the FakeEngine's colour histograms tell apart: warm and cool palettes.
# Every colour sits mid-bin of the FakeEngine's 4-level quantiser, in a bin of its own.
WARM = [(224, 32, 32), (224, 160, 32), (224, 32, 160), (224, 224, 32), (160, 32, 32),
        (224, 96, 96)]
COOL = [(32, 32, 224), (32, 160, 224), (32, 224, 96), (96, 32, 224), (32, 96, 160),
        (96, 160, 224)]


def make_image(seed: int, palette: list[tuple[int, int, int]], size: int = 32) -> Image.Image:
    """Blocks of the palette's first colour (its "interest") mixed with two others in
    proportions that differ per seed, so items of one palette are alike but distinct."""
    rng = np.random.default_rng(seed)
    colours = np.array([palette[0], *(palette[i] for i in rng.choice(range(1, len(palette)), 2, replace=False))])
    share = rng.dirichlet([6.0, 2.0, 2.0])
    cells = rng.choice(3, size=(size // 4, size // 4), p=share)
    arr = colours[np.kron(cells, np.ones((4, 4), int))]
    return Image.fromarray(arr.astype(np.uint8))


def near_duplicate(image: Image.Image) -> Image.Image:
    """The same picture slightly brightened and resized, as a re-shot product photo would be."""
    arr = np.asarray(image.resize((40, 40), Image.Resampling.NEAREST), np.int16) + 3
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def make_catalog(root: Path, n_per: int = 6) -> dict[str, Path]:
    """Folders shoes/ (warm) and cameras/ (cool) with `n_per` images each; returns name->path."""
    out = {}
    for folder, palette, offset in (("shoes", WARM, 0), ("cameras", COOL, 1000)):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i in range(n_per):
            path = root / folder / f"{folder[:-1]}_{i:02d}.png"
            make_image(offset + i, palette).save(path)
            out[path.stem] = path
    return out


def make_store(tmp_path: Path, metadata_csv: str, n_per: int = 4, index: bool = True):
    """A catalog database over make_catalog(tmp_path / "cat") with this metadata, indexed
    with the FakeEngine unless `index` is False; returns (store, name -> path)."""
    from vlm_desktop.core.catalog.importer import import_folder
    from vlm_desktop.core.catalog.indexer import Indexer
    from vlm_desktop.core.catalog.store import CatalogStore
    from vlm_desktop.core.engine.fake import FakeEngine

    root = tmp_path / "cat"
    paths = make_catalog(root, n_per=n_per)
    meta = tmp_path / "m.csv"
    meta.write_text(metadata_csv)
    store = CatalogStore(tmp_path / "c.db")
    import_folder(store, root, metadata=meta)
    if index:
        indexer = Indexer(store)
        try:
            indexer.run(FakeEngine())
        finally:
            indexer.close()
    return store, paths
