"""Answers composed from grounded evidence, one rule per question kind.

Every answer carries a heat map and one line of evidence; a kind the model cannot answer
gets an honest refusal with confidence 0, never an invented answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from vlm_desktop.core.engine.lite.attention import separate_peaks, unit_range
from vlm_desktop.core.engine.lite.captioner import (
    article, colour_map, compose_caption, main_object, name_maps, object_colour,
)
from vlm_desktop.core.engine.lite.colors import colour_spread
from vlm_desktop.core.engine.lite.evidence import ImageEvidence
from vlm_desktop.core.engine.lite.hierarchy import Hierarchy, Match
from vlm_desktop.core.engine.lite.questions import ParsedQuestion
from vlm_desktop.core.engine.types import Answer, HeatMap, word_spans

UNSUPPORTED_TEXT = "I can't answer that kind of question with the built-in model."
CATALOG_TEXT = ("That needs a product catalog: open or import a catalog to get prices, "
                "categories and stock for this item.")
GOOD_MATCH = 0.72  # cosine above which a phrase is taken to name known concepts
YES_AT = 0.3  # presence probability from which the answer is "yes"
COLOUR_ALIASES = {"gray": "grey", "golden": "gold", "violet": "purple", "magenta": "pink",
                  "cyan": "turquoise", "navy": "navy", "tan": "beige", "cream": "beige",
                  "maroon": "red", "silver": "grey"}


@dataclass(frozen=True)
class Target:
    """What a question points at in the image: its name, classes, map and presence."""

    name: str
    classes: np.ndarray
    cam: np.ndarray
    presence: float  # probability the thing is in the image (0..1)
    known: bool  # the phrase matched concepts the classifier knows
    evidence: str
    via: str = ""  # a related present concept standing in for the phrase ("cup" -> "coffee")


Resolver = Callable[[str], Match]
AttentionFn = Callable[[str], np.ndarray]


def _presence_line(hier: Hierarchy, ev: ImageEvidence, classes: np.ndarray, name: str) -> str:
    glob, local = ev.presence(classes)
    top = classes[np.argsort(-np.maximum(ev.probs[classes], ev.local_probs[:, classes].max(0)))[:2]]
    parts = ", ".join(f"{hier.node_names[c]} {100 * ev.probs[c]:.0f}%" for c in top)
    return f"{parts} → {name} {100 * glob:.0f}% (best local view {100 * local:.0f}%)"


def resolve(hier: Hierarchy, ev: ImageEvidence, phrase: str, match_fn: Resolver,
            attend: AttentionFn) -> Target:
    """The target of a question: the main object when the phrase is empty, else the concepts
    the phrase names; when those are absent, the best-matching related concept that is
    present ("cup" -> the espresso); else (unknown phrase) its attention map, no presence."""
    if not phrase:
        first = main_object(hier, ev)
        return Target(first.name, first.classes, first.cam, first.confidence, True, first.evidence)
    m = match_fn(phrase)
    direct = None
    if m.exact or m.similarity >= GOOD_MATCH:
        classes = hier.union_classes(m.nodes)
        direct = Target(phrase, classes, ev.concept_map(classes), _presence(ev, classes), True,
                        _presence_line(hier, ev, classes, phrase))
        if direct.presence >= YES_AT:
            return direct
    alternative = _related_present(hier, ev, phrase, m)
    if alternative is not None:
        return alternative
    if direct is not None:
        return direct
    return Target(phrase, np.zeros(0, int), attend(phrase), 0.0, False,
                  f"'{phrase}' matches no known concept well (best {hier.name(m.nodes[0])}, "
                  f"similarity {m.similarity:.2f}); attention map only")


def _presence(ev: ImageEvidence, classes: np.ndarray) -> float:
    glob, local = ev.presence(classes)
    return max(glob, 0.8 * local)  # a local view alone is a little less sure


def _related_present(hier: Hierarchy, ev: ImageEvidence, phrase: str, m: Match) -> Target | None:
    """The best-matching related concept (by match score, then presence) that is present."""
    best: tuple[float, float, int, str] | None = None
    for node, score, why in m.related:
        p = _presence(ev, hier.classes_of(node))
        if p >= YES_AT and (best is None or (score, p) > best[:2]):
            best = (score, p, node, why)
    if best is None:
        return None
    score, p, node, why = best
    classes = hier.classes_of(node)
    name = hier.name(node)
    line = f"'{phrase}' → related concept {name} ({why}); " + _presence_line(hier, ev, classes, name)
    return Target(phrase, classes, ev.concept_map(classes), p * score, True, line, via=name)


def _answer(q: ParsedQuestion, text: str, conf: float, heat: HeatMap | None,
            evidence: str, maps: dict[str, HeatMap] | None = None) -> Answer:
    return Answer(q.text, text, round(float(np.clip(conf, 0.0, 1.0)), 3), kind=q.kind,
                  heatmap=heat, words=word_spans(text, maps or {}), evidence=evidence)


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


def answer_what(q: ParsedQuestion, hier: Hierarchy, ev: ImageEvidence, match_fn: Resolver,
                attend: AttentionFn) -> Answer:
    if q.target:
        t = resolve(hier, ev, q.target, match_fn, attend)
        if t.known and t.classes.size:
            best = int(t.classes[np.argmax(ev.probs[t.classes])])
            share = float(ev.probs[best]) / max(t.presence, 1e-6)
            name = hier.node_names[best]
            text = f"It looks like {article(name)} {name}." if t.presence >= YES_AT else \
                f"I don't see {article(q.target)} {q.target} clearly; at most {article(name)} {name}."
            return _answer(q, text, t.presence * min(1.0, share), HeatMap(name, unit_range(t.cam), "cam"),
                           t.evidence, name_maps(name, t.cam))
    cap = compose_caption(hier, ev)
    text = cap.text[0].upper() + cap.text[1:] + "."
    maps = {w.text.lower(): w.heatmap for w in cap.words if w.heatmap is not None}
    cams = [m for m in maps.values() if m.kind == "cam"]
    heat = cams[0] if cams else HeatMap("image", np.zeros(ev.grid_shape, np.float32), "cam")
    return _answer(q, text, cap.confidence, heat, cap.evidence, maps)


def _canonical_colour(name: str) -> str:
    return COLOUR_ALIASES.get(name, name)


def answer_color(q: ParsedQuestion, hier: Hierarchy, ev: ImageEvidence, match_fn: Resolver,
                 attend: AttentionFn) -> Answer:
    t = resolve(hier, ev, q.target, match_fn, attend)
    colour, cmap = object_colour(ev, t.cam)
    if colour is None:
        return _answer(q, "I can't tell its colour.", 0.0, HeatMap(t.name, unit_range(t.cam), "cam"),
                       t.evidence)
    subject = f"The {q.target}" if q.target else "It"
    if t.via and t.via != q.target:
        subject += f" (the {t.via} I see)"
    verb = "are" if q.target.endswith("s") and not q.target.endswith("ss") else "is"
    text = f"{subject} {verb} {colour.name}."
    heat = HeatMap(colour.name, cmap, kind="relevance")
    conf = colour.fraction * (1.0 if not q.target or t.known else 0.6)
    if q.target and t.known and t.presence < YES_AT:
        text = f"I don't see {article(q.target)} {q.target} clearly; the object there is {colour.name}."
        conf *= 0.5
    maps = {colour.name: heat, **({} if not q.target else name_maps(q.target, t.cam))}
    return _answer(q, text, conf, heat,
                   f"{colour.name} {100 * colour.fraction:.0f}% of the region's pixels; {t.evidence}", maps)


def answer_yesno(q: ParsedQuestion, hier: Hierarchy, ev: ImageEvidence, match_fn: Resolver,
                 attend: AttentionFn, joint_similarity: Callable[[str], float]) -> Answer:
    t = resolve(hier, ev, q.target, match_fn, attend)
    heat = HeatMap(t.name, unit_range(t.cam), "cam" if t.known else "attention")
    if q.colour:
        return _answer_colour_yesno(q, ev, t, heat)
    sim = joint_similarity(q.target)
    if not t.known:
        # The classifier has no concept for it: only the joint space speaks, so stay unsure.
        p = float(np.clip((sim - 0.35) / 0.4, 0.0, 1.0))
        text = ("Possibly, but I'm not sure: " if p >= 0.5 else "I don't think so, but I'm not sure: ") + \
            f"the built-in model has no concept for '{q.target}'."
        return _answer(q, text, 0.2 * abs(p - 0.5) * 2, heat,
                       f"{t.evidence}; joint-space similarity {sim:.2f}")
    p = t.presence
    noun = f"{article(q.target)} {q.target}"
    if t.via:
        # Only a related concept is there (asked for a cup, an espresso is seen): say so.
        text = (f"Probably: I see {article(t.via)} {t.via} {position_words(t.cam)}, "
                f"which fits '{q.target}'.")
        return _answer(q, text, min(0.6, 0.5 + 0.5 * (p - YES_AT)), heat,
                       f"{t.evidence}; joint-space similarity {sim:.2f}", name_maps(t.via, t.cam))
    if p >= YES_AT:
        text = f"Yes, there is {noun} {position_words(t.cam)}."
        conf = min(0.99, 0.5 + 0.5 * (p - YES_AT) / (1 - YES_AT))
    else:
        text = f"No, I don't see {noun}."
        conf = min(0.95, 0.5 + 0.5 * (YES_AT - p) / YES_AT)
    maps = name_maps(q.target, t.cam) if p >= YES_AT else {}
    return _answer(q, text, conf, heat, f"{t.evidence}; joint-space similarity {sim:.2f}", maps)


def _answer_colour_yesno(q: ParsedQuestion, ev: ImageEvidence, t: Target, heat: HeatMap) -> Answer:
    weights = ev.pixel_weights(np.clip(unit_range(t.cam) - 0.3, 0.0, None)) * ev.foreground
    spread = colour_spread(ev.pixels, weights, names=ev.pixel_colours)
    asked = _canonical_colour(q.colour)
    share = next((c.fraction for c in spread if c.name == asked), 0.0)
    top = spread[0].name if spread else "unknown"
    subject = f"the {q.target}" if q.target else "it"
    if q.target and t.known and t.presence < YES_AT:
        return _answer(q, f"No, I don't see {article(q.target)} {q.target}.",
                       min(0.95, 0.5 + 0.5 * (YES_AT - t.presence) / YES_AT), heat, t.evidence)
    if share >= 0.3 or top == asked:
        text = f"Yes, {subject} is {asked}."
        conf = min(0.95, 0.5 + share)
    else:
        text = f"No, {subject} looks {top}."
        conf = min(0.95, 0.5 + (spread[0].fraction if spread else 0) - share)
    cmap = colour_map(ev, asked if share > 0 else top, weights)
    conf *= 1.0 if not q.target or t.presence >= YES_AT else 0.5
    return _answer(q, text, conf, HeatMap(asked, cmap, "relevance"),
                   f"{asked} {100 * share:.0f}% of the region, most is {top}; {t.evidence}",
                   {asked: HeatMap(asked, cmap, "relevance")})


def answer_where(q: ParsedQuestion, hier: Hierarchy, ev: ImageEvidence, match_fn: Resolver,
                 attend: AttentionFn) -> Answer:
    t = resolve(hier, ev, q.target, match_fn, attend)
    heat = HeatMap(t.name, unit_range(t.cam), "cam" if t.known else "attention")
    where = position_words(t.cam)
    subject = f"The {q.target}" if q.target else f"The {t.name}"
    if t.via and t.via != q.target:
        subject += f" (the {t.via} I see)"
    if t.known and t.presence >= YES_AT:
        text, conf = f"{subject} is {where}.", t.presence
    elif t.known:
        text, conf = f"I don't see {article(t.name)} {t.name} clearly; if it is there, it is {where}.", \
            0.5 * t.presence
    else:
        text, conf = f"I don't know '{q.target}' well; the best match is {where}.", 0.15
    return _answer(q, text, conf, heat, f"map peak {where}; {t.evidence}",
                   name_maps(t.name, t.cam) if t.known else {})


def answer_count(q: ParsedQuestion, hier: Hierarchy, ev: ImageEvidence, match_fn: Resolver,
                 attend: AttentionFn) -> Answer:
    t = resolve(hier, ev, q.target, match_fn, attend)
    heat = HeatMap(t.name, unit_range(t.cam), "cam" if t.known else "attention")
    plural = (q.target or t.name) + ("" if (q.target or t.name).endswith("s") else "s")
    if t.known and t.presence < YES_AT:
        return _answer(q, f"I don't see any {plural}.", 0.5 * (1 - t.presence), heat, t.evidence)
    found = separate_peaks(t.cam)
    n = max(1, len(found))
    text = f"I count about {n} {plural if n > 1 else (q.target or t.name)} (approximate)."
    conf = (0.5 if t.known else 0.15) * (t.presence if t.known else 1.0) / (1 + 0.3 * (n - 1))
    why = f"{len(found)} separate peaks of the map (gap below half the lower peak); {t.evidence}"
    return _answer(q, text, conf, heat, why, name_maps(q.target or t.name, t.cam) if t.known else {})


def answer_refusal(q: ParsedQuestion, heat: HeatMap, catalog: bool) -> Answer:
    text = CATALOG_TEXT if catalog else UNSUPPORTED_TEXT
    why = "catalog question: needs a catalog" if catalog else \
        "question kind not supported by the built-in model"
    return _answer(q, text, 0.0, heat, why)
