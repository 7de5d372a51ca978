"""The main window's rules as pure functions of its state: what "busy" says, and whether
the question box is open and why not. No widgets (only Qt's `translate`, which needs no
application), so they are tested without a window."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from vlm_desktop.ui.capabilities import missing_reason
from vlm_desktop.ui.i18n import translate
from vlm_desktop.core.engine.types import CAP_ANSWER


@dataclass(frozen=True)
class WorkState:
    """What the window is waiting for at one moment."""

    captioning: bool = False
    answering: bool = False
    loading_model: bool = False
    opening_image: bool = False
    exporting: bool = False


@dataclass(frozen=True)
class Busy:
    """What the busy indicator says, and whether Cancel (Esc) can stop it."""

    message: str
    cancellable: bool


def busy_indicator(state: WorkState) -> Optional[Busy]:
    """The most important work under way (what the user can cancel comes first); None: idle."""
    if state.captioning:
        return Busy(translate("WindowRules", "Captioning…"), True)
    if state.answering:
        return Busy(translate("WindowRules", "Answering…"), True)
    if state.loading_model:
        return Busy(translate("WindowRules", "Loading model…"), False)
    if state.opening_image:
        return Busy(translate("WindowRules", "Opening image…"), False)
    if state.exporting:
        return Busy(translate("WindowRules", "Exporting…"), False)
    return None


@dataclass(frozen=True)
class QuestionBox:
    """Whether questions can be typed; else the reason shown in (or over) the box."""

    enabled: bool
    reason: str = ""
    notice: bool = False  # the reason also shows in full over the box
    placeholder: str = ""


def question_box(model: Optional[str], can_answer: bool, loading_model: bool,
                 has_image: bool, catalog_answers: bool) -> QuestionBox:
    """The question box for a window with the loaded model `model` (None: none loaded)."""
    if model is not None and not can_answer:
        if has_image and catalog_answers:
            return QuestionBox(
                True, translate("WindowRules", "{model} cannot answer questions; questions "
                                "about the catalog still work: price, category, other "
                                "colours.").format(model=model), notice=True,
                placeholder=translate("WindowRules", "Ask about the catalog…"))
        return QuestionBox(False, missing_reason(CAP_ANSWER), notice=True)
    if model is None:
        return QuestionBox(False, translate("WindowRules", "The model is loading…")
                           if loading_model else translate("WindowRules", "No model is loaded"))
    if not has_image:
        return QuestionBox(False, translate("WindowRules", "Open an image first"))
    return QuestionBox(True)
