"""Quality of the built-in model on labelled sets built offline; prints tables with chance.

Sets: scikit-image photos (captions and yes/no), Fashion-MNIST test images (Debian package
`dataset-fashion-mnist`; caption words mapped to the 10 classes), generated coloured shapes
(colour questions). Run: python benchmarks/eval_lite.py [--fashion N] [--threads N]
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = ["T-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
                   "sneaker", "bag", "ankle boot"]
# Caption words that name each Fashion-MNIST class (ImageNet has no exact match for most).
FASHION_WORDS = {
    0: {"t-shirt", "jersey", "tee"}, 1: {"jeans", "trouser", "pants", "trousers"},
    2: {"sweatshirt", "cardigan", "pullover", "sweater"}, 3: {"gown", "dress", "overskirt", "miniskirt", "abaya"},
    4: {"coat", "trench", "fur", "lab", "poncho"}, 5: {"sandal", "clog"},
    6: {"shirt", "suit", "blouse"}, 7: {"shoe", "sneaker", "running"},
    8: {"bag", "purse", "handbag", "backpack", "mailbag", "wallet"}, 9: {"boot", "cowboy", "clog"},
}
PHOTOS = {"chelsea": {"cat"}, "coffee": {"coffee", "espresso", "cup"},
          "rocket": {"rocket", "missile"}, "astronaut": {"astronaut", "person", "woman", "helmet"}}
COLOURS = {"red": (220, 30, 30), "green": (40, 170, 50), "blue": (30, 60, 220),
           "yellow": (240, 220, 30), "orange": (250, 140, 20), "purple": (130, 40, 170),
           "pink": (250, 150, 190), "brown": (120, 70, 30), "black": (15, 15, 15),
           "grey": (128, 128, 128)}


def _idx(path: Path) -> np.ndarray:
    data = gzip.open(path).read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def _photo(name: str) -> Image.Image:
    import skimage.data as sd

    if name == "motorcycle":
        return Image.open(Path(sd.__file__).parent / "motorcycle_left.png").convert("RGB")
    return Image.fromarray(getattr(sd, name)()).convert("RGB")


def _words(text: str) -> set[str]:
    return {w.strip(".,").lower() for w in text.replace("(", " ").replace(")", " ").split()}


def eval_photos(engine) -> list[tuple[str, int, int, str]]:
    sets = dict(PHOTOS, motorcycle={"motorcycle", "moped", "scooter"})
    hits = 0
    for name, words in sets.items():
        cap = engine.caption(_photo(name))
        ok = bool(_words(cap.text) & words)
        hits += ok
        print(f"  {name:11} {'HIT ' if ok else 'miss'} {cap.text!r} ({cap.confidence:.2f})")
    yes_total = yes_ok = 0
    for name in sets:
        for target, truth in (("cat", name == "chelsea"), ("dog", False), ("vehicle", name in ("motorcycle",))):
            ans = engine.answer(_photo(name), f"Is there a {target}?")
            yes_ok += ans.text.lower().startswith("yes") == truth
            yes_total += 1
    return [("scikit-image photos: caption object hit", hits, len(sets), "~0% (1 in 1000 classes)"),
            ("scikit-image photos: yes/no", yes_ok, yes_total, "50%")]


def eval_fashion(engine, n: int) -> list[tuple[str, int, int, str]]:
    if not FASHION_DIR.is_dir():
        print("  Fashion-MNIST not found: apt-get install dataset-fashion-mnist")
        return []
    images = _idx(FASHION_DIR / "t10k-images-idx3-ubyte.gz")[:n]
    labels = _idx(FASHION_DIR / "t10k-labels-idx1-ubyte.gz")[:n]
    hits = 0
    confusion: dict[int, int] = {}
    for img, label in zip(images, labels):
        # Dark-on-light like a product photo: Fashion-MNIST is light garment on black.
        pil = Image.fromarray(255 - img).convert("RGB").resize((112, 112), Image.Resampling.BICUBIC)
        cap = engine.caption(pil)
        ok = bool(_words(cap.text) & FASHION_WORDS[int(label)])
        hits += ok
        confusion[int(label)] = confusion.get(int(label), 0) + ok
    per = ", ".join(f"{FASHION_CLASSES[k]} {v}/{int((labels == k).sum())}" for k, v in sorted(confusion.items()))
    print(f"  per class: {per}")
    return [(f"Fashion-MNIST test[:{n}]: caption class hit", hits, n, "10% (1 in 10)")]


def eval_colours(engine) -> list[tuple[str, int, int, str]]:
    ok = total = yes_ok = yes_total = 0
    shapes = [lambda d: d.ellipse((70, 40, 190, 160), fill=rgb),
              lambda d: d.rectangle((40, 60, 150, 170), fill=rgb),
              lambda d: d.polygon([(128, 20), (220, 170), (40, 170)], fill=rgb)]
    for name, rgb in COLOURS.items():
        for draw in shapes:
            image = Image.new("RGB", (256, 192), "white")
            draw(ImageDraw.Draw(image))
            for q in ("What color is the shape?", "what colour is it"):
                total += 1
                ok += name in _words(engine.answer(image, q).text)
            other = "blue" if name != "blue" else "red"
            yes_total += 2
            yes_ok += engine.answer(image, f"Is it {name}?").text.startswith("Yes")
            yes_ok += engine.answer(image, f"Is it {other}?").text.startswith("No")
    return [("generated shapes: colour question", ok, total, f"{100 / len(COLOURS):.0f}% (1 in {len(COLOURS)})"),
            ("generated shapes: 'is it <colour>?' yes/no", yes_ok, yes_total, "50%")]


def eval_kinds(engine) -> list[tuple[str, int, int, str]]:
    image = _photo("coffee")
    cases = [("why is the sky blue?", "unsupported"), ("what is the meaning of life", "unsupported"),
             ("how much is it?", "catalog"), ("is this in stock?", "catalog"),
             ("what's in the picture?", "what"), ("where is the cup?", "where"),
             ("how many cups are there", "count")]
    ok = sum(engine.answer(image, q).kind == k for q, k in cases)
    return [("question kind recognised", ok, len(cases), f"{100 / 7:.0f}% (1 in 7 kinds)")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fashion", type=int, default=200)
    parser.add_argument("--threads", type=int, default=0,
                        help="CPU threads (default: what the device module picks)")
    args = parser.parse_args()
    from dataclasses import replace

    from vlm_desktop.core.device import choose_device
    from vlm_desktop.core.engine.lite.engine import LiteEngine

    device = choose_device("cpu")
    engine = LiteEngine.load(replace(device, threads=args.threads) if args.threads else device)
    rows = eval_photos(engine) + eval_colours(engine) + eval_kinds(engine) + \
        eval_fashion(engine, args.fashion)
    print(f"\n{'set / measure':48} {'score':>12} {'rate':>6}  chance")
    for name, hit, n, chance in rows:
        print(f"{name:48} {hit:>5} / {n:<5} {100 * hit / max(n, 1):5.0f}%  {chance}")


if __name__ == "__main__":
    main()
