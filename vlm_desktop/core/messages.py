"""Messages that core code writes for people, in the language the app speaks.

Core has no Qt, so it cannot use the window's translators. A message is written once, in
English, as a `str.format` template with named fields: `say("{name} is empty (0 bytes).",
name=label)`. `say` looks the template up in the catalogue of the current language
(`resources/i18n/core_<language>.json`: English template -> translated template, the same
fields) and fills the fields in; a template with no translation stays English, so a missing
entry never loses a message. The language is the one the built-in model answers in
(`VLM_DESKTOP_LANGUAGE`, which the window sets from View ▸ Language), read at each call, so
worker threads speak the window's language too.

`tests/core/test_messages.py` finds every `say("...")` (and `later`, `say_later`) template in the package and checks the
Chinese catalogue translates each with the same fields.
"""

from __future__ import annotations

import json
import logging
import os
import string
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Mapping, Union

log = logging.getLogger(__name__)

LANGUAGE_ENV = "VLM_DESKTOP_LANGUAGE"
ENGLISH = "en"


def language() -> str:
    """"zh_CN" for any Chinese setting, else "en" (the source language)."""
    return "zh_CN" if os.environ.get(LANGUAGE_ENV, "").lower().startswith("zh") else ENGLISH


@lru_cache(maxsize=4)
def catalogue(lang: str) -> Mapping[str, str]:
    """The template translations of `lang`; empty for English or a missing/broken file."""
    if lang == ENGLISH:
        return {}
    try:
        text = files("vlm_desktop.resources").joinpath("i18n", f"core_{lang}.json").read_text(
            encoding="utf-8")
        table = json.loads(text)
    except (OSError, ValueError) as exc:
        log.warning("no core message catalogue for %s: %s", lang, exc)
        return {}
    return {str(k): str(v) for k, v in table.items() if not str(k).startswith("_")}


def fields(template: str) -> set[str]:
    """The named fields a template fills in."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def later(template: str) -> str:
    """Marks a template kept in a table and passed to `say` later (the test finds it)."""
    return template


def say(template: str, **values: object) -> str:
    """`template` in the current language with `values` filled in."""
    return say_in(language(), template, **values)


def say_in(lang: str, template: str, **values: object) -> str:
    """`template` in `lang` (not the current language) with `values` filled in."""
    translated = catalogue(lang).get(template, template)
    try:
        return fill(translated, **values)
    except (KeyError, IndexError, ValueError):  # a translation with other fields: keep English
        log.warning("translation of %r does not fit its fields", template)
        return template.format(**values)


# Full-width punctuation: Chinese text puts no space beside it. A translated template keeps
# a space around a field for Latin words ("已用 {name} 建立索引"), which is right for
# "CLIP" but not beside a name that ends in such a mark ("VLM Lite（内置）").
_FULL_WIDTH = frozenset("（）【】《》〈〉「」『』“”‘’：，。；！？、…")


def fill(template: str, **values: object) -> str:
    """`template.format(**values)`, less the template's own spaces beside a value that
    starts or ends with full-width punctuation. The values themselves are never changed
    (a file named "报告（终） 版.jpg" stays as it is); English is never changed."""
    formatter = string.Formatter()
    parts: list[tuple[str, str]] = []  # (literal text of the template, the value after it)
    for literal, name, spec, conversion in formatter.parse(template):
        value = ""
        if name is not None:
            obj, _ = formatter.get_field(name, (), values)
            value = formatter.format_field(formatter.convert_field(obj, conversion), spec or "")
        parts.append((literal, value))
    out = []
    for i, (literal, value) in enumerate(parts):
        after = literal.lstrip(" ")
        if i > 0 and parts[i - 1][1][-1:] in _FULL_WIDTH and _han(after[:1]):
            literal = after
        before = literal.rstrip(" ")
        if value[:1] in _FULL_WIDTH and _han(before[-1:]):
            literal = before
        out.append(literal + value)
    return "".join(out)


def _han(char: str) -> bool:
    """A Chinese character or full-width punctuation: no space goes between it and a
    full-width mark (a space before "→" or a Latin word stays)."""
    return char in _FULL_WIDTH or "\u3400" <= char <= "\u9fff"  # "" is neither


@dataclass(frozen=True)
class Term:
    """A word said differently per language: a concept's name, a colour, a position."""

    en: str
    zh: str = ""

    def text(self, lang: str) -> str:
        return self.en if lang == ENGLISH or not self.zh else self.zh


@dataclass(frozen=True)
class Phrase:
    """A message kept as its English template and values and said later in the language
    asked for: one structure gives the English line and the Chinese one. A value may be a
    Term, another Phrase or a Joined list, each said in the same language."""

    template: str
    values: tuple[tuple[str, object], ...] = ()

    def text(self, lang: str) -> str:
        said = {k: v.text(lang) if isinstance(v, (Term, Phrase, Joined)) else v
                for k, v in self.values}
        return say_in(lang, self.template, **said)

    def with_values(self, **values: object) -> Phrase:
        """The same phrase with some values replaced (a plain word given its Chinese)."""
        return Phrase(self.template, tuple((k, values.get(k, v)) for k, v in self.values))


@dataclass(frozen=True)
class Joined:
    """Parts said one after another with a separator template ("; ", ", ") between them."""

    separator: str
    parts: tuple[object, ...]

    def text(self, lang: str) -> str:
        sep = catalogue(lang).get(self.separator, self.separator)
        return sep.join(p.text(lang) if isinstance(p, (Term, Phrase, Joined)) else str(p)
                        for p in self.parts)


Said = Union[Term, Phrase, Joined]


def said_in(lang: str, what: Said | str) -> str:
    """A Term, Phrase or Joined said in `lang`; a plain string as it is."""
    return what if isinstance(what, str) else what.text(lang)


def say_later(template: str, **values: object) -> Phrase:
    """A Phrase of `template` (found by the catalogue test like say's templates)."""
    return Phrase(template, tuple(values.items()))
