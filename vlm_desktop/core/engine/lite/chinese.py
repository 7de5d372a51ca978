"""Simplified Chinese for the built-in model: concept names, colour words and the fixed
phrases of captions and answers, from the derived resource `concepts/zh_CN.json`.

Only the wording changes in Chinese: the captioner and answerer take the same decisions
(which node, which colour, how sure) and ask this module how to say them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from typing import Iterable, Mapping, Sequence

from vlm_desktop.core.engine.types import HeatMap, WordSpan
from vlm_desktop.core.messages import Term

LANGUAGE = "zh_CN"
ENGLISH = "en"
RESOURCE_DIR = "concepts"
RESOURCE_FILE = "zh_CN.json"
DEFAULT_MEASURE = "个"
_CJK = re.compile(r"[\u3400-\u9fff]")

# Every phrase the code says; the checker fails when the resource lacks one.
PHRASE_KEYS = (
    "caption", "caption_maybe", "caption_and", "what_named", "what_unclear", "colour_is",
    "colour_via", "colour_unknown", "colour_none", "colour_main_none", "colour_main",
    "main_object", "main_object_named", "it", "yes_unknown_maybe", "yes_unknown_no", "yes_via",
    "yes_sure", "yes_probably", "yes_unsure", "no_have", "no_is", "colour_yes_unseen",
    "colour_yes", "colour_no", "unknown_colour", "where_is", "where_unclear", "where_unknown",
    "count_none", "count_unknown", "count_crowded", "count", "unsupported", "catalog",
)
POSITION_KEYS = ("centre", "left", "right", "top", "bottom", "top left", "top right",
                 "bottom left", "bottom right")
# The colour words answers say: colors.COLOUR_WORDS and the words of colors.SAID_AS.
SAID_COLOURS = ("dark blue", "blue-green", "light blue", "light brown")


def is_chinese(text: str) -> bool:
    """True when `text` holds any CJK ideograph (a question typed in Chinese)."""
    return bool(_CJK.search(text))


@dataclass
class ChineseTable:
    """The zh_CN resource: names by WordNet id, question synonyms, colours and phrases."""

    names: dict[str, str]
    synonyms: dict[str, str]
    colours: dict[str, str]
    colour_words: dict[str, str]
    phrases: dict[str, str]
    positions: dict[str, str]
    measures: dict[str, str]
    _lexicon: dict[str, list[str]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Mapping) -> ChineseTable:
        table = cls(dict(data["names"]), dict(data.get("synonyms", {})),
                    dict(data["colours"]), dict(data["colour_words"]), dict(data["phrases"]),
                    dict(data["positions"]), dict(data.get("measures", {})))
        for wnid, name in table.names.items():
            table._lexicon.setdefault(name, []).append(wnid)
        for term, wnid in table.synonyms.items():
            table._lexicon.setdefault(term, []).insert(0, wnid)  # a synonym says what it means
        return table

    def say(self, key: str, **values: object) -> str:
        """The phrase `key` with its {fields} filled in."""
        return self.phrases[key].format(**values)

    def name_of(self, wnid: str, fallback: str) -> str:
        return self.names.get(wnid, fallback)

    def wnids_for(self, term: str) -> list[str]:
        """WordNet ids a Chinese term names (its concept names and synonyms)."""
        return list(self._lexicon.get(term, ()))

    def terms(self) -> Iterable[str]:
        return self._lexicon.keys()

    def colour(self, english: str) -> str:
        """A colour word or phrase ("dark blue", "yellow (gold)") in Chinese."""
        m = re.fullmatch(r"(.+?) \((.+)\)", english)
        if m:
            return f"{self.colour(m.group(1))}（{self.colour(m.group(2))}）"
        return self.colours.get(english, english)

    def position(self, english: str) -> str:
        """'in the top left' -> 画面左上方 (the English phrase's last words are the key)."""
        key = re.sub(r"^(in|on|at) the ", "", english)
        return self.positions.get(key, key)


@lru_cache(maxsize=1)
def table() -> ChineseTable:
    """The built-in Chinese table (parsed once per process)."""
    resource = files("vlm_desktop.resources") / RESOURCE_DIR / RESOURCE_FILE
    return ChineseTable.from_dict(json.loads(resource.read_text(encoding="utf-8")))


def node_name(hier: object, n: int) -> str:
    """The Chinese name of hierarchy node n (the English one where none is written)."""
    return table().name_of(hier.node_wnids[n], hier.name(n))  # type: ignore[attr-defined]


def measure(hier: object, n: int) -> str:
    """The measure word for node n ("只" for animals, "辆" for cars), from its nearest
    ancestor that has one; "个" otherwise."""
    t = table()
    for m in (n, *hier.ancestors(n)):  # type: ignore[attr-defined]
        found = t.measures.get(hier.node_wnids[m])  # type: ignore[attr-defined]
        if found:
            return found
    return DEFAULT_MEASURE


def nodes_for(hier: object, term: str) -> list[int]:
    """Hierarchy nodes a Chinese term names, broadest first (有没有牛? means cattle, not ox)."""
    index = hier.wnid_index  # type: ignore[attr-defined]
    nodes = [index[w] for w in table().wnids_for(term) if w in index]
    if table().synonyms.get(term) in index:
        return list(dict.fromkeys(nodes))
    return sorted(dict.fromkeys(nodes),
                  key=lambda n: -int(hier.membership[n].sum()))  # type: ignore[attr-defined]


def english_phrase(hier: object, term: str) -> str:
    """The English concept name a Chinese term stands for ("" when none)."""
    nodes = nodes_for(hier, term)
    return hier.node_names[nodes[0]].lower() if nodes else ""  # type: ignore[attr-defined]


def chinese_for(hier: object, phrase: str) -> str:
    """The Chinese name of an English phrase a question named ("cat" -> 猫); the phrase
    itself when no concept has it as a name."""
    if is_chinese(phrase):
        return phrase
    nodes = hier.exact_nodes(phrase)  # type: ignore[attr-defined]
    return node_name(hier, nodes[0]) if nodes else phrase


def term(hier: object, n: int, english: str | None = None) -> Term:
    """Node n's name as a Term: `english` (default its concept name) and its Chinese name."""
    said = hier.node_names[n] if english is None else english  # type: ignore[attr-defined]
    return Term(said, node_name(hier, n))


def phrase_term(hier: object, phrase: str) -> Term:
    """A phrase a question named ("cup") as a Term: itself, and its Chinese name if known."""
    return Term(phrase, chinese_for(hier, phrase))


def colour_term(english: str) -> Term:
    """A colour phrase ("dark blue", "yellow (gold)") as a Term."""
    return Term(english, table().colour(english))


def position_term(english: str) -> Term:
    """A position phrase ("in the top left") as a Term."""
    return Term(english, table().position(english))


def word_spans(text: str, maps: Mapping[str, HeatMap]) -> tuple[WordSpan, ...]:
    """Spans of a Chinese text: each heat map's name where it occurs (longest first, no
    overlaps), so the window can colour 虎斑猫 and 灰色 in 一只灰色的虎斑猫."""
    taken = [False] * len(text)
    spans: list[WordSpan] = []
    for key in sorted(maps, key=len, reverse=True):
        if not key:
            continue
        start = text.find(key)
        while start >= 0:
            end = start + len(key)
            if not any(taken[start:end]):
                spans.append(WordSpan(start, end, text[start:end], maps[key]))
                taken[start:end] = [True] * len(key)
            start = text.find(key, end)
    return tuple(sorted(spans, key=lambda s: s.start))


def coverage_problems(hier: object, colour_words: Sequence[str]) -> list[str]:
    """What the zh_CN resource lacks: one line per concept the model can say without a
    Chinese name, colour word or phrase without a translation, synonym to no concept."""
    t = table()
    problems = []
    for n in range(len(hier.node_names)):  # type: ignore[attr-defined]
        if not hier.sayable(n):  # type: ignore[attr-defined]
            continue
        wnid = hier.node_wnids[n]  # type: ignore[attr-defined]
        zh = t.names.get(wnid, "")
        if not is_chinese(zh):
            problems.append(f"concept {wnid} ({hier.node_names[n]}): no Chinese name")  # type: ignore[attr-defined]
    for word in (*colour_words, *SAID_COLOURS):
        if not is_chinese(t.colours.get(word, "")):
            problems.append(f"colour {word!r}: no Chinese word")
    for key in PHRASE_KEYS:
        if not is_chinese(t.phrases.get(key, "")):
            problems.append(f"phrase {key!r}: missing")
    for key in POSITION_KEYS:
        if not is_chinese(t.positions.get(key, "")):
            problems.append(f"position {key!r}: missing")
    for term, wnid in t.synonyms.items():
        if wnid not in hier.wnid_index:  # type: ignore[attr-defined]
            problems.append(f"synonym {term!r}: unknown concept {wnid}")
    for term, colour in t.colour_words.items():
        if colour not in colour_words:
            problems.append(f"colour word {term!r}: unknown colour {colour!r}")
    return problems
