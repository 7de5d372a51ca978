"""Answer text reads as written in the chat: punctuation touches its word, no stray buttons."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QLabel, QPushButton

from vlm_desktop.core.engine.types import Answer, HeatMap, word_spans
from vlm_desktop.ui.chat_panel import ChatPanel

HEAT = HeatMap("x", np.ones((4, 4), dtype=np.float32))


def _entry(qtbot, text: str, chips: tuple[str, ...], confidence: float = 0.6,
           heatmap: HeatMap | None = None):
    panel = ChatPanel()
    qtbot.addWidget(panel)
    panel.resize(420, 400)
    panel.show()
    entry = panel.add_question("q?")
    entry.set_answer(Answer("q?", text, confidence, heatmap=heatmap,
                            words=word_spans(text, {c: HEAT for c in chips}), evidence="e"))
    qtbot.waitUntil(lambda: entry.chips is not None and entry.chips.isVisible())
    return panel, entry


def _labels(entry) -> list[QLabel]:
    return [w for w in entry.chips.findChildren(QLabel) if w.isVisible()]


def _x(widget, origin) -> tuple[int, int]:
    left = widget.mapTo(origin, QPoint(0, 0)).x()
    return left, left + widget.width()


def test_an_opening_bracket_touches_the_word_after_it(qtbot):
    _, entry = _entry(qtbot, "I count about 1 cat (approximate).", ("cat",))
    texts = [label.text() for label in _labels(entry)]
    assert "(approximate)." in texts, texts  # not "(" then "approximate)."
    assert "(" not in texts


def test_a_full_stop_after_a_chip_has_no_gap(qtbot):
    _, entry = _entry(qtbot, "The cat is brown.", ("cat", "brown"))
    chip = next(c for c in entry.chips.chips if c.text() == "brown")
    stop = next(label for label in _labels(entry) if label.text() == ".")
    qtbot.waitUntil(lambda: stop.width() > 0)
    gap = _x(stop, entry.chips)[0] - _x(chip, entry.chips)[1]
    # The flow layout leaves 4 px between words; the stop belongs to the word before it.
    assert gap <= 1, f"{gap} px between 'brown' and '.'"
    # A bracketed fine name glued to its chip reads "(gold)." with its brackets on it.
    _, entry = _entry(qtbot, "It is yellow (gold).", ("yellow", "gold"))
    texts = [label.text() for label in _labels(entry)]
    assert "(" in texts and ")." in texts and [c.text() for c in entry.chips.chips] == ["yellow", "gold"]


def test_a_refusal_at_zero_confidence_offers_no_show_where(qtbot):
    _, refusal = _entry(qtbot, "I can't answer that kind of question with the built-in model.", (),
                        confidence=0.0, heatmap=HEAT)
    assert not [b for b in refusal.findChildren(QPushButton) if b.text() == "Show where"]
    _, answer = _entry(qtbot, "It is in the centre.", (), confidence=0.5,
                       heatmap=HeatMap("x", np.eye(4, dtype=np.float32)))
    assert [b for b in answer.findChildren(QPushButton) if b.text() == "Show where"]


def test_show_where_only_for_an_answer_whose_map_locates_something(qtbot):
    flat = HeatMap("dog", np.zeros((4, 4), dtype=np.float32))
    # "I can't tell" / "No" answers come with a flat map: nothing was found, nothing to show.
    _, unsure = _entry(qtbot, "I can't tell, probably not: I don't see a dog clearly.", (),
                       confidence=0.6, heatmap=flat)
    assert not [b for b in unsure.findChildren(QPushButton) if b.text() == "Show where"]
    # Shown as "Confidence 0%": it looked at nothing either.
    _, nearly_zero = _entry(qtbot, "I can't count them well.", (), confidence=0.004, heatmap=HEAT)
    assert not [b for b in nearly_zero.findChildren(QPushButton) if b.text() == "Show where"]
    peaked = HeatMap("x", np.eye(4, dtype=np.float32))
    _, located = _entry(qtbot, "It is in the centre.", (), confidence=0.05, heatmap=peaked)
    assert [b for b in located.findChildren(QPushButton) if b.text() == "Show where"]
