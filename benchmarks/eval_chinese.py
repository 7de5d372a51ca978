"""How many questions asked in Chinese does the built-in model answer right, beside the same
questions asked in English, in one run?

Photos: the sample chelsea.jpg and scikit-image's photos, with what a person sees in them
(the same truth as benchmarks/eval_answers.py). Each question is asked in both languages.
A yes/no answer is right when its lean matches the truth (yes / probably versus no / can't
tell, probably not); a "what" answer when it names one of the expected things; a colour
answer when it says one of the expected colours. Also counted: the Chinese question parsed
to the same kind as the English one, and the same confidence stated.

Run: python benchmarks/eval_chinese.py [--device cpu]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


@dataclass(frozen=True)
class Item:
    photo: str
    zh: str
    en: str
    kind: str  # "yesno", "what" or "color"
    truth: bool = True  # for yes/no
    zh_words: tuple[str, ...] = ()  # for what / colour: any of these is right
    en_words: tuple[str, ...] = ()


ITEMS = [
    Item("chelsea", "这是什么?", "What is this?", "what", zh_words=("猫",), en_words=("cat",)),
    Item("chelsea", "有没有猫?", "Is there a cat?", "yesno", True),
    Item("chelsea", "有没有狗?", "Is there a dog?", "yesno", False),
    Item("chelsea", "有没有汽车?", "Is there a car?", "yesno", False),
    Item("chelsea", "猫是什么颜色?", "What colour is the cat?", "color",
         zh_words=("棕色", "灰色"), en_words=("brown", "grey")),
    Item("coffee", "这是什么?", "What is this?", "what", zh_words=("咖啡", "杯"),
         en_words=("coffee", "espresso", "cup")),
    Item("coffee", "有没有杯子?", "Is there a cup?", "yesno", True),
    Item("coffee", "有没有猫?", "Is there a cat?", "yesno", False),
    Item("rocket", "这是什么?", "What is this?", "what", zh_words=("火箭", "导弹"),
         en_words=("rocket", "missile")),
    Item("rocket", "有没有狗?", "Is there a dog?", "yesno", False),
    Item("motorcycle", "有没有摩托车?", "Is there a motorcycle?", "yesno", True),
    Item("motorcycle", "有没有汽车?", "Is there a car?", "yesno", False),
    Item("horse", "有没有马?", "Is there a horse?", "yesno", True),
    Item("astronaut", "有没有人?", "Is there a person?", "yesno", True),
    Item("astronaut", "有没有猫?", "Is there a cat?", "yesno", False),
]
YES = {"zh": ("是的", "可能有", "有"), "en": ("Yes", "Probably")}


def photo(name: str) -> Image.Image:
    if name == "chelsea":
        return Image.open(ROOT / "resources" / "samples" / "chelsea.jpg").convert("RGB")
    import skimage.data as skdata

    if name == "motorcycle":
        return Image.open(Path(skdata.__file__).parent / "motorcycle_left.png").convert("RGB")
    return Image.fromarray(getattr(skdata, name)()).convert("RGB")


def right(item: Item, text: str, lang: str) -> bool:
    if item.kind == "yesno":
        said_yes = text.startswith(YES[lang]) and not text.startswith(("有没有",))
        return said_yes == item.truth
    words = item.zh_words if lang == "zh" else item.en_words
    return any(w in (text if lang == "zh" else text.lower()) for w in words)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    from vlm_desktop.core.device import choose_device
    from vlm_desktop.core.engine.lite.engine import LiteEngine
    from vlm_desktop.core.engine.lite.questions import parse_question

    engine = LiteEngine.load(choose_device(args.device))
    score = {"zh": 0, "en": 0}
    same_kind = same_conf = 0
    for item in ITEMS:
        image = photo(item.photo)
        zh, en = engine.answer(image, item.zh), engine.answer(image, item.en)
        ok_zh, ok_en = right(item, zh.text, "zh"), right(item, en.text, "en")
        score["zh"] += ok_zh
        score["en"] += ok_en
        same_kind += parse_question(item.zh).kind == parse_question(item.en).kind
        same_conf += abs(zh.confidence - en.confidence) < 1e-9
        print(f"{item.photo:10s} {'✓' if ok_zh else '✗'} {item.zh} {zh.text} ({zh.confidence:.2f})")
        print(f"{'':10s} {'✓' if ok_en else '✗'} {item.en} {en.text} ({en.confidence:.2f})")
    n = len(ITEMS)
    print(f"\nright: Chinese {score['zh']}/{n}, English {score['en']}/{n}; "
          f"same kind parsed {same_kind}/{n}; same confidence {same_conf}/{n}")
    engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
