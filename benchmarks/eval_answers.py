"""Do the built-in model's yes/no and colour answers state confidences that match accuracy?

A labelled set built offline, in two parts that share no image:
  fit    Fashion-MNIST *training* images, even-numbered Open Clip Art images of six folders,
         generated shapes and tinted garments with seed 0 -- the part the constants in
         `vlm_desktop/core/engine/lite/calibration.py` are fitted on (`--fit` prints them);
  report Fashion-MNIST *test* images, odd-numbered Open Clip Art images, scikit-image photos,
         shapes and tinted garments with seed 1 -- the part the tables are measured on.
Yes/no questions ask about an image's true class and about a class of another group; colour
questions ask the colour of an object drawn or tinted in one of the eleven basic colours
(flat or shaded like a photo, on plain, textured or gradient backgrounds).

A yes/no answer counts as right when its lean (yes / probably / no / can't tell, probably not)
matches the truth; a colour answer when the first colour word it says is the true basic term
("yellow (gold)" is right for yellow, "gold" alone is not). Stated confidence is read as the
probability of being right. The old model's answers come from the same script run in a
subprocess over `git archive <ref>` of the code before this change (`--old-ref`).

Run: python benchmarks/eval_answers.py [--n 60] [--old-ref 5080d72] [--fit]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
CLIPART_DIR = Path("/usr/share/openclipart/png")
OLD_REF = "5080d72"  # the commit before calibrated answers
# Fashion-MNIST classes as a person would ask about them, and groups that overlap (a false
# question never asks about a class of the image's own group).
FASHION_ASK = ["t-shirt", "pair of trousers", "sweater", "dress", "coat", "sandal", "shirt",
               "sneaker", "bag", "boot"]
FASHION_GROUP = [0, 1, 0, 0, 0, 2, 0, 2, 3, 2]
CLIPART_ASK = {"animals": "animal", "food": "food", "transportation": "vehicle",
               "people": "person", "buildings": "building", "tools": "tool"}
# scikit-image photos: what is there (True) and what is not (False), looked at by a person.
PHOTO_TRUTH = {
    "chelsea.png": {"cat": True, "dog": False, "car": False, "cup": False},
    "coffee.png": {"cup": True, "coffee": True, "cat": False, "car": False},
    "rocket.jpg": {"rocket": True, "cat": False, "dog": False},
    "astronaut.png": {"person": True, "space shuttle": True, "flag": True, "dog": False, "cat": False},
    "camera.png": {"camera": True, "tripod": True, "person": True, "dog": False, "car": False},
    "motorcycle_left.png": {"motorcycle": True, "car": False, "dog": False, "cat": False},
    "horse.png": {"horse": True, "car": False, "cup": False},
    "coins.png": {"coin": True, "dog": False, "cat": False},
    "hubble_deep_field.jpg": {"animal": False, "dog": False, "car": False},
}
PHOTO_COLOUR = {"motorcycle_left.png": ("motorcycle", "red")}
BASIC = {"red": (200, 30, 30), "orange": (240, 125, 30), "yellow": (240, 215, 40),
         "green": (40, 150, 60), "blue": (40, 70, 200), "purple": (120, 50, 160),
         "pink": (245, 150, 190), "brown": (120, 72, 35), "black": (25, 25, 25),
         "white": (245, 245, 245), "grey": (128, 128, 128)}
FINE_TO_BASIC = {"gold": "yellow", "olive": "green", "navy": "blue", "teal": "blue",
                 "turquoise": "blue", "beige": "brown", "gray": "grey"}
COLOUR_WORDS = [*BASIC, *FINE_TO_BASIC]


@dataclass
class Item:
    """One labelled question: where it comes from, its image and its truth."""

    part: str  # "fit" or "report"
    source: str
    kind: str  # "yesno" or "color"
    question: str
    truth: str  # "yes"/"no", or a basic colour
    image: Callable[[], Image.Image]
    key: str  # names the image, so one encode serves its questions


def _idx(path: Path) -> np.ndarray:
    data = gzip.open(path).read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def _garment(img: np.ndarray) -> Image.Image:
    # Dark-on-light like a product photo: Fashion-MNIST is a light garment on black.
    return Image.fromarray(255 - img).convert("RGB").resize((112, 112), Image.Resampling.BICUBIC)


def fashion_items(part: str, n: int, seed: int) -> list[Item]:
    split = "train" if part == "fit" else "t10k"
    if not (FASHION_DIR / f"{split}-images-idx3-ubyte.gz").exists():
        print("  Fashion-MNIST not found: apt-get install dataset-fashion-mnist", file=sys.stderr)
        return []
    images = _idx(FASHION_DIR / f"{split}-images-idx3-ubyte.gz")[:n]
    labels = _idx(FASHION_DIR / f"{split}-labels-idx1-ubyte.gz")[:n]
    rng = np.random.default_rng(seed)
    out = []
    for i, (img, label) in enumerate(zip(images, labels)):
        label = int(label)
        other = int(rng.choice([c for c in range(10) if FASHION_GROUP[c] != FASHION_GROUP[label]]))
        make = (lambda im=img: _garment(im))
        for c, truth in ((label, "yes"), (other, "no")):
            out.append(Item(part, "fashion-mnist", "yesno", f"Is there a {FASHION_ASK[c]}?", truth,
                            make, f"fm-{split}-{i}"))
    return out


def clipart_items(part: str, per_folder: int, seed: int) -> list[Item]:
    if not CLIPART_DIR.is_dir():
        print("  Open Clip Art not found: apt-get install openclipart-png", file=sys.stderr)
        return []
    rng = np.random.default_rng(seed)
    out = []
    folders = list(CLIPART_ASK)
    for folder in folders:
        files = sorted((CLIPART_DIR / folder).rglob("*.png"))
        files = files[(0 if part == "fit" else 1)::2][:per_folder]
        for path in files:
            other = str(rng.choice([f for f in folders if f != folder]))
            make = (lambda p=path: _flatten(Image.open(p)))
            for f, truth in ((folder, "yes"), (other, "no")):
                noun = CLIPART_ASK[f]
                q = f"Is there {'an' if noun[0] in 'aeiou' else 'a'} {noun}?" if noun != "food" \
                    else "Is there food?"
                out.append(Item(part, "open clip art", "yesno", q, truth, make, f"oca-{path}"))
    return out


def _flatten(image: Image.Image) -> Image.Image:
    """Clip art over white (transparent PNGs), at most 512 px."""
    image = image.convert("RGBA")
    image.thumbnail((512, 512))
    canvas = Image.new("RGB", image.size, "white")
    canvas.paste(image, mask=image.getchannel("A"))
    return canvas


def _skimage(name: str) -> Image.Image:
    import skimage.data as sd

    return Image.open(Path(sd.__file__).parent / name).convert("RGB")


def photo_items() -> list[Item]:
    out = []
    for name, truths in PHOTO_TRUTH.items():
        for noun, present in truths.items():
            q = f"Is there {'an' if noun[0] in 'aeiou' else 'a'} {noun}?"
            out.append(Item("report", "scikit-image photos", "yesno", q, "yes" if present else "no",
                            lambda n=name: _skimage(n), f"sk-{name}"))
    for name, (noun, colour) in PHOTO_COLOUR.items():
        out.append(Item("report", "scikit-image photos", "color", f"What colour is the {noun}?",
                        colour, lambda n=name: _skimage(n), f"sk-{name}"))
    return out


def _jitter(rgb: tuple[int, int, int], rng: np.random.Generator, amount: int = 18) -> np.ndarray:
    return np.clip(np.array(rgb) + rng.integers(-amount, amount + 1, 3), 0, 255)


def _background(size: tuple[int, int], avoid: str, rng: np.random.Generator) -> np.ndarray:
    w, h = size
    style = rng.choice(["plain", "plain", "gradient", "texture"])
    choices = [c for c in BASIC if c != avoid and not {c, avoid} <= {"white", "grey"}
               and not {c, avoid} <= {"black", "grey"}]
    base = _jitter(BASIC[str(rng.choice(choices))], rng, 10).astype(np.float32)
    bg = np.broadcast_to(base, (h, w, 3)).copy()
    if style == "gradient":
        ramp = np.linspace(0.75, 1.15, h, dtype=np.float32)[:, None, None]
        bg = bg * ramp
    elif style == "texture":
        bg = bg + rng.normal(0, 18, (h, w, 1)).astype(np.float32)
    return np.clip(bg, 0, 255)


def _shape_image(colour: str, rng: np.random.Generator) -> Image.Image:
    w, h = 256, 192
    bg = _background((w, h), colour, rng)
    mask = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(mask)
    cx, cy, r = int(rng.integers(90, 170)), int(rng.integers(70, 120)), int(rng.integers(40, 70))
    kind = rng.choice(["ellipse", "rectangle", "polygon"])
    if kind == "ellipse":
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
    elif kind == "rectangle":
        d.rectangle((cx - r, cy - int(0.7 * r), cx + r, cy + int(0.7 * r)), fill=255)
    else:
        d.polygon([(cx, cy - r), (cx + r, cy + r), (cx - r, cy + r)], fill=255)
    m = np.asarray(mask.filter(ImageFilter.GaussianBlur(1.5)), np.float32)[..., None] / 255
    fill = _jitter(BASIC[colour], rng).astype(np.float32)
    obj = np.broadcast_to(fill, (h, w, 3)).copy()
    if rng.random() < 0.6:  # shaded like a lit ball: a highlight and a darker rim
        yy, xx = np.mgrid[0:h, 0:w]
        dist = np.hypot(xx - (cx - 0.35 * r), yy - (cy - 0.35 * r)) / (1.6 * r)
        obj = obj * np.clip(1.2 - 0.6 * dist, 0.55, 1.2)[..., None]
    out = bg * (1 - m) + np.clip(obj, 0, 255) * m
    return Image.fromarray(out.astype(np.uint8))


def _tinted(img: np.ndarray, colour: str, rng: np.random.Generator) -> Image.Image:
    g = np.asarray(Image.fromarray(img).resize((112, 112), Image.Resampling.BICUBIC), np.float32) / 255
    fill = _jitter(BASIC[colour], rng).astype(np.float32)
    shade = (0.6 + 0.5 * g)[..., None]  # the garment's own folds and seams as shading
    bg = _background((112, 112), colour, rng)
    m = np.clip((g - 0.08) * 6, 0, 1)[..., None]
    out = bg * (1 - m) + np.clip(fill * shade, 0, 255) * m
    return Image.fromarray(out.astype(np.uint8))


def colour_items(part: str, n: int, seed: int) -> list[Item]:
    rng = np.random.default_rng(seed)
    names = list(BASIC)
    out = []
    questions = ["What color is it?", "What colour is the object?", "What color is the ball?"]
    for i in range(n):
        colour = names[i % len(names)]
        state = int(rng.integers(1 << 31))
        make = (lambda c=colour, s=state: _shape_image(c, np.random.default_rng(s)))
        out.append(Item(part, "generated shapes", "color", questions[i % 3], colour, make,
                        f"shape-{part}-{i}"))
    split = "train" if part == "fit" else "t10k"
    if (FASHION_DIR / f"{split}-images-idx3-ubyte.gz").exists():
        images = _idx(FASHION_DIR / f"{split}-images-idx3-ubyte.gz")[1000:1000 + n]
        labels = _idx(FASHION_DIR / f"{split}-labels-idx1-ubyte.gz")[1000:1000 + n]
        for i, (img, label) in enumerate(zip(images, labels)):
            colour = names[(i * 7) % len(names)]
            state = int(rng.integers(1 << 31))
            make = (lambda im=img, c=colour, s=state: _tinted(im, c, np.random.default_rng(s)))
            noun = FASHION_ASK[int(label)].replace("pair of ", "")
            verb = "are" if noun.endswith("s") else "is"
            out.append(Item(part, "tinted garments", "color", f"What colour {verb} the {noun}?", colour,
                            make, f"tint-{part}-{i}"))
    return out


def build_items(n: int, part: str | None = None) -> list[Item]:
    items: list[Item] = []
    for p, seed in (("fit", 0), ("report", 1)):
        if part and p != part:
            continue
        items += fashion_items(p, n, seed) + clipart_items(p, max(4, n // 6), seed) + \
            colour_items(p, n, seed)
    if part in (None, "report"):
        items += photo_items()
    return items


# --- judging answers ----------------------------------------------------------------------
def lean(text: str) -> str:
    """'yes' or 'no': what a yes/no answer comes down to."""
    t = text.lower()
    return "yes" if t.startswith(("yes", "probably:", "probably ", "possibly")) else "no"


def first_colour(text: str) -> str:
    """The basic term of the first colour word an answer says ('' when none)."""
    words = [w.strip(".,;:()'") for w in text.lower().replace("-", " ").split()]
    for w in words:
        if w in COLOUR_WORDS:
            return FINE_TO_BASIC.get(w, w)
    return ""


def run_answers(items: list[Item]) -> list[dict]:
    """Ask every question with the model importable as `vlm_desktop` (public API only)."""
    from vlm_desktop.core.device import choose_device
    from vlm_desktop.core.engine.lite.engine import LiteEngine

    engine = LiteEngine.load(choose_device("cpu"))
    images: dict[str, Image.Image] = {}
    out = []
    for it in items:
        if it.key not in images:
            images.clear()  # items of one image are adjacent: keep one decoded at a time
            images[it.key] = it.image()
        ans = engine.answer(images[it.key], it.question)
        said = lean(ans.text) if it.kind == "yesno" else first_colour(ans.text)
        out.append({"text": ans.text, "confidence": float(ans.confidence), "said": said,
                    "correct": said == it.truth})
    return out


def old_answers(ref: str, n: int) -> list[dict] | None:
    """The same questions answered by the code at `ref`, in a subprocess over its tree."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "vlm_desktop", "resources"],
                                 capture_output=True)
        if archive.returncode:
            print(f"  (no old run: git archive {ref} failed: {archive.stderr.decode().strip()})")
            return None
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        # As setup.py installs it: resources/ is the package vlm_desktop.resources.
        (Path(tmp) / "resources").rename(Path(tmp) / "vlm_desktop" / "resources")
        dump = Path(tmp) / "answers.json"
        env = dict(os.environ, PYTHONPATH=tmp)
        subprocess.run([sys.executable, __file__, "--n", str(n), "--dump", str(dump)],
                       env=env, check=True, cwd=tmp)
        return json.loads(dump.read_text())


# --- tables ---------------------------------------------------------------------------------
BINS = np.linspace(0.0, 1.0, 11)


def reliability(conf: np.ndarray, ok: np.ndarray) -> tuple[list[tuple[str, int, float, float]], float]:
    """Rows (bin, count, mean confidence, accuracy) and the expected calibration error."""
    rows, ece = [], 0.0
    which = np.clip(np.digitize(conf, BINS[1:-1]), 0, len(BINS) - 2)
    for b in range(len(BINS) - 1):
        sel = which == b
        if not sel.any():
            continue
        c, a = float(conf[sel].mean()), float(ok[sel].mean())
        ece += sel.mean() * abs(c - a)
        rows.append((f"{BINS[b]:.1f}-{BINS[b + 1]:.1f}", int(sel.sum()), c, a))
    return rows, float(ece)


def print_tables(items: list[Item], runs: dict[str, list[dict]]) -> None:
    for kind, chance in (("yesno", "50% (yes/no)"), ("color", f"{100 / 11:.0f}% (1 in 11 basic terms)")):
        sel = [i for i, it in enumerate(items) if it.kind == kind]
        if not sel:
            continue
        print(f"\n== {kind} answers, report part: {len(sel)} questions; chance {chance}")
        for name, res in runs.items():
            conf = np.array([res[i]["confidence"] for i in sel])
            ok = np.array([res[i]["correct"] for i in sel], float)
            rows, ece = reliability(conf, ok)
            print(f"-- {name}: accuracy {100 * ok.mean():.1f}%, mean confidence "
                  f"{100 * conf.mean():.1f}%, ECE {ece:.3f}")
            print(f"   {'stated conf.':>12} {'count':>6} {'mean conf.':>10} {'accuracy':>9}")
            for label, count, c, a in rows:
                print(f"   {label:>12} {count:>6} {c:>10.2f} {a:>9.2f}")
            sources = sorted({items[i].source for i in sel})
            per = ", ".join(f"{s} {100 * np.mean([res[i]['correct'] for i in sel if items[i].source == s]):.0f}%"
                            f" (n={sum(items[i].source == s for i in sel)})" for s in sources)
            print(f"   accuracy by source: {per}")


# --- fitting ------------------------------------------------------------------------------
def fit_rows(items: list[Item]) -> dict[str, list]:
    """The raw evidence behind each fit-part answer and whether the truth agrees with it."""
    from vlm_desktop.core.device import choose_device
    from vlm_desktop.core.engine.lite import answerer
    from vlm_desktop.core.engine.lite.captioner import main_object, object_colour
    from vlm_desktop.core.engine.lite.engine import LiteEngine
    from vlm_desktop.core.engine.lite.questions import parse_question

    engine = LiteEngine.load(choose_device("cpu"))
    rows: dict[str, list] = {"yesno": [], "color": []}
    images: dict[str, Image.Image] = {}
    for it in items:
        if it.key not in images:
            images.clear()
            images[it.key] = it.image()
        ev = engine.evidence([images[it.key]])[0]
        q = parse_question(it.question)
        t = answerer.resolve(engine.hier, ev, q.target, engine.match,
                             lambda p, ev=ev: engine.phrase_attention(ev, p))
        if it.kind == "yesno":
            if not t.known or t.via:
                continue  # answered by other rules, not the calibrated presence
            glob, local = ev.presence(t.classes)
            rows["yesno"].append([glob, local, float(ev.probs.max()), int(t.classes.size),
                                  it.truth == "yes"])
        else:
            # The region the answer measures: the main object's when the target is not seen.
            hedged = bool(q.target) and t.known and t.presence < answerer.YES_AT
            unknown = bool(q.target) and not t.known
            cam = main_object(engine.hier, ev).cam if hedged else t.cam
            colour = object_colour(ev, cam)[0]
            if colour is not None:
                rows["color"].append([colour.fraction, colour.runner_up, hedged, unknown,
                                      colour.basic == it.truth])
    return rows


def fit(rows: dict[str, list]) -> None:
    """Fit the calibration constants on the fit part and print them for calibration.py."""
    from vlm_desktop.core.engine.lite import calibration

    yes = np.array(rows["yesno"], float)
    col = np.array(rows["color"], float)
    for name, x, y in (
            ("PRESENCE", [calibration.presence_features(*r[:3], int(r[3])) for r in yes], yes[:, -1]),
            ("COLOUR", [calibration.colour_features(r[0], r[1], bool(r[2]), bool(r[3])) for r in col],
             col[:, -1])):
        w, b = calibration.fit_logistic(np.array(x), y)
        print(f"{name}_WEIGHTS = ({', '.join(f'{v:.3f}' for v in w)})")
        print(f"{name}_BIAS = {b:.3f}  # fitted on {len(y)} questions, {100 * np.mean(y):.0f}% positive")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60, help="images per set and part")
    parser.add_argument("--old-ref", default=OLD_REF, help="git ref of the old code ('' = none)")
    parser.add_argument("--fit", action="store_true", help="fit the constants on the fit part")
    parser.add_argument("--fit-cache", help="JSON file keeping the fit part's evidence (refits fast)")
    parser.add_argument("--dump", help=argparse.SUPPRESS)  # the old code's subprocess
    args = parser.parse_args()
    if args.dump:
        Path(args.dump).write_text(json.dumps(run_answers(build_items(args.n, "report"))))
        return
    if args.fit:
        cache = Path(args.fit_cache) if args.fit_cache else None
        if cache is not None and cache.exists():
            rows = json.loads(cache.read_text())
        else:
            rows = fit_rows(build_items(args.n, "fit"))
            if cache is not None:
                cache.write_text(json.dumps(rows))
        fit(rows)
        return
    items = build_items(args.n, "report")
    runs = {}
    if args.old_ref:
        old = old_answers(args.old_ref, args.n)
        if old is not None:
            runs[f"old ({args.old_ref})"] = old
    runs["new (this tree)"] = run_answers(items)
    print_tables(items, runs)


if __name__ == "__main__":
    main()
