"""Chinese for the built-in model: the name table, Chinese questions, Chinese answers and captions."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vlm_desktop.core.engine.lite import chinese
from vlm_desktop.core.engine.lite.colors import COLOUR_WORDS
from vlm_desktop.core.engine.lite.concepts import Concepts
from vlm_desktop.core.engine.lite.hierarchy import Hierarchy
from vlm_desktop.core.engine.lite.questions import parse_question
from vlm_desktop.core.engine.types import HeatMap

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "resources" / "samples"


@pytest.fixture(scope="module")
def hier() -> Hierarchy:
    return Hierarchy(Concepts.load())


# --- the name table -------------------------------------------------------------------------


def test_every_sayable_concept_colour_and_phrase_has_chinese(hier):
    assert chinese.coverage_problems(hier, COLOUR_WORDS) == []
    sayable = [n for n in range(len(hier.node_names)) if hier.sayable(n)]
    assert len(sayable) > 1000  # the 1000 classes and the hypernyms a caption can say
    assert all(chinese.is_chinese(chinese.node_name(hier, n)) for n in sayable)


def test_checker_script_passes_and_reports_a_missing_name(hier, monkeypatch):
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "zh_concepts.py")],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1727/1727 concepts named" in run.stderr
    # The checker can fail: drop one class's name and one phrase.
    table = chinese.table()
    broken = replace(table, names={k: v for k, v in table.names.items() if k != hier.node_wnids[281]},
                     phrases={k: v for k, v in table.phrases.items() if k != "yes_sure"})
    monkeypatch.setattr(chinese, "table", lambda: broken)
    problems = chinese.coverage_problems(hier, COLOUR_WORDS)
    assert any(hier.node_wnids[281] in p and "tabby" in p for p in problems)
    assert any("yes_sure" in p for p in problems)


@pytest.mark.parametrize("english, zh", [
    ("tabby cat", "虎斑猫"), ("espresso", "意式浓缩咖啡"), ("Siberian husky", "哈士奇"),
    ("golden retriever", "金毛寻回犬"), ("cellular telephone", "手机"), ("cat", "猫"),
    ("car", "汽车"), ("dog", "狗"), ("bird", "鸟"),
])
def test_everyday_names(hier, english, zh):
    assert chinese.chinese_for(hier, english) == zh


def test_colour_phrases_in_chinese():
    t = chinese.table()
    assert t.colour("dark blue") == "深蓝色"
    assert t.colour("yellow (gold)") == "黄色（金色）"
    assert t.position("in the top left") == "画面左上方"


def test_word_spans_find_each_named_word():
    maps = {"虎斑猫": HeatMap("虎斑猫", np.ones((2, 2))), "灰色": HeatMap("grey", np.ones((2, 2)))}
    text = "一只灰色的虎斑猫"
    spans = chinese.word_spans(text, maps)
    assert [(s.text, text[s.start:s.end]) for s in spans] == [("灰色", "灰色"), ("虎斑猫", "虎斑猫")]
    assert all(s.heatmap is maps[s.text] for s in spans)


# --- Chinese questions ----------------------------------------------------------------------


@pytest.mark.parametrize("question, kind, target, colour", [
    ("这是什么?", "what", "", ""),
    ("图里是什么？", "what", "", ""),
    ("图片里有什么", "what", "", ""),
    ("这是啥", "what", "", ""),
    ("描述一下这张照片", "what", "", ""),
    ("这是什么动物?", "what", "animal", ""),
    ("这是什么品种的狗？", "what", "dog", ""),
    ("猫是什么颜色?", "color", "cat", ""),
    ("什么颜色?", "color", "", ""),
    ("这辆车是什么颜色的？", "color", "car", ""),
    ("有没有猫?", "yesno", "cat", ""),
    ("有猫吗?", "yesno", "cat", ""),
    ("这是猫吗?", "yesno", "cat", ""),
    ("是不是猫?", "yesno", "cat", ""),
    ("这是不是狗", "yesno", "dog", ""),
    ("图里有猫吗", "yesno", "cat", ""),
    ("你能看到狗吗？", "yesno", "dog", ""),
    ("有没有汽车?", "yesno", "car", ""),
    ("有没有车", "yesno", "car", ""),
    ("猫是黑色的吗？", "yesno", "cat", "black"),
    ("有没有红色的车？", "yesno", "car", "red"),
    ("有没有红酒", "yesno", "red wine", ""),  # a name that starts with a colour stays whole
    ("有没有金鱼", "yesno", "goldfish", ""),
    ("有几只猫?", "count", "cat", ""),
    ("有多少个苹果？", "count", "apple", ""),
    ("猫有几只", "count", "cat", ""),
    ("图里有多少个人", "count", "person", ""),
    ("猫在哪里?", "where", "cat", ""),
    ("猫在哪儿？", "where", "cat", ""),
    ("哪里有猫", "where", "cat", ""),
    ("狗在图片的什么位置", "where", "dog", ""),
    ("这辆摩托车是红色的吗?", "yesno", "motorcycle", "red"),
    ("这是哪种花", "what", "flower", ""),
])
def test_chinese_question_forms(question, kind, target, colour):
    q = parse_question(question)
    assert (q.kind, q.target, q.colour) == (kind, target, colour), q
    assert q.language == chinese.LANGUAGE


def test_chinese_words_kept_for_the_answer():
    q = parse_question("图里有小黑猫吗?")
    assert q.kind == "yesno" and q.target == "cat" and q.words == "猫"
    assert parse_question("有没有马克杯?").words == "马克杯"


@pytest.mark.parametrize("question, kind", [
    ("这个多少钱?", "catalog"), ("有没有别的颜色?", "catalog"), ("为什么猫在这里?", "unsupported"),
    ("谁拍的这张照片", "unsupported"), ("？", "unsupported"),
])
def test_chinese_catalog_and_unsupported(question, kind):
    assert parse_question(question).kind == kind


def test_unknown_chinese_phrase_stays_as_typed():
    q = parse_question("有没有独角兽?")
    assert q.kind == "yesno" and q.target == "独角兽" and q.words == "独角兽"


def test_english_questions_unchanged():
    q = parse_question("Is there a cat?")
    assert (q.kind, q.target, q.language, q.words) == ("yesno", "cat", "en", "")


# --- the real model answering in Chinese ----------------------------------------------------



@pytest.fixture(scope="module")
def cat() -> Image.Image:
    return Image.open(SAMPLES / "chelsea.jpg").convert("RGB")


def _photo(name: str) -> Image.Image:
    skdata = pytest.importorskip("skimage.data")
    if name == "motorcycle":
        return Image.open(Path(skdata.__file__).parent / "motorcycle_left.png").convert("RGB")
    return Image.fromarray(getattr(skdata, name)()).convert("RGB")


def _chinese_colours() -> set[str]:
    return set(chinese.table().colours.values())


@pytest.mark.slow
def test_what_names_the_cat_in_chinese(engine, cat):
    a = engine.answer(cat, "这是什么?")
    assert chinese.is_chinese(a.text) and "猫" in a.text, a.text
    assert a.confidence >= 0.5
    assert any(w.heatmap is not None and "猫" in w.text for w in a.words)


@pytest.mark.slow
def test_yes_there_is_a_cat_no_car(engine, cat):
    yes = engine.answer(cat, "有没有猫?")
    assert yes.text.startswith(("是", "有")) and yes.confidence >= 0.75, yes.text
    no = engine.answer(cat, "有没有汽车?")
    assert not no.text.startswith(("是的", "可能有")), no.text
    assert chinese.is_chinese(no.text) and "汽车" in no.text


@pytest.mark.slow
def test_cat_colour_is_a_chinese_colour_word(engine, cat):
    a = engine.answer(cat, "猫是什么颜色?")
    assert any(c in a.text for c in _chinese_colours()), a.text
    english = engine.answer(cat, "What colour is the cat?")
    basic = english.text.split(" is ")[-1].split()[0].rstrip(".")
    assert chinese.table().colour(basic) in a.text  # the same colour, said in Chinese
    assert a.confidence == english.confidence


@pytest.mark.slow
def test_count_and_where_in_chinese(engine, cat):
    count = engine.answer(cat, "有几只猫?")
    assert "大约" in count.text and "1" in count.text and "猫" in count.text, count.text
    where = engine.answer(cat, "猫在哪里?")
    assert where.text.startswith("猫在画面"), where.text
    assert where.confidence == engine.answer(cat, "Where is the cat?").confidence


@pytest.mark.slow
def test_refusals_in_chinese(engine, cat):
    assert chinese.is_chinese(engine.answer(cat, "这个多少钱?").text)
    unknown = engine.answer(cat, "有没有独角兽?")
    assert "独角兽" in unknown.text and not unknown.text.startswith("是")


@pytest.mark.slow
def test_caption_in_chinese_when_asked(engine, cat):
    english = engine.caption(cat)
    engine.language = "zh_CN"
    try:
        zh = engine.caption(cat)
        asked_in_english = engine.answer(cat, "Is there a cat?")
    finally:
        engine.language = "en"
    assert chinese.is_chinese(zh.text) and "猫" in zh.text and zh.text.startswith(("一", "可能"))
    assert zh.confidence == english.confidence
    assert any(w.heatmap is not None for w in zh.words)
    assert chinese.is_chinese(asked_in_english.text)
    assert not chinese.is_chinese(engine.caption(cat).text)  # English again, as before


@pytest.mark.slow
@pytest.mark.parametrize("photo, question, english, expect", [
    ("coffee", "这是什么?", "What is this?", ("咖啡", "杯")),
    ("motorcycle", "有没有摩托车?", "Is there a motorcycle?", ("是的",)),
    ("rocket", "这是什么?", "What is this?", ("火箭", "导弹")),
    ("astronaut", "有没有猫?", "Is there a cat?", ("没有", "看不出来")),
    ("coffee", "有没有杯子?", "Is there a cup?", ("有",)),
])
def test_skimage_photos_in_chinese(engine, photo, question, english, expect):
    image = _photo(photo)
    a = engine.answer(image, question)
    assert any(e in a.text for e in expect), a.text
    assert a.confidence == engine.answer(image, english).confidence  # only the wording differs


@pytest.mark.slow
def test_cli_lang_flag(capsys):
    from vlm_desktop import cli

    assert cli.main(["caption", str(SAMPLES / "chelsea.jpg"), "--lang", "zh_CN", "--json",
                     "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "猫" in out and '"caption": "一' in out


# Chinese questions of every kind the model answers, and ones it refuses or has no concept for.
EVIDENCE_QUESTIONS = ("这是什么?", "这是什么颜色?", "有没有猫?", "有没有杯子?", "猫是什么颜色?",
                      "猫在哪里?", "有几只猫?", "这个多少钱?", "有没有独角兽?", "杯子是白色的吗?",
                      "有几个独角兽?", "独角兽是什么颜色?", "为什么?")


def _english_words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z]+", text)


@pytest.mark.slow
@pytest.mark.parametrize("photo", ["chelsea", "coffee", "rocket", "motorcycle"])
def test_chinese_evidence_lines_have_no_english_words(engine, cat, photo):
    image = cat if photo == "chelsea" else _photo(photo)
    english = engine.caption(image)
    engine.language = "zh_CN"
    try:
        zh = engine.caption(image)
        answers = [engine.answer(image, q) for q in EVIDENCE_QUESTIONS]
    finally:
        engine.language = "en"
    assert chinese.is_chinese(zh.evidence) and not _english_words(zh.text + zh.evidence), \
        (zh.text, zh.evidence)
    # The same numbers as the English line: only the words are said in Chinese.
    assert re.findall(r"\d+%", zh.evidence) == re.findall(r"\d+%", english.evidence)
    for q, a in zip(EVIDENCE_QUESTIONS, answers):
        assert a.evidence and not _english_words(a.evidence), (q, a.evidence)
    assert not chinese.is_chinese(engine.caption(image).evidence)  # English again


@pytest.mark.parametrize("question, existence", [
    ("Is there a dog?", True), ("Are there any cups?", True), ("Do you see a car?", True),
    ("any shoes?", True), ("有没有猫?", True), ("有猫吗?", True),
    ("Is this a dog?", False), ("Is it a truck?", False), ("这是猫吗?", False),
    ("Is the thereminist here?", False),
])
def test_existence_questions_are_told_from_identity_questions(question, existence):
    from vlm_desktop.core.engine.lite.answerer import _asks_existence

    assert _asks_existence(question) is existence


@pytest.mark.slow
def test_an_english_question_answered_in_chinese_says_there_is_none(engine, cat):
    engine.language = "zh_CN"
    try:
        none = engine.answer(cat, "Is there a car?")
        not_one = engine.answer(cat, "Is this a car?")
    finally:
        engine.language = "en"
    assert none.text.startswith("没有") and "汽车" in none.text, none.text
    assert not_one.text.startswith("不是") and "汽车" in not_one.text, not_one.text
