"""Questions typed in Chinese, parsed into the same `ParsedQuestion` kinds as English ones.

Forms understood (keyword rules, as for English): 这是什么? 图里有什么? 这是什么动物? (what);
猫是什么颜色? 什么颜色? (color); 有没有猫? 有猫吗? 这是猫吗? 是不是猫? 车是红色的吗? (yesno);
有几只猫? 有多少个苹果? 猫有几只? (count); 猫在哪里? 猫在哪儿? 哪里有猫? (where).
The thing asked about is looked up in the Chinese name table (names and synonyms) and
given to the answerer as its English concept name, so both languages share one code path.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

from vlm_desktop.core.engine.lite.chinese import LANGUAGE, table
from vlm_desktop.core.engine.lite.concepts import Concepts
from vlm_desktop.core.engine.lite.parsed import ParsedQuestion

_MEASURE = "个只条辆头匹本把张台位件块朵棵根支双瓶杯碗盘艘架样种"
_SCENE = (r"(这张|那张|这幅|这个)?(图片|图像|照片|相片|画面|图|画|镜头)(里面|里|中|上|内)?|"
          r"(里面|这里|那里|这儿|那儿|上面)")
_DEICTIC = rf"^(这里|那里|这|那|它)(一)?[{_MEASURE}]?|^一[{_MEASURE}]"
_CATALOG = re.compile(
    r"多少钱|价格|价钱|售价|便宜|贵不贵|多贵|打折|折扣|优惠|库存|有货|缺货|购买|怎么买|哪里买|"
    r"在哪买|哪儿买|品牌|牌子|尺码|尺寸|发货|快递|包邮|推荐|同款|类似的|别的颜色|其他颜色|卖")
_UNSUPPORTED = re.compile(r"^(为什么|为啥|什么时候|何时|谁|怎么|怎样|如何|应该|会不会|能不能帮)|"
                          r"为什么|是谁|谁的")
_COUNT = re.compile(rf"(几|多少)[{_MEASURE}]?|数一数|数数|数一下")
_WHERE = re.compile(r"在[^在]{0,6}?(哪里|哪儿|哪|什么位置|什么地方|哪个位置|哪边|哪个角)|"
                    r"位置在哪|的位置是|哪里有|哪儿有|哪边有")
_COLOUR = re.compile(r"(什么|啥|哪种|哪个|哪一种)颜色|颜色是什么|什么色|颜色是|的颜色|颜色")
_WHAT_VERBS = re.compile(r"描述|说说|说一说|介绍|讲讲|看到了?什么|看见了?什么|看到的是什么|"
                         r"识别|认一认|是啥|是什么东西|有什么|有啥")
_KIND_OF = re.compile(rf"^是?(什么|啥|哪种|哪一种|哪个|什么样的?|什么品种的?|什么种类的?|"
                      rf"什么类型的?|哪个品种的?)(的)?[{_MEASURE}]?(.*)$")
_YESNO = re.compile(r"吗$|有没有|是不是|是否|看没看到|有木有")
_EMPTY = {"", "它", "这", "那", "东西", "物体", "主体", "物品", "主要物体", "图", "图片", "照片",
          "画面", "玩意儿", "东东", "这个东西", "什么", "啥"}
_PARTICLES = re.compile(r"(呢|呀|啊|吧|哈|嘛|哦)+$")


def normalise_zh(question: str) -> str:
    """No spaces or punctuation, no trailing particles (呢, 呀); 吗 is kept (it marks yes/no)."""
    q = re.sub(r"[\s\u3000]+", "", question)
    q = re.sub(r"[?？!！。.,，、;；:：\"'“”‘’《》()（）]", "", q)
    return _PARTICLES.sub("", q)


def _strip_fillers(phrase: str) -> str:
    """The bare noun phrase: no scene words (图里), demonstratives (这只), 的 or 吗 at the end.
    A phrase that is a concept's name is left whole (画笔 keeps its 画, 杯子 its 杯)."""
    p = phrase
    for pattern in (_SCENE, r"^(你|我)?(能|可以)?(看到|看见|看得到|看得见|找到|发现)(了)?",
                    r"(了|的|吗|呢)+$", _DEICTIC, _DEICTIC, r"(了|的|吗)+$"):
        if concept_for(p):
            break
        p = re.sub(pattern, "", p)
    return p


def _split_colour(phrase: str) -> tuple[str, str]:
    """("红色的车") -> ("车", "red"): a colour word said as a colour (红色, 红的, 深蓝色)
    anywhere in the phrase; names that start with one (红酒, 金鱼, 黑猩猩) stay whole."""
    if concept_for(phrase):
        return phrase, ""
    words = table().colour_words
    for word in sorted(words, key=len, reverse=True):
        m = re.search(rf"(深|浅|暗|亮)?{re.escape(word)}(色)?(的)?", phrase)
        if m and (m.group(2) or m.group(3) or m.group(0) == phrase):
            rest = (phrase[:m.start()] + phrase[m.end():]).strip()
            return rest, words[word]
    return phrase, ""


@lru_cache(maxsize=1)
def _english_names() -> tuple[dict[str, str], dict[str, int]]:
    """WordNet id -> English concept name, and how many classes lie under each id."""
    concepts = Concepts.load()
    under: Counter[str] = Counter()
    names: dict[str, str] = {}
    for i, wnid in enumerate(concepts.wnids):
        names[wnid] = concepts.names[i]
        for w in (wnid, *concepts.hypernyms(i)):
            under[w] += 1
            names.setdefault(w, concepts.node_name(w))
    return names, dict(under)


def concept_for(term: str) -> str:
    """The English concept name a Chinese term stands for: a synonym's own concept, else the
    broadest concept of that name (牛 is cattle, not the class ox); "" when none."""
    t = table()
    wnids = t.wnids_for(term)
    if not wnids:
        return ""
    names, under = _english_names()
    concepts = Concepts.load()
    # Broadest first; of equally broad ones (apple, eating apple) the ancestor.
    chosen = t.synonyms.get(term) or max(
        wnids, key=lambda w: (under.get(w, 0), -concepts.node_depth(w) if w in names else 0))
    return names.get(chosen, "").lower()


def resolve_target(phrase: str) -> tuple[str, str]:
    """(English concept name, the Chinese words for it) of a noun phrase: the whole phrase
    when it is a known name, else its longest known part (小黑猫 -> 猫); an unknown phrase
    stays as typed (the answerer then says it has no concept for it)."""
    if phrase in _EMPTY:
        return "", ""
    english = concept_for(phrase)
    if english:
        return english, phrase
    best = ""
    for term in table().terms():
        if len(term) > len(best) and term in phrase:
            best = term
    if best:
        return concept_for(best), best
    return phrase, phrase


def _question(raw: str, kind: str, phrase: str = "", keep_colour: bool = False) -> ParsedQuestion:
    rest, colour = _split_colour(_strip_fillers(phrase))
    rest = _strip_fillers(rest)
    target, words = resolve_target(rest)
    if kind == "yesno" and not target and not colour:
        return ParsedQuestion(raw, "unsupported", language=LANGUAGE)
    return ParsedQuestion(raw, kind, target, colour if keep_colour else "", LANGUAGE, words)


def _count(raw: str, q: str) -> ParsedQuestion:
    m = _COUNT.search(q)
    assert m is not None
    after = q[m.end():]
    before = re.sub(r"(一共|总共|共)?有?$", "", q[:m.start()])
    return _question(raw, "count", after if _strip_fillers(after) else before)


def _where(raw: str, q: str) -> ParsedQuestion:
    m = _WHERE.search(q)
    assert m is not None
    after = q[m.end():] if m.group(0).endswith("有") else ""
    return _question(raw, "where", after or q[:m.start()])


def _colour(raw: str, q: str) -> ParsedQuestion:
    m = _COLOUR.search(q)
    assert m is not None
    before = re.sub(r"(是|的|为|呈)+$", "", q[:m.start()])
    return _question(raw, "color", before or q[m.end():])


def _what(raw: str, q: str) -> ParsedQuestion | None:
    bare = _strip_fillers(re.sub(r"^(请|请你|你)?(告诉我|说一下|说说|看看)?", "", q))
    bare = _unless_known(_SCENE, bare)
    if re.fullmatch(r"(是|有)?(什么|啥)(东西)?", bare) or bare in ("是啥", "有啥"):
        return ParsedQuestion(raw, "what", language=LANGUAGE)
    m = _KIND_OF.match(bare)
    if m:
        return _question(raw, "what", m.group(3))
    if _WHAT_VERBS.search(q):
        return ParsedQuestion(raw, "what", language=LANGUAGE)
    return None


def _unless_known(pattern: str, phrase: str) -> str:
    return phrase if concept_for(phrase) else re.sub(pattern, "", phrase)


def _yesno(raw: str, q: str) -> ParsedQuestion:
    p = re.sub(r"吗$", "", q)
    p = re.sub(r"有没有|有木有|是不是|是否|看没看到", "", p)
    for pattern in (_SCENE, r"^(你|我)?(能|可以)?(看到|看见|看得到|看得见|找到|发现)(了)?",
                    r"^(这|那|它)?(一)?[" + _MEASURE + r"]?(是|有|就是)", r"^(是|有)", r"(是|有)$"):
        p = _unless_known(pattern, p)
    # "车是红色的吗": the colour is asked about the thing before 是.
    m = re.fullmatch(r"(.+?)(是|为)(.+)", p)
    if m and _split_colour(m.group(3))[1] and not _split_colour(m.group(3))[0]:
        p = m.group(1) + m.group(3)
    return _question(raw, "yesno", p, keep_colour=True)


def parse_chinese(question: str) -> ParsedQuestion:
    """Recognise the kind of a Chinese question and the concept it is about."""
    raw = question
    q = normalise_zh(question)
    if not q:
        return ParsedQuestion(raw, "unsupported", language=LANGUAGE)
    if _CATALOG.search(q):
        return ParsedQuestion(raw, "catalog", language=LANGUAGE)
    if _UNSUPPORTED.search(q):
        return ParsedQuestion(raw, "unsupported", language=LANGUAGE)
    if _COUNT.search(q):
        return _count(raw, q)
    if _WHERE.search(q):
        return _where(raw, q)
    if _COLOUR.search(q) and not re.search(r"(是|有)(.+)色的?吗$", q):
        return _colour(raw, q)
    what = _what(raw, q) if not _YESNO.search(q) else None
    if what is not None:
        return what
    if _YESNO.search(q):
        return _yesno(raw, q)
    return ParsedQuestion(raw, "unsupported", language=LANGUAGE)
