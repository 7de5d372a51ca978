"""What a question was recognised as (a leaf module: the English and Chinese parsers and the
answerer all use it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ParsedQuestion:
    """A recognised question: its kind, the phrase it is about ("" = the main object) and,
    for "is the X red?", the colour asked about. `language` is the language to answer in;
    a Chinese question's `target` is the English concept name its words stand for, and
    `words` the words themselves (what the answer calls it)."""

    text: str
    kind: str
    target: str = ""
    colour: str = ""
    language: str = "en"
    words: str = ""
