"""Write and check resources/concepts/zh_CN.json, the built-in model's Simplified Chinese.

The concept names were written by hand in this project (everyday names a shopper in China
would use: "tabby cat" 虎斑猫, "espresso" 意式浓缩咖啡); the colour words, question
synonyms, measure words and the fixed phrases of captions and answers are the tables below.

  python tools/zh_concepts.py                 check: every concept the model can say in a
                                              caption or answer has a Chinese name (exit 1 if not)
  python tools/zh_concepts.py --list          the concepts to name, one "index<TAB>wnid<TAB>name"
  python tools/zh_concepts.py --write [--names PAIRS]
                                              rewrite the JSON from the tables below, keeping its
                                              names, adding those in PAIRS ("english=中文" separated
                                              by "|" or new lines, in --list order)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vlm_desktop.core.engine.lite import chinese  # noqa: E402
from vlm_desktop.core.engine.lite.colors import COLOUR_WORDS  # noqa: E402
from vlm_desktop.core.engine.lite.concepts import Concepts  # noqa: E402
from vlm_desktop.core.engine.lite.hierarchy import Hierarchy  # noqa: E402

OUT = ROOT / "resources" / "concepts" / "zh_CN.json"

# What a question may call a concept besides its name, keyed by the concept's English name.
SYNONYMS = {
    "car": ["车", "小汽车", "轿车", "汽车"], "dog": ["狗狗", "小狗", "犬"],
    "cat": ["猫咪", "小猫", "猫"], "bird": ["小鸟", "鸟儿"], "fish": ["鱼儿"],
    "person": ["人", "人物", "男人", "女人", "小孩", "孩子"], "flower": ["花朵", "鲜花"],
    "cup": ["杯", "水杯", "咖啡杯"], "computer": ["计算机"], "cellular telephone": ["电话机"],
    "motorcycle": ["摩托", "机车"], "bicycle": ["单车", "脚踏车"], "airplane": ["飞机"],
    "boat": ["小船", "船只"], "horse": ["马儿", "骏马"], "rocket": ["火箭"],
    "coffee": ["咖啡"], "espresso": ["浓缩咖啡", "意式咖啡"], "vehicle": ["车辆"],
    "animal": ["动物"], "food": ["吃的", "食物"], "fruit": ["水果"], "camera": ["照相机", "相机"],
    "tripod": ["三脚架"], "space shuttle": ["航天飞机"], "truck": ["货车"],
    "bus": ["大巴", "巴士", "公交车"], "bear": ["熊"], "monkey": ["猴"], "rabbit": ["兔"],
    "shoe": ["鞋"], "hat": ["帽"], "bag": ["包包", "袋子"], "clock": ["钟"], "ball": ["球类"],
    "tabby cat": ["狸花猫"], "pig": ["猪"], "sheep": ["羊"], "cattle": ["牛", "奶牛"],
}
# Measure words by English concept name; a node takes its nearest ancestor's (else 个).
MEASURES = {
    "animal": "只", "fish": "条", "snake": "条", "horse": "匹", "cattle": "头",
    "elephant": "头", "car": "辆", "bicycle": "辆", "motorcycle": "辆", "truck": "辆",
    "bus": "辆", "wheeled vehicle": "辆", "boat": "艘", "ship": "艘", "aircraft": "架",
    "person": "位", "flower": "朵", "book jacket": "本", "comic book": "本", "shoe": "只",
    "dish": "份", "beverage": "杯", "tree": "棵",
}
COLOURS = {
    "red": "红色", "orange": "橙色", "yellow": "黄色", "green": "绿色", "blue": "蓝色",
    "purple": "紫色", "pink": "粉色", "brown": "棕色", "black": "黑色", "white": "白色",
    "grey": "灰色", "beige": "米色", "gold": "金色", "olive": "橄榄色", "teal": "青色",
    "turquoise": "绿松石色", "navy": "藏青色", "dark blue": "深蓝色", "blue-green": "蓝绿色",
    "light blue": "浅蓝色", "light brown": "浅棕色",
}
# Colour words a question may use, longest first when matched; values are COLOUR_WORDS.
COLOUR_QUESTION_WORDS = {
    "红": "red", "橙": "orange", "橘": "orange", "黄": "yellow", "绿": "green", "蓝": "blue",
    "紫": "purple", "粉": "pink", "粉红": "pink", "棕": "brown", "褐": "brown", "咖啡色": "brown",
    "黑": "black", "白": "white", "灰": "grey", "银": "grey", "米": "beige", "米黄": "beige",
    "金": "gold", "橄榄": "olive", "青": "teal", "蓝绿": "teal", "绿松石": "turquoise",
    "藏青": "navy", "海军蓝": "navy", "深蓝": "navy",
}
PHRASES = {
    "caption": "一{measure}{phrase}",
    "caption_maybe": "可能是一{measure}{phrase}",
    "caption_and": "{first}，还有{maybe}一{measure}{name}",
    "what_named": "看起来是{name}。",
    "what_unclear": "我看不清{target}；最多像是{name}。",
    "colour_is": "{subject}是{colour}的。",
    "colour_via": "{target}（我看到的{via}）",
    "colour_unknown": "{subject}看起来是{colour}，如果我找对了位置的话：我不太认识“{target}”。",
    "colour_none": "我看不出它的颜色。",
    "colour_main_none": "我看不清{target}，也看不出它的颜色。",
    "colour_main": "我看不清{target}；{main}是{colour}。",
    "main_object": "主要物体",
    "main_object_named": "主要物体（{name}）",
    "it": "它",
    "yes_unknown_maybe": "可能有，但我不确定：内置模型没有“{target}”这个概念。",
    "yes_unknown_no": "看不出来，可能没有：内置模型没有“{target}”这个概念。",
    "yes_via": "可能有：我在{where}看到了{via}，和“{target}”相符。",
    "yes_sure": "是的，{where}有{noun}。",
    "yes_probably": "可能有：{where}似乎有{noun}，但我不确定。",
    "yes_unsure": "看不出来，可能没有：我看不清{noun}，但内置模型可能会漏看。",
    "no_have": "没有，我没有看到{noun}。",
    "no_is": "不是，我没有看到{noun}。",
    "colour_yes_unseen": "看不出来：我看不清{target}。",
    "colour_yes": "是的，{subject}是{colour}的。",
    "colour_no": "不是，{subject}看起来是{colour}。",
    "unknown_colour": "未知颜色",
    "where_is": "{subject}在{where}。",
    "where_unclear": "我看不清{name}；如果有的话，它在{where}。",
    "where_unknown": "我不太认识“{target}”；最匹配的位置在{where}。",
    "count_none": "我没有看到{noun}。",
    "count_unknown": "我数不准{noun}：内置模型没有“{noun}”这个概念；它的图上至少有{n}处。",
    "count_crowded": "我数不清：{noun}似乎铺满了大半个画面；我看到至少{n}群。",
    "count": "我数到大约{n}{measure}{noun}（约数）。",
    "unsupported": "内置模型回答不了这类问题。",
    "catalog": "这需要商品目录：打开或导入一个目录，才能查到这件商品的价格、类别和库存。",
}
POSITIONS = {
    "centre": "画面中间", "left": "画面左边", "right": "画面右边", "top": "画面上方",
    "bottom": "画面下方", "top left": "画面左上方", "top right": "画面右上方",
    "bottom left": "画面左下方", "bottom right": "画面右下方",
}


def sayable_nodes(hier: Hierarchy) -> list[int]:
    """The nodes a caption or answer can name: every class and every sayable hypernym."""
    return [n for n in range(len(hier.node_names)) if hier.sayable(n)]


def wnid_of(hier: Hierarchy, english: str) -> str:
    """The WordNet id of the broadest node named `english` (classes and hypernyms)."""
    nodes = hier.exact_nodes(english)
    if not nodes:
        raise SystemExit(f"no concept is named {english!r}")
    return hier.node_wnids[max(nodes, key=lambda n: hier.membership[n].sum())]


def read_pairs(path: Path, hier: Hierarchy) -> dict[str, str]:
    """Names from an "english=中文" list in --list order; stops at the first misaligned one."""
    pairs = [p.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines()
             for p in line.split("|") if p.strip()]
    nodes = sayable_nodes(hier)
    out = {}
    for i, ((english, zh), n) in enumerate(zip(pairs, nodes)):
        if english.strip() != hier.name(n):
            raise SystemExit(f"pair {i} is {english!r}, expected {hier.name(n)!r}")
        out[hier.node_wnids[n]] = zh.strip()
    return out


def write(hier: Hierarchy, names: dict[str, str]) -> None:
    order = {w: i for i, w in enumerate(hier.node_wnids)}
    data = {
        "version": 1,
        "language": chinese.LANGUAGE,
        "licence": "Apache-2.0 (written in this project; see NOTICE.md)",
        "names": dict(sorted(names.items(), key=lambda kv: order.get(kv[0], len(order)))),
        "synonyms": {term: wnid_of(hier, en) for en, terms in SYNONYMS.items() for term in terms},
        "measures": {wnid_of(hier, en): m for en, m in MEASURES.items() if hier.exact_nodes(en)},
        "colours": COLOURS,
        "colour_words": COLOUR_QUESTION_WORDS,
        "phrases": PHRASES,
        "positions": POSITIONS,
    }
    OUT.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    chinese.table.cache_clear()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="list the concepts to name")
    parser.add_argument("--write", action="store_true", help="rewrite the JSON")
    parser.add_argument("--names", type=Path, help="english=中文 pairs to add (with --write)")
    args = parser.parse_args()
    hier = Hierarchy(Concepts.load())
    if args.list:
        for i, n in enumerate(sayable_nodes(hier)):
            print(f"{i}\t{hier.node_wnids[n]}\t{hier.name(n)}")
        return 0
    if args.write:
        names = json.loads(OUT.read_text(encoding="utf-8"))["names"] if OUT.exists() else {}
        if args.names:
            names.update(read_pairs(args.names, hier))
        write(hier, names)
    problems = chinese.coverage_problems(hier, COLOUR_WORDS)
    for line in problems:
        print(line)
    total = len(sayable_nodes(hier))
    print(f"{total - sum(p.startswith('concept') for p in problems)}/{total} concepts named; "
          f"{len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
