"""The window's busy and question-box rules, checked without any widget."""

from __future__ import annotations

from vlm_desktop.ui.capabilities import missing_reason
from vlm_desktop.core.engine.types import CAP_ANSWER
from vlm_desktop.ui.window_rules import Busy, QuestionBox, WorkState, busy_indicator, question_box


def test_idle_shows_no_busy_indicator():
    assert busy_indicator(WorkState()) is None


def test_what_esc_can_cancel_is_what_the_busy_indicator_names_first():
    everything = WorkState(True, True, True, True, True)
    assert busy_indicator(everything) == Busy("Captioning…", True)
    assert busy_indicator(WorkState(answering=True, loading_model=True)) == \
        Busy("Answering…", True)


def test_work_that_cannot_be_cancelled_hides_the_cancel_button():
    for state, message in [(WorkState(loading_model=True, exporting=True), "Loading model…"),
                           (WorkState(opening_image=True), "Opening image…"),
                           (WorkState(exporting=True), "Exporting…")]:
        assert busy_indicator(state) == Busy(message, False)


def test_questions_need_a_model_that_answers_and_an_image():
    assert question_box("VLM Lite", True, False, True, False) == QuestionBox(True)
    assert question_box("VLM Lite", True, False, False, False) == \
        QuestionBox(False, "Open an image first")
    assert question_box(None, False, True, True, False).reason == "The model is loading…"
    assert question_box(None, False, False, True, True).reason == "No model is loaded"


def test_a_model_that_cannot_answer_still_takes_catalog_questions_about_an_image():
    box = question_box("blip-tiny", False, False, True, True)
    assert box.enabled and box.notice and box.placeholder == "Ask about the catalog…"
    assert "blip-tiny cannot answer questions" in box.reason
    closed = question_box("blip-tiny", False, False, True, False)  # no catalog model
    assert closed == QuestionBox(False, missing_reason(CAP_ANSWER), notice=True)
    no_image = question_box("blip-tiny", False, False, False, True)
    assert not no_image.enabled and no_image.notice
