"""What each model capability lets the user do, and why a control is greyed out without it."""

from __future__ import annotations

from typing import Iterable

from PySide6.QtCore import QT_TRANSLATE_NOOP

from vlm_desktop.core.engine.types import CAP_ANSWER, CAP_CAPTION, CAP_EMBED, CAP_RELEVANCE
from vlm_desktop.ui.i18n import translate

# In the order the Model menu's tooltips list them.
_DOES = {
    CAP_CAPTION: QT_TRANSLATE_NOOP("Capabilities", "captions images"),
    CAP_ANSWER: QT_TRANSLATE_NOOP("Capabilities", "answers questions"),
    CAP_EMBED: QT_TRANSLATE_NOOP("Capabilities", "finds similar images"),
    CAP_RELEVANCE: QT_TRANSLATE_NOOP("Capabilities", "shows relevance maps"),
}
_CANNOT = {
    CAP_CAPTION: QT_TRANSLATE_NOOP("Capabilities", "caption images"),
    CAP_ANSWER: QT_TRANSLATE_NOOP("Capabilities", "answer questions"),
    CAP_EMBED: QT_TRANSLATE_NOOP("Capabilities", "find similar images in a catalog"),
    CAP_RELEVANCE: QT_TRANSLATE_NOOP("Capabilities", "show relevance maps"),
}


_NAMES = {
    CAP_CAPTION: QT_TRANSLATE_NOOP("Capabilities", "caption"),
    CAP_ANSWER: QT_TRANSLATE_NOOP("Capabilities", "answer"),
    CAP_EMBED: QT_TRANSLATE_NOOP("Capabilities", "embed"),
    CAP_RELEVANCE: QT_TRANSLATE_NOOP("Capabilities", "relevance"),
}


def name(capability: str) -> str:
    """A capability's short name as shown (the model manager's columns and buttons)."""
    known = _NAMES.get(capability)
    return translate("Capabilities", known) if known else capability


def describe(capabilities: Iterable[str]) -> str:
    """{"caption", "answer"} → "Captions images and answers questions"."""
    caps = set(capabilities)
    parts = [translate("Capabilities", text) for cap, text in _DOES.items() if cap in caps]
    if not parts:
        return translate("Capabilities", "Offers nothing this window can use")
    said = parts[0] if len(parts) == 1 else translate("Capabilities", "{some} and {last}").format(
        some=translate("Capabilities", ", ").join(parts[:-1]), last=parts[-1])
    return said[0].upper() + said[1:]


def missing_reason(capability: str) -> str:
    """The tooltip and placeholder of a control the active model cannot serve."""
    what = _CANNOT.get(capability)
    return translate("Capabilities",
                     "This model cannot {what} — choose another in Model ▸").format(
        what=translate("Capabilities", what) if what else capability)
