"""Question cards and the heat-map bar read whole in a narrow column: nothing clipped."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QLabel

from vlm_desktop.core.engine.types import Answer, HeatMap, word_spans
from vlm_desktop.ui.chat_panel import ChatPanel
from vlm_desktop.ui.overlay_controls import HINT, OverlayControls

EVIDENCE = ("orange 60% of the region's pixels; 'cup' → related concept coffee (close in "
            "meaning (0.75)); espresso 92% → coffee 92% (best local view 94%)")


def _answer() -> Answer:
    text = "The cup (the coffee I see) is orange."
    heat = HeatMap("cup", np.ones((4, 4), dtype=np.float32))
    return Answer("what colour is the cup?", text, 0.6,
                  words=word_spans(text, {"cup": heat, "orange": heat}), evidence=EVIDENCE)


def _clipped(panel: ChatPanel) -> list[str]:
    """Labels of the cards that are cut: too short for their wrapped text, or too narrow."""
    viewport = panel.scroll.viewport().width()
    cut = []
    for entry in panel.entries:
        if entry.width() > viewport:
            cut.append(f"card {entry.width()} px wide in a {viewport} px view")
        for label in entry.findChildren(QLabel):
            if not label.isVisible():
                continue
            if label.wordWrap():
                if label.height() < label.heightForWidth(label.width()):
                    cut.append(f"{label.text()[:30]!r} {label.height()} px high")
            elif label.width() < label.sizeHint().width():
                cut.append(f"{label.text()[:30]!r} {label.width()} px wide")
    return cut


@pytest.mark.parametrize("width", [220, 280, 420])
def test_a_card_grows_to_fit_its_evidence_at_any_width(qtbot, width):
    panel = ChatPanel()
    qtbot.addWidget(panel)
    panel.resize(width, 400)
    panel.show()
    for _ in range(3):  # a long conversation: the view must scroll, not squash the cards
        panel.add_question("what colour is the cup?").set_answer(_answer())
    qtbot.waitUntil(lambda: panel.scroll.verticalScrollBar().maximum() > 0)
    qtbot.waitUntil(lambda: _clipped(panel) == [])
    panel.resize(width + 60, 400)  # wider, then narrower again: the cards follow
    qtbot.waitUntil(lambda: _clipped(panel) == [])
    panel.resize(width, 400)
    qtbot.waitUntil(lambda: _clipped(panel) == [])


def test_the_heat_map_bar_reads_its_hint_whole_at_its_narrowest(qtbot):
    from PySide6.QtGui import QAction

    controls = OverlayControls(QAction("Heat map"), 0.6)
    qtbot.addWidget(controls)
    controls.resize(controls.minimumSizeHint())
    controls.show()
    assert controls.word.text() == HINT
    qtbot.waitUntil(lambda: not controls.word.is_elided())
    controls.show_word("a very long word that cannot possibly fit in the bar")
    assert controls.word.is_elided()
    assert "a very long word" in controls.word.toolTip()  # the full text, where it is cut
    controls.show_word(None)
    assert controls.word.text() == HINT and not controls.word.is_elided()


@pytest.mark.parametrize("width", [280, 420])
def test_show_where_never_squeezes_the_confidence_onto_several_lines(qtbot, width):
    text = "It is in the centre."
    peaked = HeatMap("x", np.eye(4, dtype=np.float32))
    panel = ChatPanel()
    qtbot.addWidget(panel)
    panel.resize(width, 400)
    panel.show()
    entry = panel.add_question("where is it?")
    entry.set_answer(Answer("where is it?", text, 0.48, heatmap=peaked,
                            words=word_spans(text, {}), evidence="map peak in the centre"))
    label = entry._confidence.label
    qtbot.waitUntil(lambda: label.isVisible() and label.width() > 0)
    qtbot.wait(20)
    # One line: the label is as wide as its text (a wrapped one is narrower).
    assert label.width() >= label.fontMetrics().horizontalAdvance(label.text()), label.width()
    assert _clipped(panel) == []
