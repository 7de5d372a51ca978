"""Captions composed from grounded evidence: the main object named as specifically as the
evidence allows (backing off along WordNet when siblings split the vote), its measured
colour, and a second object when one is strongly present somewhere else."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vlm_desktop.core.engine.lite import chinese
from vlm_desktop.core.engine.lite.attention import unit_range
from vlm_desktop.core.engine.lite.colors import (
    COLOUR_WORDS, BasicColour, basic_colour, border_contrast, colour_spread,
)
from vlm_desktop.core.engine.lite.evidence import ImageEvidence
from vlm_desktop.core.engine.lite.hierarchy import Hierarchy
from vlm_desktop.core.engine.types import Caption, HeatMap, word_spans
from vlm_desktop.core.messages import Joined, Phrase, later, say_later

SURE_MASS = 0.5  # a node named without hedging holds at least this much probability
# A node is named only when it is a clear winner among its siblings: it holds at least this
# share of its parent's mass (3:1 odds against all its siblings together). Otherwise the
# caption backs off to the parent ("tiger cat 39%, Egyptian cat 36%, tabby 17% → cat").
CLEAR_SHARE = 0.75
WEAK_MASS = 0.15  # below this even "possibly" names only the single best class
COLOUR_MIN_SHARE = 0.35  # a colour is named when it covers this share of the object
OBJECT_REGION = 0.25  # cells whose CAM reaches this share of its range belong to the object
SECOND_MIN_PROB = 0.15  # a second object must win a local view by this much
SECOND_MIN_CELLS = 3.0
SECOND_COHERENT = 0.25  # a second object's best class holds at least this share of its mass
SECOND_SURE = 0.4  # a weaker second object is named with "possibly"  # ... with its map's peak this many cells from the first one's


@dataclass(frozen=True)
class ObjectFinding:
    """One object the caption names: node, display name, confidence, evidence map."""

    node: int
    name: str
    confidence: float
    hedged: bool
    classes: np.ndarray
    cam: np.ndarray  # [h, w] raw concept map
    evidence: Phrase  # said in the caption's language


def article(phrase: str) -> str:
    return "an" if phrase[:1].lower() in "aeiou" else "a"


def sibling_share(hier: Hierarchy, masses: np.ndarray) -> np.ndarray:
    """Each node's share of its parent's mass (1 for the root): how clearly it beats its siblings."""
    parent_mass = np.where(hier.parent >= 0, masses[np.maximum(hier.parent, 0)], masses)
    return np.minimum(1.0, masses / np.maximum(parent_mass, 1e-12))


def choose_node(hier: Hierarchy, masses: np.ndarray, sure: float = SURE_MASS,
                share: float = CLEAR_SHARE) -> tuple[int, bool]:
    """(node, hedged): the deepest sayable node holding `sure` mass that is also a clear
    winner among its siblings (`share` of its parent's mass); else the same at a weaker
    mass, hedged; else the best single class, hedged."""
    ok = (sibling_share(hier, masses) >= share) & hier.sayable_mask
    for threshold, hedged in ((sure, False), (WEAK_MASS * 2, True)):
        cands = np.flatnonzero((masses >= threshold) & ok)
        if cands.size:  # deepest first, then the larger mass
            return int(cands[np.lexsort((masses[cands], hier.depth[cands]))[-1]]), hedged
    return int(np.argmax(masses[: hier.num_classes])), True


def class_share(hier: Hierarchy, c: int, p: float) -> Phrase:
    """'tabby cat 38%': a class and its probability."""
    return say_later("{name} {p:.0f}%", name=chinese.term(hier, c), p=100 * p)


def describe_split(hier: Hierarchy, probs: np.ndarray, node: int, name: str) -> Phrase:
    """'tabby cat 38%, tiger cat 38% → cat' from the classes under `node`."""
    classes = hier.classes_of(node)
    top = classes[np.argsort(-probs[classes])[:3]]
    parts = [class_share(hier, c, probs[c]) for c in top if probs[c] >= 0.01]
    if not parts:
        parts = [class_share(hier, top[0], probs[top[0]])]
    return say_later("{parts} → {name}", parts=Joined(later(", "), tuple(parts)),
                  name=chinese.term(hier, node, name))


def main_object(hier: Hierarchy, ev: ImageEvidence) -> ObjectFinding:
    """The main object from the whole-image probabilities (composed once per image)."""
    return ev.remember(("main_object", id(hier)), lambda: _main_object(hier, ev))


def _main_object(hier: Hierarchy, ev: ImageEvidence) -> ObjectFinding:
    probs = ev.probs
    masses = hier.masses(probs)
    node, hedged = choose_node(hier, masses)
    if hedged and ev.naming_probs is not None:
        # The classifier cannot name it even at a coarse level (clip art, product shots):
        # the joint space's reading decides. Where the classifier is sure of a node, its
        # own split among siblings stands, so "tabby 38%, tiger cat 38%" still says "cat".
        probs = ev.naming_probs
        masses = hier.masses(probs)
        node, hedged = choose_node(hier, masses)
    name = hier.name(node)
    classes = hier.classes_of(node)
    return ObjectFinding(node, name, float(masses[node]), hedged, classes,
                         ev.concept_map(classes), describe_split(hier, probs, node, name))


def second_object(hier: Hierarchy, ev: ImageEvidence, first: ObjectFinding) -> ObjectFinding | None:
    """An object that wins a local view, away from the first and not its hypernym relative."""
    peak_1 = np.unravel_index(int(np.argmax(first.cam)), first.cam.shape)
    best: ObjectFinding | None = None
    for view, masses in zip(ev.local_probs, hier.masses(ev.local_probs)):
        node, hedged = choose_node(hier, masses, sure=SECOND_MIN_PROB)
        conf = float(masses[node])
        # A coarse node smeared over many classes (a local view's texture read as "animal")
        # is no object: its best class must hold a fair share of it.
        if float(view[hier.classes_of(node)].max()) < SECOND_COHERENT * conf:
            continue
        if hedged or conf < SECOND_MIN_PROB or ev.probs[hier.classes_of(node)].sum() < 0.01 or hier.related(node, first.node):
            continue
        if any(hier.related(node, int(c)) for c in first.classes[:50]) or \
                np.intersect1d(hier.classes_of(node), first.classes).size:
            continue
        classes = hier.classes_of(node)
        cam = ev.concept_map(classes)
        peak = np.unravel_index(int(np.argmax(cam)), cam.shape)
        if np.hypot(peak[0] - peak_1[0], peak[1] - peak_1[1]) < SECOND_MIN_CELLS:
            continue
        if best is None or conf > best.confidence:
            name = hier.name(node)
            best = ObjectFinding(node, name, conf, conf < SECOND_SURE, classes, cam,
                                 say_later("{split} (local view)",
                                        split=describe_split(hier, view, node, name)))
    return best


def region_weights(ev: ImageEvidence, cam: np.ndarray) -> np.ndarray:
    """Pixel weights [H, W] of an object's region for measuring its colour: the hot part of
    its map, on the foreground, with colours the image's border shares (floor, wall) played
    down, so a red motorcycle on a grey floor is red, not grey."""
    weights = ev.pixel_weights(np.clip(unit_range(cam) - 0.3, 0.0, None)) * ev.foreground
    if float(weights.sum()) <= 1e-6:
        weights = ev.foreground
    return weights * border_contrast(ev.pixel_colours, weights)


def object_colour(ev: ImageEvidence, cam: np.ndarray) -> tuple[BasicColour | None, np.ndarray]:
    """The dominant basic colour under an object's map and where it lies, as a grid map."""
    weights = region_weights(ev, cam)
    colour = basic_colour(colour_spread(ev.pixels, weights, names=ev.pixel_colours))
    if colour is None:
        return None, np.zeros(ev.grid_shape, np.float32)
    # The word's map shows where that colour lies over the whole object region, not only
    # under the CAM's hottest cells (weighting by CAM strength shrank it to one blob).
    region = ev.pixel_weights((unit_range(cam) >= OBJECT_REGION).astype(np.float32))
    return colour, colour_map(ev, colour.members, region * ev.foreground)


def colour_map(ev: ImageEvidence, members: tuple[str, ...], weights: np.ndarray) -> np.ndarray:
    """Where a colour is, on the grid: the weighted share per cell of pixels named with any
    of `members` (a basic term's whole family: "yellow" counts the gold-shaded pixels too)."""
    wanted = np.isin(ev.pixel_colours, [COLOUR_WORDS.index(n) for n in members])
    hit = wanted.astype(np.float32) * weights
    h, w = ev.grid_shape
    ppc_r, ppc_c = ev.pixels.shape[0] // h, ev.pixels.shape[1] // w
    cells = hit[: h * ppc_r, : w * ppc_c].reshape(h, ppc_r, w, ppc_c).mean(axis=(1, 3))
    return unit_range(cells)


def colour_word_maps(colour: BasicColour, cmap: np.ndarray) -> dict[str, HeatMap]:
    """One colour heat map for each word of a colour phrase ("dark", "blue", "gold")."""
    heat = HeatMap(colour.words, cmap, kind="relevance")
    words = colour.phrase.replace("(", " ").replace(")", " ").split()
    words += [part for w in words for part in w.split("-")]
    return {w.lower(): heat for w in words}


def name_maps(name: str, values: np.ndarray, kind: str = "cam") -> dict[str, HeatMap]:
    """One HeatMap per word of a (possibly multi-word) name, all showing the same map."""
    heat = HeatMap(name, unit_range(values), kind=kind)
    return {w.lower(): heat for w in name.replace("(", " ").replace(")", " ").split() if w}


def compose_caption(hier: Hierarchy, ev: ImageEvidence) -> Caption:
    """Caption text, per-word maps and a line of evidence for one image (composed once)."""
    return ev.remember(("caption", id(hier)), lambda: _compose_caption(hier, ev))


def _compose_caption(hier: Hierarchy, ev: ImageEvidence) -> Caption:
    first = main_object(hier, ev)
    colour, cmap = object_colour(ev, first.cam)
    maps = name_maps(first.name, first.cam)
    phrase = first.name
    if colour is not None and colour.fraction >= COLOUR_MIN_SHARE and not first.hedged:
        phrase = f"{colour.words} {first.name}"  # basic words only: "a dark blue hat"
        maps.update(colour_word_maps(colour, cmap))
    text = f"{'possibly ' if first.hedged else ''}{article(phrase)} {phrase}"
    second = None if first.hedged else second_object(hier, ev, first)
    if second is not None:
        maybe = "possibly " if second.hedged else ""
        text += f" and {maybe}{article(second.name)} {second.name}"
        for word, heat in name_maps(second.name, second.cam).items():
            maps.setdefault(word, heat)
    conf = first.confidence if second is None else min(first.confidence, max(second.confidence, 0.3))
    return Caption(text, round(float(conf), 3), word_spans(text, maps),
                   evidence=caption_evidence(hier, ev).text(chinese.ENGLISH))


def caption_evidence(hier: Hierarchy, ev: ImageEvidence) -> Joined:
    """The caption's line of evidence, to be said in either language: the main object's
    split, the second object's, the colour's share of the object's pixels."""
    return ev.remember(("caption_evidence", id(hier)), lambda: _caption_evidence(hier, ev))


def _caption_evidence(hier: Hierarchy, ev: ImageEvidence) -> Joined:
    first = main_object(hier, ev)
    colour, _ = object_colour(ev, first.cam)
    parts: list[Phrase] = [first.evidence]
    second = None if first.hedged else second_object(hier, ev, first)
    if second is not None:
        parts.append(second.evidence)
    if colour is not None:
        parts.append(say_later("colour {colour} {p:.0f}% of the object's pixels",
                            colour=chinese.colour_term(colour.phrase), p=100 * colour.fraction))
    return Joined(later("; "), tuple(parts))


def compose_caption_zh(hier: Hierarchy, ev: ImageEvidence) -> Caption:
    """The caption in Simplified Chinese: the same objects, colour and confidence as
    compose_caption, said with Chinese names and measure words (一只灰色的虎斑猫)."""
    return ev.remember(("caption_zh", id(hier)), lambda: _compose_caption_zh(hier, ev))


def _compose_caption_zh(hier: Hierarchy, ev: ImageEvidence) -> Caption:
    english = compose_caption(hier, ev)  # the confidence is shared, not recomputed
    zh = chinese.table()
    first = main_object(hier, ev)
    colour, cmap = object_colour(ev, first.cam)
    name = chinese.node_name(hier, first.node)
    maps = {name: HeatMap(name, unit_range(first.cam), kind="cam")}
    phrase = name
    if colour is not None and colour.fraction >= COLOUR_MIN_SHARE and not first.hedged:
        said = zh.colour(colour.words)
        phrase = f"{said}的{name}"
        maps[said] = HeatMap(colour.words, cmap, kind="relevance")
    text = zh.say("caption_maybe" if first.hedged else "caption",
                  measure=chinese.measure(hier, first.node), phrase=phrase)
    second = None if first.hedged else second_object(hier, ev, first)
    if second is not None:
        other = chinese.node_name(hier, second.node)
        text = zh.say("caption_and", first=text, maybe="可能是" if second.hedged else "",
                      measure=chinese.measure(hier, second.node), name=other)
        maps.setdefault(other, HeatMap(other, unit_range(second.cam), kind="cam"))
    return Caption(text, english.confidence, chinese.word_spans(text, maps),
                   evidence=caption_evidence(hier, ev).text(chinese.LANGUAGE))
