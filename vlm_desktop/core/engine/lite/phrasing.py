"""English wording shared by the built-in model's answers: where a map's hot region lies,
plurals, how many peaks a count found."""

from __future__ import annotations

import numpy as np

from vlm_desktop.core.engine.lite.attention import unit_range
from vlm_desktop.core.messages import Phrase, say_later


def position_words(values: np.ndarray) -> str:
    """'on the left', 'in the top right', 'in the centre' from a map's hot region."""
    v = unit_range(values)
    mask = v >= 0.6
    rows, cols = np.nonzero(mask)
    weights = v[mask]
    y = float(np.average((rows + 0.5) / v.shape[0], weights=weights))
    x = float(np.average((cols + 0.5) / v.shape[1], weights=weights))
    horiz = "left" if x < 0.4 else "right" if x > 0.6 else ""
    vert = "top" if y < 0.4 else "bottom" if y > 0.6 else ""
    if horiz and vert:
        return f"in the {vert} {horiz}"
    if horiz:
        return f"on the {horiz}"
    if vert:
        return f"at the {vert}"
    return "in the centre"


def plural(noun: str, n: int = 2) -> str:
    """`noun` for n things: "1 cat", "2 cats", "2 glasses", "2 boxes", "2 berries"."""
    if n == 1 or not noun:
        return noun
    words = noun.split()
    last = words[-1]
    if last.endswith(("s", "x", "z", "ch", "sh")):
        last += "es"
    elif last.endswith("y") and len(last) > 1 and last[-2] not in "aeiou":
        last = last[:-1] + "ies"
    else:
        last += "s"
    return " ".join([*words[:-1], last])


def peaks_phrase(n: int) -> Phrase:
    return say_later("1 peak of the map") if n == 1 else \
        say_later("{n} separate peaks of the map (gap below half the lower peak)", n=n)
