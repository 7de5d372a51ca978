"""The window's language: Qt translators for the chosen language, and the model told to match.

Every visible string in `ui/` goes through `self.tr()` (QObject subclasses) or `translate()`
below (elsewhere), so `pyside6-lupdate` finds it for `resources/i18n/*.ts`.
"""

from __future__ import annotations

import logging
import os
from importlib.resources import files

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from vlm_desktop.core.messages import fill  # noqa: F401 - for ui: translated templates filled in
from vlm_desktop.core.models import BUILTIN_RECORD

log = logging.getLogger(__name__)

# A plain alias: lupdate recognises `translate("Context", "text")` calls by this name.
translate = QCoreApplication.translate

SYSTEM = "system"
ENGLISH = "en"
CHINESE = "zh_CN"
# (setting, the language's own name): the Language menu shows each in its own language.
LANGUAGES = ((SYSTEM, ""), (ENGLISH, "English"), (CHINESE, "简体中文"))
# Read by LiteEngine at construction (core.engine.lite.engine.LANGUAGE_ENV).
MODEL_LANGUAGE_ENV = "VLM_DESKTOP_LANGUAGE"


def model_name(name: str) -> str:
    """A model's name as the window shows it: the built-in model's in the window's language;
    others as they are. Only the display changes: the name stays the model's key (catalog
    vectors are stored under it), so call this where the name is shown, nowhere else."""
    if name == BUILTIN_RECORD.label:
        return translate("Models", "VLM Lite (built-in)")
    return name


def resolve(setting: str, system: QLocale | None = None) -> str:
    """The language a setting means: "zh_CN" or "en" ("system" follows the system locale)."""
    if setting == CHINESE or setting == ENGLISH:
        return setting
    name = (system or QLocale.system()).name()  # e.g. "zh_CN", "zh_TW", "en_GB"
    return CHINESE if name.lower().startswith("zh") else ENGLISH


def qm_file(language: str) -> str | None:
    """The bundled .qm of `language`, or None (English is the source text: no file)."""
    qm = files("vlm_desktop.resources").joinpath("i18n", f"vlm_desktop_{language}.qm")
    return str(qm) if qm.is_file() else None


def install(app: QCoreApplication, setting: str) -> str:
    """Install the translators of `setting` on `app`; returns the language in use.

    Call before any widget is built (texts are translated when they are set). With Chinese
    on, the built-in model captions and answers in Chinese too, unless VLM_DESKTOP_LANGUAGE
    already says otherwise.
    """
    language = resolve(setting)
    if language == ENGLISH:
        return language
    ours = _load(qm_file(language))
    if ours is None:
        log.warning("no translation for %s; the window stays in English", language)
        return ENGLISH
    translators = [ours]
    # Qt's own texts (standard dialog buttons, context menus), where Qt ships them.
    qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    base = QTranslator(app)
    if base.load(f"qtbase_{language}", qt_dir):
        translators.append(base)
    for translator in translators:
        translator.setParent(app)  # kept alive as long as the app
        app.installTranslator(translator)
    os.environ.setdefault(MODEL_LANGUAGE_ENV, language)
    return language


def _load(path: str | None) -> QTranslator | None:
    if path is None:
        return None
    translator = QTranslator()
    return translator if translator.load(path) else None
