"""Draw the app icon once and write every format the builds need (run by hand; outputs are committed).

One geometry, two renderers: a hand-written SVG for scalable use and Pillow for the PNG
sizes, the Windows .ico and the macOS .icns. The design: a photo frame (mountains, sun)
with a speech bubble — an image you can talk about — on a blue rounded square.

    python packaging/make_icons.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
ICON_DIR = ROOT / "resources" / "icons"
PLATFORM_DIR = ROOT / "packaging" / "icons"
NAME = "vlm-desktop"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
CANVAS = 512

BG_TOP, BG_BOTTOM = (58, 110, 200), (30, 58, 120)
FRAME, SKY = (250, 250, 252), (196, 224, 250)
HILL_BACK, HILL_FRONT = (92, 160, 110), (52, 120, 80)
SUN = (255, 176, 59)
BUBBLE, DOTS = (255, 214, 90), (40, 50, 80)

# Shapes in a 512-unit square; both renderers read these.
BG_RADIUS = 100
FRAME_BOX = (72, 96, 392, 360)
PHOTO_BOX = (92, 116, 372, 340)
SUN_CIRCLE = (300, 170, 30)
HILL_BACK_PTS = [(92, 340), (200, 200), (300, 340)]
HILL_FRONT_PTS = [(170, 340), (290, 230), (372, 300), (372, 340)]
BUBBLE_BOX = (250, 300, 460, 430)
BUBBLE_TAIL = [(290, 420), (270, 470), (340, 425)]
DOT_CENTRES = [(305, 365), (355, 365), (405, 365)]
DOT_R = 16


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#%02x%02x%02x" % rgb


def _points(pts: list[tuple[int, int]]) -> str:
    return " ".join(f"{x},{y}" for x, y in pts)


def svg() -> str:
    """The icon as SVG text."""
    fx0, fy0, fx1, fy1 = FRAME_BOX
    px0, py0, px1, py1 = PHOTO_BOX
    bx0, by0, bx1, by1 = BUBBLE_BOX
    sx, sy, sr = SUN_CIRCLE
    dots = "\n".join(f'  <circle cx="{x}" cy="{y}" r="{DOT_R}" fill="{_hex(DOTS)}"/>'
                     for x, y in DOT_CENTRES)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{CANVAS}" height="{CANVAS}" viewBox="0 0 {CANVAS} {CANVAS}">
  <title>VLM Desktop</title>
  <defs>
    <linearGradient id="bg" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="{_hex(BG_TOP)}"/>
      <stop offset="1" stop-color="{_hex(BG_BOTTOM)}"/>
    </linearGradient>
  </defs>
  <rect x="0" y="0" width="{CANVAS}" height="{CANVAS}" rx="{BG_RADIUS}" fill="url(#bg)"/>
  <rect x="{fx0}" y="{fy0}" width="{fx1 - fx0}" height="{fy1 - fy0}" rx="14" fill="{_hex(FRAME)}"/>
  <rect x="{px0}" y="{py0}" width="{px1 - px0}" height="{py1 - py0}" fill="{_hex(SKY)}"/>
  <circle cx="{sx}" cy="{sy}" r="{sr}" fill="{_hex(SUN)}"/>
  <polygon points="{_points(HILL_BACK_PTS)}" fill="{_hex(HILL_BACK)}"/>
  <polygon points="{_points(HILL_FRONT_PTS)}" fill="{_hex(HILL_FRONT)}"/>
  <polygon points="{_points(BUBBLE_TAIL)}" fill="{_hex(BUBBLE)}"/>
  <rect x="{bx0}" y="{by0}" width="{bx1 - bx0}" height="{by1 - by0}" rx="40" fill="{_hex(BUBBLE)}"/>
{dots}
</svg>
"""


def _gradient(size: int) -> Image.Image:
    grad = Image.new("RGBA", (1, size))
    for y in range(size):
        t = y / max(size - 1, 1)
        grad.putpixel((0, y), tuple(round(a + (b - a) * t) for a, b in zip(BG_TOP, BG_BOTTOM)) + (255,))
    return grad.resize((size, size))


def render(size: int) -> Image.Image:
    """The icon as a Pillow image of `size` pixels (drawn 4x larger, then downsampled)."""
    big = size * 4 if size < 256 else 2048
    k = big / CANVAS

    def box(b: tuple[int, int, int, int]) -> tuple[float, float, float, float]:
        return tuple(v * k for v in b)  # type: ignore[return-value]

    def pts(p: list[tuple[int, int]]) -> list[tuple[float, float]]:
        return [(x * k, y * k) for x, y in p]

    mask = Image.new("L", (big, big), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, big - 1, big - 1), radius=BG_RADIUS * k, fill=255)
    img = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    img.paste(_gradient(big), (0, 0), mask)
    d = ImageDraw.Draw(img)
    d.rounded_rectangle(box(FRAME_BOX), radius=14 * k, fill=FRAME)
    d.rectangle(box(PHOTO_BOX), fill=SKY)
    sx, sy, sr = SUN_CIRCLE
    d.ellipse(box((sx - sr, sy - sr, sx + sr, sy + sr)), fill=SUN)
    d.polygon(pts(HILL_BACK_PTS), fill=HILL_BACK)
    d.polygon(pts(HILL_FRONT_PTS), fill=HILL_FRONT)
    d.polygon(pts(BUBBLE_TAIL), fill=BUBBLE)
    d.rounded_rectangle(box(BUBBLE_BOX), radius=40 * k, fill=BUBBLE)
    for x, y in DOT_CENTRES:
        d.ellipse(box((x - DOT_R, y - DOT_R, x + DOT_R, y + DOT_R)), fill=DOTS)
    return img.resize((size, size), Image.LANCZOS)


def main() -> None:
    ICON_DIR.mkdir(parents=True, exist_ok=True)
    PLATFORM_DIR.mkdir(parents=True, exist_ok=True)
    (ICON_DIR / f"{NAME}.svg").write_text(svg(), encoding="utf-8")
    images = {s: render(s) for s in SIZES}
    for s, im in images.items():
        im.save(ICON_DIR / f"{NAME}-{s}.png", optimize=True)
    images[256].save(PLATFORM_DIR / f"{NAME}.ico",
                     sizes=[(s, s) for s in (16, 24, 32, 48, 64, 128, 256)])
    images[512].save(PLATFORM_DIR / f"{NAME}.icns")
    print(f"wrote {len(SIZES)} PNGs + SVG to {ICON_DIR}, .ico/.icns to {PLATFORM_DIR}")


if __name__ == "__main__":
    main()
