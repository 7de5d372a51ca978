"""Derive the demo catalog in resources/demo_catalog/ from Debian's Open Clip Art packages.

Needs (only to run this tool, never at run time):
    apt-get install openclipart-png openclipart-svg
The PNGs give the pictures; the matching SVGs carry the titles and keywords (Dublin Core
metadata). Items are picked deterministically, resized to at most 160 px on white, and
written with a catalog.csv (prices are invented for the demo), a demo purchase history
and a NOTICE. Run:  python tools/make_demo_catalog.py
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import re
import shutil
from pathlib import Path

from PIL import Image

PNG_ROOT = Path("/usr/share/openclipart/png")
SVG_ROOT = Path("/usr/share/openclipart/svg")
OUT = Path(__file__).resolve().parents[1] / "resources" / "demo_catalog"
MAX_SIDE = 160
# folder -> (category shown in the app, price range in USD for invented prices)
CATEGORIES = {
    "animals": ("Animals", (4, 25)),
    "food": ("Food", (2, 15)),
    "transportation": ("Transportation", (15, 120)),
    "tools": ("Tools", (8, 60)),
    "plants": ("Plants", (3, 30)),
    "office": ("Office", (2, 40)),
    "electronics": ("Electronics", (20, 250)),
    "buildings": ("Buildings", (30, 200)),
}
PER_CATEGORY = 38
EXCLUDE_WORDS = {"gun", "weapon", "rifle", "pistol", "revolver", "bomb", "knife", "sword",
                 "skull", "dead"}
HISTORY = [  # two interests: tools and electronics; (category, pick index, date, quantity)
    ("Tools", 0, "2025-09-02T10:15:00", 1),
    ("Tools", 3, "2025-10-11T16:40:00", 1),
    ("Tools", 7, "2025-11-20T09:05:00", 2),
    ("Electronics", 1, "2025-08-14T12:00:00", 1),
    ("Electronics", 4, "2025-11-25T18:30:00", 1),
]


def svg_metadata(svg: Path) -> tuple[str, list[str]]:
    """(title, keywords) from an Open Clip Art SVG's RDF block, minus the author's name
    (some drawings carry it as their title or as a keyword)."""
    text = svg.read_text(encoding="utf-8", errors="replace")
    work = re.search(r"<cc:Work.*?</cc:Work>", text, re.S)
    block = work.group(0) if work else text
    title = re.search(r"<dc:title>([^<]*)</dc:title>", block)
    subject = re.search(r"<dc:subject>(.*?)</dc:subject>", block, re.S)
    words = re.findall(r"<rdf:li>([^<]*)</rdf:li>", subject.group(1)) if subject else []
    creator = re.search(r"<dc:creator>.*?<dc:title>([^<]*)</dc:title>", block, re.S)
    author = creator.group(1).strip().lower() if creator else ""
    # Keywords of more than two words are nearly always a name or a sentence, not a tag.
    words = [w.strip() for w in words
             if w.strip() and w.strip().lower() != author and len(w.split()) <= 2]
    name = title.group(1).strip() if title else ""
    if author and name.lower() == author:
        name = ""
    return name, words


def clean_title(title: str, stem: str, keywords: list[str]) -> str:
    title = re.sub(r"[\s_]+", " ", title).strip()
    if not title or len(title) > 60 or title.lower().startswith("clipart by"):
        title = " ".join(keywords[:2]) if keywords else re.sub(r"[_\-]+", " ", stem).strip()
    return title[:1].upper() + title[1:]


def invented_price(title: str, low: float, high: float) -> float:
    """A plausible, stable, made-up price: .99 / .49 endings in the category's range."""
    h = int(hashlib.blake2b(title.encode(), digest_size=4).hexdigest(), 16)
    base = low + (h % 1000) / 1000 * (high - low)
    return round(int(base) + (0.99 if h % 2 else 0.49), 2)


def picture(png: Path) -> tuple[str, list[str]] | None:
    """(clean title, keywords) of one Open Clip Art PNG from its SVG; None for black-and-white
    copies, pictures without an SVG, and weapons (a shop demo has none)."""
    if "_bw" in png.stem or "duplicates" in png.parts:
        return None  # black-and-white copies of another picture
    svg = SVG_ROOT / png.relative_to(PNG_ROOT).with_suffix(".svg")
    if not svg.is_file():
        return None
    title, keywords = svg_metadata(svg)
    words = {w.lower() for w in keywords} | set(title.lower().split())
    if words & EXCLUDE_WORDS:
        return None
    return clean_title(title, png.stem, keywords), keywords


def candidates(folder: str) -> list[tuple[Path, str, list[str]]]:
    out, seen = [], set()
    for png in sorted((PNG_ROOT / folder).rglob("*.png")):
        found = picture(png)
        if found is None:
            continue
        title, keywords = found
        if title.lower() in seen or title.lower() == "open clip art library":
            continue
        seen.add(title.lower())
        out.append((png, title, keywords))
    return out


def save_small(src: Path, dst: Path) -> None:
    with Image.open(src) as im:
        im = im.convert("RGBA")
        im.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        rgb = Image.alpha_composite(white, im).convert("RGB")
        # A 128-colour palette keeps clip art crisp at a fraction of the bytes.
        rgb.quantize(128, dither=Image.Dither.NONE).save(dst, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    out: Path = args.out
    if not PNG_ROOT.is_dir() or not SVG_ROOT.is_dir():
        raise SystemExit("Install openclipart-png and openclipart-svg first (apt-get).")
    shutil.rmtree(out / "images", ignore_errors=True)
    rows, picks = [], {}
    for folder, (category, (low, high)) in CATEGORIES.items():
        pool = candidates(folder)
        step = max(1, len(pool) // PER_CATEGORY)
        chosen = pool[::step][:PER_CATEGORY]
        picks[category] = []
        (out / "images" / folder).mkdir(parents=True, exist_ok=True)
        for png, title, keywords in chosen:
            rel = f"images/{folder}/{png.stem.lower()}.png"
            save_small(png, out / rel)
            tags = [k for k in dict.fromkeys(w.lower() for w in keywords)
                    if k != folder and k != category.lower()][:6]
            rows.append({"image": rel, "title": title, "category": category,
                         "price": f"{invented_price(title, low, high):.2f}", "currency": "USD",
                         "tags": ";".join(tags)})
            picks[category].append(rel)
    with open(out / "catalog.csv", "w", newline="", encoding="utf-8") as fp:
        writer = csv.DictWriter(fp, ["image", "title", "category", "price", "currency", "tags"])
        writer.writeheader()
        writer.writerows(rows)
    with open(out / "demo_history.csv", "w", newline="", encoding="utf-8") as fp:
        writer = csv.writer(fp)
        writer.writerow(["image", "timestamp", "quantity"])
        for category, i, when, qty in HISTORY:
            writer.writerow([picks[category][i], when, qty])
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{len(rows)} items in {len(CATEGORIES)} categories, {size / 1e6:.1f} MB in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
