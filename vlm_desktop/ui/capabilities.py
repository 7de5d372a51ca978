"""What each model capability lets the user do, and why a control is greyed out without it."""

from __future__ import annotations

from typing import Iterable

from vlm_desktop.core.engine.types import CAP_ANSWER, CAP_CAPTION, CAP_EMBED, CAP_RELEVANCE

# In the order the Model menu's tooltips list them.
_DOES = {
    CAP_CAPTION: "captions images",
    CAP_ANSWER: "answers questions",
    CAP_EMBED: "finds similar images",
    CAP_RELEVANCE: "shows relevance maps",
}
_CANNOT = {
    CAP_CAPTION: "caption images",
    CAP_ANSWER: "answer questions",
    CAP_EMBED: "find similar images in a catalog",
    CAP_RELEVANCE: "show relevance maps",
}


def describe(capabilities: Iterable[str]) -> str:
    """{"caption", "answer"} → "Captions images and answers questions"."""
    caps = set(capabilities)
    parts = [text for cap, text in _DOES.items() if cap in caps]
    if not parts:
        return "Offers nothing this window can use"
    said = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return said[0].upper() + said[1:]


def missing_reason(capability: str) -> str:
    """The tooltip and placeholder of a control the active model cannot serve."""
    return (f"This model cannot {_CANNOT.get(capability, capability)} — "
            "choose another in Model ▸")
