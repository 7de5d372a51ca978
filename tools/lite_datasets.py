"""Labelled image–text data that installs offline, for training and evaluating VLM Lite.

- Open Clip Art (Debian `openclipart-png` + `openclipart-svg`, public domain): each PNG
  with the title and keywords of its SVG, and its top-level folder as category.
- Fashion-MNIST (Debian `dataset-fashion-mnist`, MIT): 28x28 grey product photos in ten
  classes, shown dark-on-light at 112 px like a product photo.

Used by tools/train_joint.py and the benchmarks (benchmarks/eval_lite.py,
eval_catalog.py); never at run time. Feature extraction is cached under
~/.cache/vlm-desktop-train so repeated runs skip the towers.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
from make_demo_catalog import PNG_ROOT, SVG_ROOT, picture  # noqa: E402

FMNIST = Path("/usr/share/datasets/fashion-mnist")
FMNIST_CLASSES = ["T-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
                  "sneaker", "bag", "ankle boot"]
# One-line descriptions a shop would write; the class name first.
FMNIST_TEXTS = {
    "T-shirt": ["t-shirt", "short-sleeved top", "cotton tee"],
    "trouser": ["trousers", "long pants", "slacks"],
    "pullover": ["pullover", "knitted sweater", "jumper"],
    "dress": ["dress", "summer dress", "women's dress"],
    "coat": ["coat", "winter jacket", "long coat"],
    "sandal": ["sandal", "open summer shoe", "flip flop sandal"],
    "shirt": ["shirt", "button-up shirt", "long-sleeved shirt"],
    "sneaker": ["sneaker", "running shoe", "trainer"],
    "bag": ["bag", "handbag", "shoulder bag"],
    "ankle boot": ["ankle boot", "leather boot", "chelsea boot"],
}
# The demo catalog's folders: held out of the evaluation model entirely (a catalog it has
# never seen), and the demo's own items are never trained on by any model.
HELD_OUT_FOLDERS = ("animals", "food", "transportation", "tools", "plants", "office",
                    "electronics", "buildings")
CACHE = Path.home() / ".cache" / "vlm-desktop-train"


@dataclass(frozen=True)
class Pair:
    """One training or evaluation item: an image file with its texts and category."""

    path: str
    category: str
    title: str
    tags: tuple[str, ...]

    @property
    def texts(self) -> list[str]:
        """The title alone, and title with keywords: what a catalog row would say."""
        out = [self.title]
        tags = [t for t in self.tags if t.lower() not in self.title.lower()][:5]
        if tags:
            out.append(f"{self.title}, {', '.join(tags)}")
        return out


def demo_item_stems() -> set[str]:
    """File stems (lower case) of the shipped demo catalog's pictures."""
    folder = REPO / "resources" / "demo_catalog" / "images"
    return {p.stem.lower() for p in folder.rglob("*.png")}


def clipart_pairs() -> list[Pair]:
    """Every Open Clip Art picture with a usable title, weapons and b/w copies left out,
    one per title within a folder (many drawings exist in several copies)."""
    if not PNG_ROOT.is_dir() or not SVG_ROOT.is_dir():
        raise SystemExit("apt-get install openclipart-png openclipart-svg")
    out: list[Pair] = []
    seen: set[tuple[str, str]] = set()
    for png in sorted(PNG_ROOT.rglob("*.png")):
        found = picture(png)
        if found is None:
            continue
        title, keywords = found
        folder = png.relative_to(PNG_ROOT).parts[0]
        key = (folder, title.lower())
        if key in seen or title.lower() in ("open clip art library", "") or len(title) < 3:
            continue
        seen.add(key)
        tags = tuple(dict.fromkeys(k.strip().lower() for k in keywords
                                   if k.strip() and k.strip().lower() != folder))
        out.append(Pair(str(png), folder, title, tags))
    return out


def split_clipart(pairs: list[Pair], held_out: tuple[str, ...] = HELD_OUT_FOLDERS
                  ) -> tuple[list[Pair], list[Pair]]:
    """(train, held-out): whole folders held out; demo-catalog pictures never in train."""
    demo = demo_item_stems()
    train = [p for p in pairs if p.category not in held_out and Path(p.path).stem.lower() not in demo]
    test = [p for p in pairs if p.category in held_out]
    return train, test


def shipping_train(pairs: list[Pair]) -> list[Pair]:
    """Every picture except the demo catalog's own: what the shipped projection learns from."""
    demo = demo_item_stems()
    return [p for p in pairs if Path(p.path).stem.lower() not in demo]


def _idx(path: Path) -> np.ndarray:
    data = gzip.open(path).read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def fashion(split: str, per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N, 28, 28], labels [N]): a class-balanced, seeded sample of a split."""
    if not FMNIST.is_dir():
        raise SystemExit("apt-get install dataset-fashion-mnist")
    prefix = "train" if split == "train" else "t10k"
    images = _idx(FMNIST / f"{prefix}-images-idx3-ubyte.gz")
    labels = _idx(FMNIST / f"{prefix}-labels-idx1-ubyte.gz")
    rng = np.random.default_rng(seed)
    pick = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:per_class]
                           for c in range(10)])
    return images[pick], labels[pick].astype(np.int64)


def fashion_image(pixels: np.ndarray):  # noqa: ANN201 - PIL image
    """A Fashion-MNIST sample as a product photo: dark on light, 112 px, RGB."""
    from PIL import Image

    return Image.fromarray(255 - pixels).resize((112, 112), Image.Resampling.BICUBIC).convert("RGB")


def cache_key(*parts: object) -> str:
    h = hashlib.blake2b(digest_size=10)
    for p in parts:
        h.update(repr(p).encode())
    return h.hexdigest()


def tokens(text: str) -> set[str]:
    """Lower-case word stems of a text (a trailing plural 's' dropped), for hit tests."""
    out = set()
    for w in re.findall(r"[a-z]+", text.lower()):
        if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        if len(w) >= 3:
            out.add(w)
    return out
