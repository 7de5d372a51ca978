"""What kind of question was asked, and about what: keyword rules, not exact phrasings.

Kinds: "what" (what is this / in the picture), "color" (what colour is X), "yesno" (is there
an X / is this an X / is the X red), "where", "count" (how many), "catalog" (price,
category, stock: answered by the catalog layer) and "unsupported" (everything else).
"""

from __future__ import annotations

import re

from vlm_desktop.core.engine.lite.chinese import is_chinese
from vlm_desktop.core.engine.lite.parsed import ParsedQuestion  # noqa: F401 - re-exported

KINDS = ("what", "color", "yesno", "where", "count", "catalog", "unsupported")

# Words the colour questions and attributes understand (British and American spellings
# are folded to "color" before matching).
COLOUR_TERMS = frozenset({
    "red", "orange", "yellow", "green", "blue", "purple", "violet", "pink", "brown", "black",
    "white", "grey", "gray", "beige", "gold", "golden", "navy", "teal", "silver", "cyan",
    "magenta", "turquoise", "maroon", "tan", "cream",
})

_CATALOG = re.compile(
    r"\b(price[sd]?|pricing|cost(s|ing)?|how much|cheap(er|est)?|expensive|discount\w*|sale|"
    r"category|categories|in stock|stock|out of stock|available|availability|buy|purchase|"
    r"order|sell|sold|shipping|deliver\w*|brand|sku|size[sd]?|in (an?other|other) colou?rs?|"
    r"come in|do you (have|carry|sell)|similar (items|products)|recommend\w*)\b")
_UNSUPPORTED_START = re.compile(r"^(why|when|who|whom|whose|should|would|will|shall|how(?! many))\b")
_COUNT = re.compile(r"\b(how many|count|number of)\b")
_WHERE = re.compile(r"\b(where|which (side|part|corner)|location of|position of|located)\b")
_COLOR = re.compile(r"\b(what|which)\s+(\w+\s+)?colou?rs?\b|\bcolou?rs?\s+(is|are|of)\b|"
                    r"\bcolou?r\b.*\?$")
_YESNO_START = re.compile(
    r"^(is|are|was|were|does|do|did|can|could|has|have|may|might)\b")
_DEICTIC = r"(this|that|it|these|those|here|there|shown|pictured|visible|depicted)"
_SCENE = r"(the |this |that )?(picture|image|photo|photograph|pic|scene|frame|shot|snapshot)"
_OBJECT_WORDS = (r"(main |central )?(object|subject|thing|item|animal|creature|product|"
                 r"vehicle|food|plant|one)s?")
_WHAT = re.compile(
    rf"^(what|which)\s+(is|are|s)\s+{_DEICTIC}\b|"
    rf"^(what|which)\s+(is|are|s)\s+(in|on)\s+{_SCENE}|"
    rf"^what\s+((do|can|did)\s+)?(you|we|i)\s+(can\s+)?(see|look at|looking at)|"
    rf"^what\s+(this|that|it|these|those)\s+(is|are|shows?)\b|"
    rf"^what\s+am\s+i\s+(looking at|seeing)|"
    rf"^what\s+(does|do)\s+{_SCENE}\s+(show|contain|depict)|"
    rf"^(what|which)\s+(is|are|s)\s+the\s+{_OBJECT_WORDS}\b|"
    rf"^(what|which)\s+{_OBJECT_WORDS}\s+(is|are)\s+{_DEICTIC}|"
    rf"^what\s+(kind|type|sort|breed|species|make|model)\s+of\b|"
    rf"^(describe|caption|identify|name|tell me what|tell me about)\b|"
    rf"^(what|which)\s+(is|are|s)\s+(shown|pictured|depicted|visible)|"
    rf"^what\s+(is|s)\s+going on")

_STRIP_LEAD = re.compile(
    r"^(please\s+)?((can|could|would|will)\s+you\s+(please\s+)?(tell me|say)\s+|tell me\s+)|"
    r"^please\s+|^(can|could|would|will)\s+you\s+(please\s+)?(?=describe|identify|name\b)")
_FILLER = re.compile(
    r"\b(in|on|within|inside)\s+" + _SCENE + r"\b|\b(can|do|could|did)\s+you\s+(see|spot|find)\b|"
    r"\bare there\b|\bis there\b|\bthere\b|\bvisible\b|\bshown\b|\bpictured\b|\bhere\b|\bplease\b|"
    r"\bat all\b|\bexactly\b")
_ARTICLES = re.compile(r"^((a|an|the|any|some|one|this|that|these|those|my|your|its)\s+)+")
_IRREGULAR = {"people": "person", "men": "man", "women": "woman", "children": "child",
              "mice": "mouse", "geese": "goose", "teeth": "tooth", "feet": "foot",
              "oxen": "ox", "sheep": "sheep", "fish": "fish", "knives": "knife",
              "wolves": "wolf", "leaves": "leaf", "loaves": "loaf", "shelves": "shelf"}
_NOT_PLURAL = ("ss", "us", "is", "ous", "ics")


def normalise(question: str) -> str:
    """Lower case, folded spellings and contractions, single spaces, '?' kept at the end."""
    q = question.strip().lower()
    q = q.replace("\u2019", "'")
    q = re.sub(r"\bcolour", "color", q)
    q = re.sub(r"\bgrey\b", "gray", q)
    q = re.sub(r"\bwhat's\b", "what is", q)
    q = re.sub(r"\bwhere's\b", "where is", q)
    q = re.sub(r"\bwho's\b", "who is", q)
    q = re.sub(r"\bthat's\b", "that is", q)
    q = re.sub(r"\bit's\b", "it is", q)
    q = re.sub(r"\bthere's\b", "there is", q)
    q = re.sub(r"\bhow's\b", "how is", q)
    q = re.sub(r"[^\w\s'?-]", " ", q)
    q = re.sub(r"\s+", " ", q).strip()
    ended = q.endswith("?")
    q = q.rstrip("? ").strip()
    return q + ("?" if ended else "")


def singular(word: str) -> str:
    """A plural noun's singular by everyday rules (good enough for matching concepts)."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) <= 3 or word.endswith(_NOT_PLURAL):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses", "zes", "oes", "uses")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def clean_target(phrase: str) -> str:
    """The noun phrase a question is about, without fillers and articles, last word singular."""
    p = _FILLER.sub(" ", phrase)
    p = re.sub(r"[?]", " ", p)
    p = re.sub(r"\s+", " ", p).strip()
    p = _ARTICLES.sub("", p).strip()
    p = re.sub(r"\b(is|are|in|on|of|at|to|located|there|it|them|they)$", "", p).strip()
    p = _ARTICLES.sub("", p).strip()
    if p in {"it", "this", "that", "they", "these", "those", "them", "the object", "object",
             "thing", "the thing", "one", "shape", "the shape", "picture", "image", "photo",
             "main object", "subject", "item", "here"}:
        return ""
    words = p.split()
    if not words:
        return ""
    words[-1] = singular(words[-1])
    return " ".join(words)


def _split_colour(target: str) -> tuple[str, str]:
    """("red car") -> ("car", "red"); the colour word anywhere in the phrase."""
    words = target.split()
    colours = [w for w in words if w in COLOUR_TERMS]
    if not colours:
        return target, ""
    rest = " ".join(w for w in words if w not in COLOUR_TERMS)
    return clean_target(rest), colours[0]


def _after(pattern: str, q: str) -> str:
    m = re.search(pattern, q)
    return q[m.end():] if m else ""


def _colour_target(q: str) -> str:
    for pattern in (r"\bcolors?\s+(is|are|of)\s+", r"\bcolors?\s+(does|do)\s+",
                    r"\bcolors?\s+"):
        rest = _after(pattern, q)
        if rest:
            rest = re.sub(r"\b(have|has|appear|look|seem)\b", " ", rest)
            return clean_target(rest)
    return ""


def _yesno_target(q: str) -> str:
    q = re.sub(r"^(is|are|was|were)\s+(there|this|that|it|these|those)\s+", "", q)
    q = re.sub(r"^(do|does|did|can|could)\s+(you|we|i)\s+(see|spot|find|notice)\s+", "", q)
    q = re.sub(r"^(does|do|did)\s+(it|this|that|" + _SCENE + r")\s+(show|contain|have|include|"
               r"depict|feature)\s+", "", q)
    q = re.sub(r"^(has|have)\s+(it|this|that|" + _SCENE + r")\s+(got\s+)?", "", q)
    q = re.sub(r"^(is|are|was|were|does|do|did|can|could|has|have|may|might)\s+", "", q)
    q = re.sub(r"\b(in|on)\s+(it|this|that)$", "", q.rstrip("?").strip())
    return clean_target(q)


def parse_question(question: str) -> ParsedQuestion:
    """Recognise the kind of `question` and the phrase it is about (English or Chinese)."""
    if is_chinese(question):
        from vlm_desktop.core.engine.lite.questions_zh import parse_chinese

        return parse_chinese(question)
    raw = question
    q = normalise(question)
    q = _STRIP_LEAD.sub("", q).strip()
    bare = q.rstrip("?").strip()
    if not bare:
        return ParsedQuestion(raw, "unsupported")
    if _CATALOG.search(bare):
        return ParsedQuestion(raw, "catalog")
    if _UNSUPPORTED_START.match(bare):
        return ParsedQuestion(raw, "unsupported")
    if _COUNT.search(bare):
        rest = _after(r"\b(how many|count( the)?|number of)\s+", bare)
        rest = re.sub(r"\b(are|is|can|do|does|could)\b.*$", "", rest)
        target, _ = _split_colour(clean_target(rest))
        return ParsedQuestion(raw, "count", target)
    if _WHERE.search(bare):
        rest = _after(r"\b(where|location of|position of)\s+(is|are|was|were|do|does)?\s*", bare)
        if not rest:
            rest = re.sub(r"^.*?\b(is|are)\s+", "", bare)
        rest = re.sub(r"\b(located|situated|placed|on|in)$", "", rest.strip()).strip()
        return ParsedQuestion(raw, "where", clean_target(rest))
    if _COLOR.search(q):
        return ParsedQuestion(raw, "color", _colour_target(bare))
    if _WHAT.search(bare):
        target = ""
        kind_of = re.search(r"\bwhat\s+(kind|type|sort|breed|species|make|model)\s+of\s+(.+)", bare)
        if kind_of:
            rest = re.sub(r"\b(is|are)\s+(this|that|it|these|those|here|shown)$", "",
                          kind_of.group(2))
            target = clean_target(rest)
        return ParsedQuestion(raw, "what", target)
    if _YESNO_START.match(bare):
        target, colour = _split_colour(_yesno_target(bare))
        if not target and not colour:
            return ParsedQuestion(raw, "unsupported")
        return ParsedQuestion(raw, "yesno", target, colour)
    return ParsedQuestion(raw, "unsupported")
