"""Answers composed from grounded evidence, one rule per question kind.

Every answer carries a heat map and one line of evidence; a kind the model cannot answer
gets an honest refusal with confidence 0, never an invented answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from vlm_desktop.core.engine.lite import calibration, chinese
from vlm_desktop.core.engine.lite.attention import separate_peaks, unit_range
from vlm_desktop.core.engine.lite.phrasing import peaks_phrase, plural, position_words
from vlm_desktop.core.engine.lite.captioner import (
    article, class_share, colour_map, colour_word_maps, compose_caption, compose_caption_zh,
    main_object, name_maps,
    object_colour, region_weights,
)
from vlm_desktop.core.engine.lite.colors import (
    ALIASES, BasicColour, ColourName, basic_colour, colour_spread, family, family_members,
)
from vlm_desktop.core.engine.lite.evidence import ImageEvidence
from vlm_desktop.core.engine.lite.hierarchy import Hierarchy, Match
from vlm_desktop.core.engine.lite.questions import ParsedQuestion
from vlm_desktop.core.engine.types import Answer, HeatMap, word_spans
from vlm_desktop.core.messages import Joined, Phrase, Said, Term, later, said_in, say_later

UNSUPPORTED_TEXT = "I can't answer that kind of question with the built-in model."
CATALOG_TEXT = ("That needs a product catalog: open or import a catalog to get prices, "
                "categories and stock for this item.")
GOOD_MATCH = 0.72  # cosine above which a phrase is taken to name known concepts
YES_AT = 0.3  # presence from which a named target counts as seen (targets, colours, where)
# Calibrated P(present) from which a yes/no answer is a plain "Yes" / from which P(absent)
# makes it a plain "No"; between them the answer says it is unsure.
SURE_YES = 0.75
SURE_NO = 0.8
# Concepts ImageNet's classes barely cover (people appear only as "groom", "scuba diver",
# "ballplayer"; the clip-art people folder is missed): no confident "no" about them.
POORLY_KNOWN = frozenset({"person", "people", "man", "woman", "child", "boy", "girl", "human",
                          "face", "baby"})
HEDGED_MAX = 0.3  # the most a "possibly a ..." answer states
CROWDED_MAP = 0.45  # share of the map's cells at half its peak or more: too spread to count


@dataclass(frozen=True)
class Target:
    """What a question points at in the image: its name, classes, map and presence."""

    name: str
    classes: np.ndarray
    cam: np.ndarray
    presence: float  # probability the thing is in the image (0..1)
    known: bool  # the phrase matched concepts the classifier knows
    evidence: Said  # said in the answer's language
    via: str = ""  # a related present concept standing in for the phrase ("cup" -> "coffee")


Resolver = Callable[[str], Match]
AttentionFn = Callable[[str], np.ndarray]


def _presence_line(hier: Hierarchy, ev: ImageEvidence, classes: np.ndarray, name: Term) -> Phrase:
    glob, local = ev.presence(classes)
    top = classes[np.argsort(-np.maximum(ev.probs[classes], ev.local_probs[:, classes].max(0)))[:2]]
    parts = Joined(later(", "), tuple(class_share(hier, c, ev.probs[c]) for c in top))
    return say_later("{parts} → {name} {p:.0f}% (best local view {local:.0f}%)",
                     parts=parts, name=name, p=100 * glob, local=100 * local)


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
                        _presence_line(hier, ev, classes, chinese.phrase_term(hier, phrase)))
        if direct.presence >= YES_AT:
            return direct
    alternative = _related_present(hier, ev, phrase, m)
    if alternative is not None:
        return alternative
    if direct is not None:
        return direct
    line = say_later("'{phrase}' matches no known concept well (best {best}, similarity {sim:.2f}); "
               "attention map only", phrase=chinese.phrase_term(hier, phrase),
               best=chinese.term(hier, m.nodes[0], hier.name(m.nodes[0])), sim=m.similarity)
    return Target(phrase, np.zeros(0, int), attend(phrase), 0.0, False, line)


def _presence(ev: ImageEvidence, classes: np.ndarray) -> float:
    glob, local = ev.presence(classes)
    return max(glob, 0.8 * local)  # a local view alone is a little less sure


def _related_present(hier: Hierarchy, ev: ImageEvidence, phrase: str, m: Match) -> Target | None:
    """The best-matching related concept (by match score, then presence) that is present."""
    best: tuple[float, float, int, Phrase] | None = None
    for node, score, why in m.related:
        p = _presence(ev, hier.classes_of(node))
        if p >= YES_AT and (best is None or (score, p) > best[:2]):
            best = (score, p, node, why)
    if best is None:
        return None
    score, p, node, reason = best
    classes = hier.classes_of(node)
    name = hier.name(node)
    said = chinese.term(hier, node, name)
    # "'cup' in its name": the asked word said in the answer's language too.
    why = reason.with_values(key=chinese.phrase_term(hier, phrase.lower().strip()))
    line = say_later("'{phrase}' → related concept {name} ({why}); {line}",
               phrase=chinese.phrase_term(hier, phrase), name=said, why=why,
               line=_presence_line(hier, ev, classes, said))
    return Target(phrase, classes, ev.concept_map(classes), p * score, True, line, via=name)


def not_located(name: str, ev: ImageEvidence) -> HeatMap:
    """The map of an answer that found nothing ("No, I don't see a spoon", "I can't tell"):
    flat, so no one is shown a normalised map of noise as where the thing is."""
    return HeatMap(name, np.zeros(ev.grid_shape, np.float32), "cam")


def _answer(q: ParsedQuestion, text: str, conf: float, heat: HeatMap | None,
            evidence: Said | str, maps: dict[str, HeatMap] | None = None) -> Answer:
    spans = chinese.word_spans if _zh(q) else word_spans
    return Answer(q.text, text, round(float(np.clip(conf, 0.0, 1.0)), 3), kind=q.kind,
                  heatmap=heat, words=spans(text, maps or {}),
                  evidence=said_in(q.language if _zh(q) else chinese.ENGLISH, evidence))


# --- Chinese wording: the same decisions, said in zh_CN ---------------------------------


def _zh(q: ParsedQuestion) -> bool:
    return q.language == chinese.LANGUAGE


def _zh_noun(hier: Hierarchy, q: ParsedQuestion) -> str:
    """What a Chinese answer calls the question's target: the words asked with, else the
    Chinese name of the English concept (an English question answered in Chinese)."""
    return q.words or chinese.chinese_for(hier, q.target)


def _zh_maps(name: str, values: np.ndarray, kind: str = "cam") -> dict[str, HeatMap]:
    """The Chinese counterpart of name_maps: one map under the whole name (no spaces)."""
    return {name: HeatMap(name, unit_range(values), kind=kind)} if name else {}


def _zh_measure(hier: Hierarchy, phrase: str) -> str:
    nodes = hier.exact_nodes(phrase)
    return chinese.measure(hier, nodes[0]) if nodes else chinese.DEFAULT_MEASURE


def _zh_colour_maps(colour: BasicColour, cmap: np.ndarray) -> dict[str, HeatMap]:
    said = chinese.table().colour(colour.words)
    return {said: HeatMap(colour.words, cmap, kind="relevance")}


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
            maps = name_maps(name, t.cam)
            if _zh(q):
                said = chinese.node_name(hier, best)
                text = chinese.table().say("what_named", name=said) if t.presence >= YES_AT else \
                    chinese.table().say("what_unclear", target=_zh_noun(hier, q), name=said)
                maps = _zh_maps(said, t.cam)
            return _answer(q, text, t.presence * min(1.0, share), HeatMap(name, unit_range(t.cam), "cam"),
                           t.evidence, maps)
    if _zh(q):
        cap = compose_caption_zh(hier, ev)
        text = cap.text + "。"
    else:
        cap = compose_caption(hier, ev)
        text = cap.text[0].upper() + cap.text[1:] + "."
    maps = {w.text.lower(): w.heatmap for w in cap.words if w.heatmap is not None}
    cams = [m for m in maps.values() if m.kind == "cam"]
    heat = cams[0] if cams else HeatMap("image", np.zeros(ev.grid_shape, np.float32), "cam")
    return _answer(q, text, _what_confidence(hier, ev, cap.confidence), heat, cap.evidence, maps)


def _what_confidence(hier: Hierarchy, ev: ImageEvidence, stated: float) -> float:
    """A "possibly a ..." answer's confidence: the mass of a broad node gathered from many
    weak classes (deep field: flatworm 10%, nematode 6%, jellyfish 3% -> "animal" 46%) is no
    sign of being right; it is scaled by how much of it its best class holds, and stays
    below HEDGED_MAX, what "possibly" means."""
    first = main_object(hier, ev)
    if not first.hedged or first.classes.size == 0:
        return stated
    best = float(ev.probs[first.classes].max())
    coherence = best / max(first.confidence, 1e-6)
    return min(HEDGED_MAX, stated * max(coherence, 0.25))


def _colour_share(spread: list[ColourName], asked: str) -> float:
    """Share of the region in the asked colour: a basic term counts its whole family
    ("yellow" includes gold-shaded pixels), a fine name ("navy") only its own pixels."""
    asked = ALIASES.get(asked, asked)
    members = family_members(asked) if asked == family(asked) else (asked,)
    return sum(c.fraction for c in spread if c.name in members)


def _colour_confidence(colour: BasicColour, hedged: bool = False, unknown: bool = False) -> float:
    return calibration.colour_probability(colour.fraction, colour.runner_up, hedged, unknown)


def answer_color(q: ParsedQuestion, hier: Hierarchy, ev: ImageEvidence, match_fn: Resolver,
                 attend: AttentionFn) -> Answer:
    t = resolve(hier, ev, q.target, match_fn, attend)
    if q.target and t.known and t.presence < YES_AT:
        return _colour_of_main_object(q, hier, ev, t)
    colour, cmap = object_colour(ev, t.cam)
    if colour is None:
        text = chinese.table().say("colour_none") if _zh(q) else "I can't tell its colour."
        return _answer(q, text, 0.0, HeatMap(t.name, unit_range(t.cam), "cam"), t.evidence)
    subject = f"The {q.target}" if q.target else "It"
    if t.via and t.via != q.target:
        subject += f" (the {t.via} I see)"
    verb = "are" if q.target.endswith("s") and not q.target.endswith("ss") else "is"
    text = f"{subject} {verb} {colour.phrase}."
    unknown = bool(q.target) and not t.known
    # The fit part has no phrase unknown to the classifier: keep the earlier 0.6 discount there.
    conf = _colour_confidence(colour, unknown=unknown) * (0.6 if unknown else 1.0)
    if unknown:
        # No concept for it: the colour is measured where the phrase's attention points.
        text = f"{subject} looks {colour.phrase}, if I found the right part: I don't know " \
               f"'{q.target}' well."
    heat = HeatMap(colour.words, cmap, kind="relevance")
    maps = {**({} if not q.target or not t.known else name_maps(q.target, t.cam)),
            **colour_word_maps(colour, cmap)}
    if _zh(q):
        text, maps = _zh_colour_text(hier, q, t, colour, cmap, unknown)
    return _answer(q, text, conf, heat,
                   say_later("{colour} {p:.0f}% of the region's pixels; {target}",
                       colour=chinese.colour_term(colour.phrase), p=100 * colour.fraction,
                       target=t.evidence), maps)


def _zh_colour_text(hier: Hierarchy, q: ParsedQuestion, t: Target, colour: BasicColour,
                    cmap: np.ndarray, unknown: bool) -> tuple[str, dict[str, HeatMap]]:
    """answer_color's sentence and word maps in Chinese."""
    zh = chinese.table()
    noun = _zh_noun(hier, q)
    subject = noun or zh.say("it")
    if t.via and t.via != q.target:
        subject = zh.say("colour_via", target=subject, via=chinese.chinese_for(hier, t.via))
    said = zh.colour(colour.phrase)
    text = zh.say("colour_unknown", subject=subject, colour=said, target=noun) if unknown else \
        zh.say("colour_is", subject=subject, colour=said)
    maps = {**({} if not q.target or not t.known else _zh_maps(noun, t.cam)),
            **_zh_colour_maps(colour, cmap)}
    return text, maps


def _colour_of_main_object(q: ParsedQuestion, hier: Hierarchy, ev: ImageEvidence, t: Target) -> Answer:
    """Asked for the colour of something not seen: the main object's colour, hedged."""
    first = main_object(hier, ev)
    colour, cmap = object_colour(ev, first.cam)
    heat = HeatMap(first.name, unit_range(first.cam), "cam")
    zh = chinese.table()
    if colour is None:
        text = zh.say("colour_main_none", target=_zh_noun(hier, q)) if _zh(q) else \
            f"I don't see {article(q.target)} {q.target} clearly, nor its colour."
        return _answer(q, text, 0.0, heat, t.evidence)
    main = "the main object" if first.hedged else f"the main object ({article(first.name)} {first.name})"
    text = f"I don't see {article(q.target)} {q.target} clearly; {main} is {colour.phrase}."
    maps = {**name_maps(first.name, first.cam), **colour_word_maps(colour, cmap)}
    if _zh(q):
        name = chinese.node_name(hier, first.node)
        main = zh.say("main_object") if first.hedged else zh.say("main_object_named", name=name)
        text = zh.say("colour_main", target=_zh_noun(hier, q), main=main, colour=zh.colour(colour.phrase))
        maps = {**_zh_maps(name, first.cam), **_zh_colour_maps(colour, cmap)}
    # Right about the thing asked only if the main object is it: the fit measures how often.
    return _answer(q, text, _colour_confidence(colour, hedged=True), HeatMap(colour.words, cmap, "relevance"),
                   say_later("{colour} {p:.0f}% of the main object's pixels; {target}; main object {main}",
                       colour=chinese.colour_term(colour.phrase), p=100 * colour.fraction,
                       target=t.evidence, main=first.evidence), maps)


def answer_yesno(q: ParsedQuestion, hier: Hierarchy, ev: ImageEvidence, match_fn: Resolver,
                 attend: AttentionFn, joint_similarity: Callable[[str], float]) -> Answer:
    t = resolve(hier, ev, q.target, match_fn, attend)
    heat = HeatMap(t.name, unit_range(t.cam), "cam" if t.known else "attention")
    if q.colour:
        return _answer_colour_yesno(q, ev, t, heat, hier)
    sim = joint_similarity(q.target)
    if not t.known:
        # The classifier has no concept for it: only the joint space speaks, so stay unsure.
        p = float(np.clip((sim - 0.35) / 0.4, 0.0, 1.0))
        text = ("Possibly, but I'm not sure: " if p >= 0.5 else "I can't tell, probably not: ") + \
            f"the built-in model has no concept for '{q.target}'."
        if _zh(q):
            text = chinese.table().say("yes_unknown_maybe" if p >= 0.5 else "yes_unknown_no",
                                       target=_zh_noun(hier, q))
        return _answer(q, text, 0.5 + 0.1 * abs(p - 0.5) * 2,
                       heat if p >= 0.5 else not_located(t.name, ev), _similar(t, sim))
    noun = f"{article(q.target)} {q.target}"
    if t.via:
        # Only a related concept is there (asked for a cup, an espresso is seen): say so.
        text = (f"Probably: I see {article(t.via)} {t.via} {position_words(t.cam)}, "
                f"which fits '{q.target}'.")
        maps = name_maps(t.via, t.cam)
        if _zh(q):
            via = chinese.chinese_for(hier, t.via)
            text = chinese.table().say("yes_via", where=chinese.table().position(position_words(t.cam)),
                                       via=via, target=_zh_noun(hier, q))
            maps = _zh_maps(via, t.cam)
        return _answer(q, text, min(0.6, 0.5 + 0.5 * (t.presence - YES_AT)), heat,
                       _similar(t, sim), maps)
    glob, local = ev.presence(t.classes)
    first = main_object(hier, ev)
    p = calibration.presence(glob, local, float(ev.probs.max()), int(t.classes.size),
                             scene_known=not first.hedged and first.confidence >= 0.5,
                             concept_known=q.target not in POORLY_KNOWN)
    where = position_words(t.cam)
    if p >= SURE_YES:
        text, conf = f"Yes, there is {noun} {where}.", p
    elif p >= 0.5:
        text, conf = f"Probably: there seems to be {noun} {where}, but I'm not sure.", p
    elif p > 1 - SURE_NO:
        text, conf = (f"I can't tell, probably not: I don't see {noun} clearly, but the built-in "
                      f"model can miss one."), 1 - p
    else:
        text, conf = f"No, I don't see {noun}.", 1 - p
    maps = name_maps(q.target, t.cam) if p >= 0.5 else {}
    if _zh(q):
        text, maps = _zh_yesno_text(hier, q, p, where, t.cam)
    if p < 0.5:  # "No" or "I can't tell": the map would point at where it is not
        heat = not_located(t.name, ev)
    return _answer(q, text, conf, heat, say_later("{target}; P(present) {p:.0f}% calibrated; "
                                            "joint-space similarity {sim:.2f}",
                                            target=t.evidence, p=100 * p, sim=sim), maps)


def _similar(t: Target, sim: float) -> Phrase:
    return say_later("{target}; joint-space similarity {sim:.2f}", target=t.evidence, sim=sim)


def _zh_yesno_text(hier: Hierarchy, q: ParsedQuestion, p: float, where: str,
                   cam: np.ndarray) -> tuple[str, dict[str, HeatMap]]:
    """answer_yesno's sentence in Chinese: the same thresholds on P(present)."""
    zh = chinese.table()
    noun = _zh_noun(hier, q)
    place = zh.position(where)
    if p >= SURE_YES:
        text = zh.say("yes_sure", where=place, noun=noun)
    elif p >= 0.5:
        text = zh.say("yes_probably", where=place, noun=noun)
    elif p > 1 - SURE_NO:
        text = zh.say("yes_unsure", noun=noun)
    else:  # 有没有猫? -> 没有; 这是猫吗? -> 不是
        text = zh.say("no_have" if _asks_existence(q.text) else "no_is", noun=noun)
    return text, (_zh_maps(noun, cam) if p >= 0.5 else {})


# "Is there a dog?", "Are there any cups?", "Do you see a car?", "Any shoes?": questions of
# existence, answered 没有 ("there is none") in Chinese; "Is this a dog?" gets 不是.
_EXISTENCE_EN = re.compile(r"\b(?:is|are)\s+there\b|\b(?:do|can)\s+you\s+see\b|^\s*any\b|"
                           r"\b(?:is|are)\s+(?:any|some)\b", re.IGNORECASE)


def _asks_existence(question: str) -> bool:
    """Whether a yes/no question asks if something is there (有没有猫? / Is there a cat?)
    rather than what something is (这是猫吗? / Is this a cat?)."""
    return "有" in question or _EXISTENCE_EN.search(question) is not None


def _answer_colour_yesno(q: ParsedQuestion, ev: ImageEvidence, t: Target, heat: HeatMap,
                         hier: Hierarchy | None = None) -> Answer:
    weights = region_weights(ev, t.cam)
    spread = colour_spread(ev.pixels, weights, names=ev.pixel_colours)
    asked = ALIASES.get(q.colour, q.colour)
    share = _colour_share(spread, asked)
    top = basic_colour(spread)
    top_phrase = chinese.colour_term(top.phrase) if top else \
        Term("unknown", chinese.table().say("unknown_colour"))
    subject = f"the {q.target}" if q.target else "it"
    zh = chinese.table()
    noun = _zh_noun(hier, q) if _zh(q) and hier is not None else q.words
    if q.target and t.known and t.presence < YES_AT:
        text = zh.say("colour_yes_unseen", target=noun) if _zh(q) else \
            f"I can't tell: I don't see {article(q.target)} {q.target} clearly."
        return _answer(q, text, 0.5, not_located(t.name, ev), t.evidence)
    matches_top = top is not None and (asked == top.basic or asked == top.fine or
                                       (asked == "navy" and top.words == "dark blue"))
    if share >= 0.3 or matches_top:
        text = f"Yes, {subject} is {asked}."
        conf = min(0.95, 0.5 + share)
    else:
        text = f"No, {subject} looks {top_phrase.en}."
        conf = min(0.95, 0.5 + (top.fraction if top else 0) - share)
    if _zh(q):
        said_subject = noun or zh.say("it")
        text = zh.say("colour_yes", subject=said_subject, colour=zh.colour(asked)) \
            if share >= 0.3 or matches_top else \
            zh.say("colour_no", subject=said_subject,
                   colour=zh.colour(top.phrase) if top else zh.say("unknown_colour"))
    members = family_members(asked) if asked == family(asked) else (asked,)
    cmap = colour_map(ev, members if share > 0 or top is None else top.members, weights)
    conf *= 1.0 if not q.target or t.presence >= YES_AT else 0.5
    return _answer(q, text, conf, HeatMap(asked, cmap, "relevance"),
                   say_later("{asked} {share:.0f}% of the region, most is {top}; {target}",
                       asked=chinese.colour_term(asked), share=100 * share, top=top_phrase,
                       target=t.evidence),
                   {(zh.colour(asked) if _zh(q) else asked): HeatMap(asked, cmap, "relevance")})


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
    maps = name_maps(t.name, t.cam) if t.known else {}
    if _zh(q):
        text, maps = _zh_where_text(hier, q, t, where)
    return _answer(q, text, conf, heat, say_later("map peak {where}; {target}",
                                            where=chinese.position_term(where), target=t.evidence), maps)


def _zh_where_text(hier: Hierarchy, q: ParsedQuestion, t: Target,
                   where: str) -> tuple[str, dict[str, HeatMap]]:
    """answer_where's sentence in Chinese."""
    zh = chinese.table()
    place = zh.position(where)
    noun = _zh_noun(hier, q)
    name = noun or chinese.chinese_for(hier, t.name)
    subject = name
    if t.via and t.via != q.target:
        subject = zh.say("colour_via", target=subject, via=chinese.chinese_for(hier, t.via))
    if t.known and t.presence >= YES_AT:
        text = zh.say("where_is", subject=subject, where=place)
    elif t.known:
        text = zh.say("where_unclear", name=name, where=place)
    else:
        text = zh.say("where_unknown", target=noun, where=place)
    return text, (_zh_maps(name, t.cam) if t.known else {})


def answer_count(q: ParsedQuestion, hier: Hierarchy, ev: ImageEvidence, match_fn: Resolver,
                 attend: AttentionFn) -> Answer:
    t = resolve(hier, ev, q.target, match_fn, attend)
    heat = HeatMap(t.name, unit_range(t.cam), "cam" if t.known else "attention")
    noun = q.target or t.name
    zh = chinese.table()
    said = (_zh_noun(hier, q) or chinese.chinese_for(hier, t.name)) if _zh(q) else noun
    if t.known and t.presence < YES_AT:
        text = zh.say("count_none", noun=said) if _zh(q) else f"I don't see any {plural(noun)}."
        return _answer(q, text, 0.5 * (1 - t.presence), not_located(t.name, ev), t.evidence)
    found = separate_peaks(t.cam)
    n = max(1, len(found))
    why = say_later("{peaks}; {target}", peaks=peaks_phrase(len(found)), target=t.evidence)
    if _zh(q):
        return _zh_count(q, hier, t, heat, said, n, why)
    if not t.known:
        # Peaks of an attention map for a phrase the classifier has no concept of are no
        # count: a tray of 24 coins gave "about 2". Say so, with almost no confidence.
        text = (f"I can't count {plural(noun)} reliably: the built-in model has no concept for "
                f"'{noun}'; its map shows at least {n} {'area' if n == 1 else 'areas'}.")
        return _answer(q, text, 0.05, heat, why)
    hot = float((unit_range(t.cam) >= 0.5).mean())
    if n >= 2 and hot > CROWDED_MAP:
        # The concept's evidence spreads over much of the image: many small objects, or one
        # that fills the frame; the 14-cell map cannot tell them apart.
        text = (f"I can't count them well: {plural(noun)} seem to cover much of the image; "
                f"I see at least {n} {plural('group', n)} of them.")
        return _answer(q, text, 0.1 * t.presence, heat, _hot(why, hot), name_maps(noun, t.cam))
    text = f"I count about {n} {plural(noun, n)} (approximate)."
    conf = 0.5 * t.presence / (1 + 0.3 * (n - 1))
    return _answer(q, text, conf, heat, why, name_maps(noun, t.cam))


def _hot(why: Phrase, hot: float) -> Phrase:
    return say_later("{why}; {hot:.0f}% of the map is hot", why=why, hot=100 * hot)


def _zh_count(q: ParsedQuestion, hier: Hierarchy, t: Target, heat: HeatMap, said: str, n: int,
              why: Phrase) -> Answer:
    """answer_count in Chinese: the same peaks, crowding test and confidences."""
    zh = chinese.table()
    if not t.known:
        return _answer(q, zh.say("count_unknown", noun=said, n=n), 0.05, heat, why)
    hot = float((unit_range(t.cam) >= 0.5).mean())
    if n >= 2 and hot > CROWDED_MAP:
        return _answer(q, zh.say("count_crowded", noun=said, n=n), 0.1 * t.presence, heat,
                       _hot(why, hot), _zh_maps(said, t.cam))
    text = zh.say("count", n=n, measure=_zh_measure(hier, q.target or t.name), noun=said)
    return _answer(q, text, 0.5 * t.presence / (1 + 0.3 * (n - 1)), heat, why, _zh_maps(said, t.cam))


def answer_refusal(q: ParsedQuestion, heat: HeatMap, catalog: bool) -> Answer:
    text = CATALOG_TEXT if catalog else UNSUPPORTED_TEXT
    if _zh(q):
        text = chinese.table().say("catalog" if catalog else "unsupported")
    why = say_later("catalog question: needs a catalog") if catalog else \
        say_later("question kind not supported by the built-in model")
    return _answer(q, text, 0.0, heat, why)
