"""Everyday colour names measured from pixels (pure numpy).

Each pixel is named in CIELCh (lightness, chroma, hue), which follows how people see
colour far better than RGB does: low chroma means black/grey/white by lightness; otherwise
the hue angle picks the family and lightness splits it (dark orange is brown, light red is
pink, dark blue is navy). A weighted vote over the pixels gives the region's colour.

Answers speak in basic colour terms (the eleven every speaker of English shares: red,
orange, yellow, green, blue, purple, pink, brown, black, white, grey): the fine names are
grouped into the basic family they belong to, so a lemon whose shading reads partly
"gold" is "yellow (gold)", never "gold" alone, and a navy hat is "dark blue".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COLOUR_WORDS: tuple[str, ...] = (
    "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown",
    "black", "white", "grey", "beige", "gold", "olive", "teal", "turquoise", "navy",
)

# Thresholds in CIELab units (L 0..100, chroma roughly 0..130, hue in degrees), set from
# the CSS/X11 reference colours: pure blue sits at h 306 and indigo at 314, hence the
# blue/purple edge at 312. Pure red is h 40 and CSS orange-red h 45; a basketball's orange
# (238, 103, 48) sits at h 48, which people call orange, hence the red/orange edge at 43.
_ACHROMATIC_CHROMA = 12.0
_BLACK_L = 25.0
_WHITE_L = 85.0
_ALWAYS_BLACK_L = 10.0
_RED_ORANGE_HUE = 43.0

BASIC_TERMS: tuple[str, ...] = (
    "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "grey",
)
# The basic family of each fine name, and how an answer says it: basic words first, the
# fine name in brackets where it adds something ("navy" is said fully by "dark blue").
FAMILY = {"gold": "yellow", "olive": "green", "navy": "blue", "teal": "blue",
          "turquoise": "blue", "beige": "brown"}
SAID_AS = {"gold": ("yellow", "gold"), "olive": ("green", "olive"), "navy": ("dark blue", ""),
           "teal": ("blue-green", "teal"), "turquoise": ("light blue", "turquoise"),
           "beige": ("light brown", "beige")}
# Spellings and near-synonyms a question may use, folded to the names above.
ALIASES = {"gray": "grey", "golden": "gold", "violet": "purple", "magenta": "pink",
           "cyan": "turquoise", "tan": "beige", "cream": "beige", "maroon": "red",
           "silver": "grey"}


@dataclass(frozen=True)
class ColourName:
    """A colour word, its share of the (weighted) pixels, and their mean RGB."""

    name: str
    fraction: float
    rgb: tuple[int, int, int]


def srgb_to_lch(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CIE L*, C*ab and hue angle (degrees) of uint8 sRGB pixels [..., 3] (D65 white)."""
    c = np.asarray(pixels, dtype=np.float32) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    to_xyz = np.array([[0.4124564, 0.3575761, 0.1804375],
                       [0.2126729, 0.7151522, 0.0721750],
                       [0.0193339, 0.1191920, 0.9503041]], dtype=np.float32)
    xyz = linear @ to_xyz.T / np.array([0.95047, 1.0, 1.08883], dtype=np.float32)
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    lightness = 116 * f[..., 1] - 16
    a = 500 * (f[..., 0] - f[..., 1])
    b = 200 * (f[..., 1] - f[..., 2])
    return lightness, np.hypot(a, b), np.degrees(np.arctan2(b, a)) % 360


def pixel_names(pixels: np.ndarray) -> np.ndarray:
    """Index into COLOUR_WORDS for every pixel of an [..., 3] uint8 array."""
    L, C, h = srgb_to_lch(pixels)
    grey = C < _ACHROMATIC_CHROMA
    reddish = (h >= 345) | (h < _RED_ORANGE_HUE)
    pinkish_hue = (h >= 340) | (h < 15)
    orange_hue = (h >= _RED_ORANGE_HUE) & (h < 82)
    gold_hue = (h >= 82) & (h < 95)
    yellow_hue = (h >= 82) & (h < 115)
    soft_warm = (h >= _RED_ORANGE_HUE) & (h < 115) & (C < 30)
    cyan_hue = (h >= 175) & (h < 225)
    blue_hue = (h >= 225) & (h < 312)
    purple_hue = (h >= 312) & (h < 345)
    rules = [
        ("black", (L < _ALWAYS_BLACK_L) | (grey & (L < _BLACK_L))),
        ("white", grey & (L > _WHITE_L)),
        ("grey", grey),
        # Pale, weakly coloured warm tones (sand, cream, wheat) read as beige, darker as brown.
        ("beige", soft_warm & (L >= 65)),
        # Dark orange is brown; so is dark, muted red-orange (rust), but not a saturated dark red.
        ("brown", soft_warm | (orange_hue & (L < 45))
         | ((h >= 25) & (h < _RED_ORANGE_HUE) & (L < 45) & (C < 50))),
        ("pink", reddish & ((L >= 65) | (pinkish_hue & (L >= 50)))),
        ("red", reddish),
        ("orange", orange_hue),
        ("gold", gold_hue & (L >= 60) & (L < 89) & (C >= 50)),
        ("olive", yellow_hue & (L < 55)),
        ("yellow", yellow_hue),
        ("green", (h >= 115) & (h < 175)),
        ("teal", cyan_hue & (L < 65)),
        ("turquoise", cyan_hue),
        ("navy", blue_hue & (L < 25)),
        ("blue", blue_hue),
        ("pink", purple_hue & (L >= 72)),
        ("purple", purple_hue),
    ]
    index = np.full(L.shape, COLOUR_WORDS.index("grey"), dtype=np.int64)
    decided = np.zeros(L.shape, dtype=bool)
    for name, mask in rules:
        take = mask & ~decided
        index[take] = COLOUR_WORDS.index(name)
        decided |= take
    return index


def colour_spread(pixels: np.ndarray, weights: np.ndarray | None = None,
                  names: np.ndarray | None = None) -> list[ColourName]:
    """Every colour present under `weights` (default: all pixels equal), largest share first.

    `names` may pass `pixel_names(pixels)` already computed (it is the costly part)."""
    pixels = np.asarray(pixels)
    if pixels.ndim != 3 or pixels.shape[-1] != 3:
        raise ValueError(f"expected an [H, W, 3] RGB array, got shape {pixels.shape}")
    w = np.ones(pixels.shape[:2], np.float64) if weights is None else np.asarray(weights, np.float64)
    if w.shape != pixels.shape[:2]:
        raise ValueError(f"weights shape {w.shape} does not match the image {pixels.shape[:2]}")
    w = np.clip(w, 0.0, None).ravel()
    total = w.sum()
    if not np.isfinite(total) or total <= 0:
        raise ValueError("weights select no pixels")
    flat = pixels.reshape(-1, 3).astype(np.float64)
    names = (pixel_names(pixels) if names is None else np.asarray(names)).ravel()
    shares = np.bincount(names, weights=w, minlength=len(COLOUR_WORDS)) / total
    # Weighted channel sums per colour name in three bincounts (no per-name masks).
    sums = np.stack([np.bincount(names, weights=w * flat[:, k], minlength=len(COLOUR_WORDS))
                     for k in range(3)], axis=1)
    counts = np.bincount(names, weights=w, minlength=len(COLOUR_WORDS))
    out = []
    for i in np.argsort(-shares, kind="stable"):
        if shares[i] <= 0:
            break
        mean = sums[i] / counts[i]
        rgb = tuple(int(round(v)) for v in mean)
        out.append(ColourName(COLOUR_WORDS[i], float(shares[i]), (rgb[0], rgb[1], rgb[2])))
    return out


def name_colour(pixels: np.ndarray, weights: np.ndarray | None = None) -> ColourName:
    """The dominant everyday colour name of the pixels, weighted by `weights` (e.g. a heat map)."""
    return colour_spread(pixels, weights)[0]


def family(name: str) -> str:
    """The basic colour term a colour word belongs to ("gold" -> "yellow", "red" -> "red")."""
    name = ALIASES.get(name, name)
    return FAMILY.get(name, name)


def family_members(name: str) -> tuple[str, ...]:
    """Every colour word in `name`'s basic family ("blue" -> blue, navy, teal, turquoise)."""
    basic = family(name)
    return tuple(w for w in COLOUR_WORDS if family(w) == basic)


@dataclass(frozen=True)
class BasicColour:
    """A region's colour as people say it: the basic family, how much of the region it
    covers, the words to say ("dark blue") and the finer name worth adding ("gold")."""

    basic: str
    fraction: float
    words: str
    fine: str
    rgb: tuple[int, int, int]
    runner_up: float = 0.0  # the next family's share

    @property
    def members(self) -> tuple[str, ...]:
        return family_members(self.basic)

    @property
    def phrase(self) -> str:
        """'yellow (gold)', 'dark blue', 'red': what an answer says."""
        return f"{self.words} ({self.fine})" if self.fine else self.words


def basic_colour(spread: list[ColourName]) -> BasicColour | None:
    """The dominant basic family of a colour spread, said with its dominant fine name."""
    if not spread:
        return None
    shares: dict[str, float] = {}
    for c in spread:
        shares[family(c.name)] = shares.get(family(c.name), 0.0) + c.fraction
    ranked = sorted(shares.items(), key=lambda kv: -kv[1])
    basic, share = ranked[0]
    top = max((c for c in spread if family(c.name) == basic), key=lambda c: c.fraction)
    words, fine = SAID_AS.get(top.name, (basic, ""))
    # A fine name is worth saying only when it describes most of the family's pixels.
    if top.name == basic or top.fraction < 0.5 * share:
        words, fine = basic, ""
    runner = ranked[1][1] if len(ranked) > 1 else 0.0
    return BasicColour(basic, share, words, fine, top.rgb, runner)


def border_contrast(names: np.ndarray, weights: np.ndarray, band: float = 0.08) -> np.ndarray:
    """Per-pixel weights [H, W] that favour colours the image's border lacks.

    A colour that covers the region as much as it covers the border (floor, wall, sky
    around an object) is likely background; each colour's weight is its share of the region
    against its share of the border, r / (r + b): 1 for colours absent from the border,
    about 0.5 everywhere when the object fills the frame (no change then)."""
    h, w = names.shape
    b = max(1, int(round(band * min(h, w))))
    border = np.zeros((h, w), bool)
    border[:b], border[-b:], border[:, :b], border[:, -b:] = True, True, True, True
    n = len(COLOUR_WORDS)
    in_border = np.bincount(names[border], minlength=n) / max(1, int(border.sum()))
    mass = np.bincount(names.ravel(), weights=np.asarray(weights, np.float64).ravel(), minlength=n)
    region = mass / max(float(mass.sum()), 1e-12)
    ratio = region / np.maximum(region + in_border, 1e-12)
    return ratio[names].astype(np.float32)
