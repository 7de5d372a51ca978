"""The window's translations: no visible text bypasses Qt's translation, the zh_CN catalogue
is complete and built, and the window reads Chinese under it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QLocale, QSettings, QTranslator
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QDialog,
    QDockWidget,
    QLabel,
    QLineEdit,
    QMenu,
    QTableWidget,
    QWidget,
)

from vlm_desktop import APP_NAME
from vlm_desktop.core.engine.fake import FakeEngine
from vlm_desktop.ui import i18n
from vlm_desktop.ui.main_window import MainWindow
from vlm_desktop.ui.settings import AppSettings
from vlm_desktop.ui.word_chips import WordChip

TIMEOUT_MS = 10000
MARK = "⟦"
REPO = Path(__file__).resolve().parents[2]
TS = REPO / "resources" / "i18n" / "vlm_desktop_zh_CN.ts"
QM = TS.with_suffix(".qm")
HAN = re.compile(r"[\u4e00-\u9fff]")


class MarkingTranslator(QTranslator):
    """Marks every text that asks Qt for a translation, so an unmarked one bypassed it."""

    def translate(self, context, source, disambiguation=None, n=-1):  # noqa: ANN001, ANN201
        return MARK + source

    def isEmpty(self) -> bool:  # noqa: N802 - Qt override
        return False


@pytest.fixture()
def translator(qapp):
    """`install(translator)` on the app for one test; removed (and the model's language
    reset) afterwards."""
    installed: list[QTranslator] = []
    before = os.environ.get(i18n.MODEL_LANGUAGE_ENV)

    def install(t: QTranslator) -> QTranslator:
        assert qapp.installTranslator(t)
        installed.append(t)
        return t

    yield install
    for t in installed + qapp.findChildren(QTranslator):  # also those i18n.install made
        qapp.removeTranslator(t)
        t.setParent(None)
    if before is None:
        os.environ.pop(i18n.MODEL_LANGUAGE_ENV, None)
    else:
        os.environ[i18n.MODEL_LANGUAGE_ENV] = before


def _window(shown_windows, tmp_path: Path, catalog: bool = True) -> MainWindow:
    settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    return shown_windows(MainWindow(settings, device="cpu",
                                    resolve_factory=lambda name: (lambda c: FakeEngine()),
                                    device_lister=None, with_catalog=catalog))


def _open_and_ask(qtbot, window: MainWindow, tmp_path: Path) -> None:
    path = tmp_path / "red.png"
    Image.new("RGB", (64, 48), (220, 30, 30)).save(path)
    with qtbot.waitSignal(window.loader.loaded, timeout=TIMEOUT_MS):
        window.open_path(str(path))
    qtbot.waitUntil(lambda: window.caption_panel.caption is not None, timeout=TIMEOUT_MS)
    window.ask("What colour?")
    qtbot.waitUntil(lambda: window.chat_panel.entries[-1].answer is not None,
                    timeout=TIMEOUT_MS)


def _menu_texts(menu: QMenu, where: str) -> list[tuple[str, str]]:
    out = [(f"{where} title", menu.title())]
    for action in menu.actions():
        if action.isSeparator() and not action.text():
            continue
        out += [(f"{where} action", action.text()), (f"{where} action tip", action.toolTip())]
        if action.menu() is not None:
            out += _menu_texts(action.menu(), f"{where} ▸ {action.text()}")
    return out


def _visible_texts(root: QWidget) -> list[tuple[str, str]]:
    """(where, text) for every text a user reads on `root` and its children: titles, labels,
    buttons, placeholders, tooltips, accessible names, combo items, table headers, menus."""
    out: list[tuple[str, str]] = [("window title", root.windowTitle())]
    for w in [root, *root.findChildren(QWidget)]:
        if w.objectName().startswith("qt_"):  # Qt's own parts (scroll bars, clear buttons)
            continue
        kind = type(w).__name__
        out += [(f"{kind} tooltip", w.toolTip()), (f"{kind} accessible name",
                                                    w.accessibleName())]
        if isinstance(w, QLabel):
            out.append((f"{kind} text", w.text()))
        if isinstance(w, QAbstractButton) and not isinstance(w, WordChip):  # chips: the caption
            out.append((f"{kind} text", w.text()))
        if isinstance(w, QLineEdit):
            out.append((f"{kind} placeholder", w.placeholderText()))
        if isinstance(w, QComboBox):
            # The category box lists the catalog's own categories (data); the rest are ours.
            out += [(f"{kind} item", w.itemText(i)) for i in range(w.count())
                    if w.itemData(i) is None or w.itemData(i) in ("hybrid", "vector", "keyword")]
        if isinstance(w, QTableWidget):
            out += [(f"{kind} header", w.horizontalHeaderItem(c).text())
                    for c in range(w.columnCount()) if w.horizontalHeaderItem(c)]
        if isinstance(w, QDockWidget):
            out.append((f"{kind} title", w.windowTitle()))
        if isinstance(w, QMenu):
            out += _menu_texts(w, kind)
    return out


def _untranslated(texts: list[tuple[str, str]], data: set[str]) -> list[str]:
    """Texts with letters that were never marked, other than the app's name, the languages'
    own names and `data` (what the user typed, the model said, file and model names), also
    behind a menu's "&1 " and as a streamed "…" prefix."""
    def is_data(text: str) -> bool:
        bare = re.sub(r"^&?\d+ ", "", text)
        return (bare in data or bare in own_names or bare == APP_NAME
                or bare.endswith("…") and any(d.startswith(bare[:-1]) for d in data))

    own_names = {name for _, name in i18n.LANGUAGES if name}
    return sorted({f"{where}: {text!r}" for where, text in texts
                   if text and MARK not in text and re.search(r"[A-Za-z]", text)
                   and not is_data(text)})


def test_every_visible_text_of_the_window_goes_through_translation(qtbot, shown_windows,
                                                                  translator, tmp_path):
    translator(MarkingTranslator())
    window = _window(shown_windows, tmp_path)
    _open_and_ask(qtbot, window, tmp_path)
    window.actions_.set_devices([("cuda:0", "Fake GPU")], "cpu")
    window.actions_.set_recent([str(tmp_path / "red.png")], window.open_path, lambda: None)
    window.message_bar.show_message(window.tr("The GPU ran out of memory."),
                                    action=(window.tr("Use the CPU"), lambda: None))
    entry = window.chat_panel.entries[-1]
    models = {r.display_name for r in window.models_.installed}
    # The device's reason is core's own explanation (core has no Qt): English for now.
    data = {"What colour?", entry.answer.text, window.caption_panel.caption.text,
            "red.png", str(tmp_path / "red.png"), window.info.name, "Fake GPU", "cuda:0",
            window.device_choice.reason, *models}
    # Menus hang off the menu bar, not as children of their own widgets' trees: walk them too.
    texts = _visible_texts(window)
    for action in window.menuBar().actions():
        texts += _menu_texts(action.menu(), "menu bar")
    # The model's own words (caption, answer, evidence) are its output, not the window's.
    words = {s for s in re.split(r"[\s,.]+", entry.answer.text + " " +
                                 window.caption_panel.caption.text) if s}
    missing = [t for t in _untranslated(texts, data | words)
               if not any(t.endswith(repr(w)) for w in words)]
    assert len(texts) > 150 and missing == [], "\n".join(missing)


def test_every_dialog_text_goes_through_translation(qtbot, translator, tmp_path, home_dir):
    from vlm_desktop.ui.about_dialog import AboutDialog
    from vlm_desktop.ui.catalog_import_dialog import CatalogImportDialog
    from vlm_desktop.ui.crash_dialog import CrashDialog
    from vlm_desktop.ui.model_manager_dialog import ModelManagerDialog

    translator(MarkingTranslator())
    meta = tmp_path / "items.csv"
    meta.write_text("file,name,cost\na.png,A,1\n", encoding="utf-8")
    info = FakeEngine().info()
    dialogs: list[tuple[QDialog, set[str]]] = [
        (AboutDialog(info), set()),
        (CrashDialog("boom", "Traceback: boom", tmp_path / "app.log"), {"Traceback: boom"}),
        (CatalogImportDialog(str(tmp_path), str(meta)),
         {str(tmp_path), str(meta), "file", "name", "cost"}),
        (ModelManagerDialog(), set()),
    ]
    for dialog, data in dialogs:
        qtbot.addWidget(dialog)
        missing = _untranslated(_visible_texts(dialog), data)
        assert missing == [], f"{type(dialog).__name__}:\n" + "\n".join(missing)
        # The About text is rich text built of translated parts: each paragraph is marked.
    about = dialogs[0][0].findChildren(QLabel)[0].text()
    assert about.count(MARK) >= 4


def test_the_check_catches_a_text_that_bypasses_translation(qtbot, shown_windows, translator,
                                                            tmp_path):
    translator(MarkingTranslator())
    window = _window(shown_windows, tmp_path, catalog=False)
    before = set(_untranslated(_visible_texts(window), set()))
    window.caption_panel.setToolTip("An English tooltip set without tr()")
    after = set(_untranslated(_visible_texts(window), set()))
    assert after - before == {"CaptionPanel tooltip: 'An English tooltip set without tr()'"}


def test_the_zh_cn_translation_is_complete_and_covers_every_text_of_the_code(tmp_path):
    lupdate = Path(sys.executable).parent / "pyside6-lupdate"
    fresh = tmp_path / "fresh.ts"
    sources = sorted(str(p) for p in (REPO / "vlm_desktop" / "ui").glob("*.py"))
    subprocess.run([str(lupdate), *sources, "-no-obsolete", "-locations", "none",
                    "-target-language", "zh_CN", "-ts", str(fresh)],
                   check=True, capture_output=True)

    def messages(path: Path) -> dict[tuple[str, str], ET.Element]:
        root = ET.parse(path).getroot()
        return {(c.findtext("name"), m.findtext("source")): m.find("translation")
                for c in root.iter("context") for m in c.iter("message")}

    in_code, in_ts = messages(fresh), messages(TS)
    assert len(in_code) > 300
    assert sorted(set(in_code) - set(in_ts)) == [], "run `make translations` and translate"
    unfinished = [k for k, t in in_ts.items() if t.get("type") or not (t.text or "").strip()]
    assert unfinished == []
    # Placeholders survive translation, or .format() would fail or drop a value.
    wrong = [(src, t.text) for (_c, src), t in in_ts.items()
             if sorted(re.findall(r"\{\w*\}", src)) != sorted(re.findall(r"\{\w*\}", t.text))]
    assert wrong == []


def test_the_committed_qm_is_built_from_the_ts(tmp_path):
    lrelease = Path(sys.executable).parent / "pyside6-lrelease"
    built = tmp_path / "built.qm"
    subprocess.run([str(lrelease), str(TS), "-qm", str(built)], check=True, capture_output=True)
    assert built.read_bytes() == QM.read_bytes(), "run `make translations` and commit the .qm"


def test_the_window_reads_chinese_under_the_zh_cn_translation(qtbot, shown_windows, translator,
                                                              tmp_path, monkeypatch):
    monkeypatch.delenv(i18n.MODEL_LANGUAGE_ENV, raising=False)
    assert i18n.install(QApplication.instance(), "zh_CN") == "zh_CN"
    window = _window(shown_windows, tmp_path)
    _open_and_ask(qtbot, window, tmp_path)
    menus = [a.menu() for a in window.menuBar().actions()]
    titles = [m.title() for m in menus]
    assert all(HAN.search(t) and "&" in t for t in titles), titles  # 文件(&F): keys still work
    for menu in menus:
        for action in menu.actions():
            text = action.text()
            if text and action.data() is None and not action.isSeparator() \
                    and "VLM Desktop" not in text:
                assert HAN.search(text), (menu.title(), text)
    assert HAN.search(window.chat_panel.hint.text())
    assert HAN.search(window.catalog_panel.search_box.placeholderText())
    assert HAN.search(window.caption_panel.confidence.label.text())
    # The built-in model is told to caption and answer in Chinese too (read when it is built).
    from vlm_desktop.core.engine.lite.engine import LANGUAGE_ENV, language_from

    assert LANGUAGE_ENV == i18n.MODEL_LANGUAGE_ENV
    assert language_from(os.environ.get(LANGUAGE_ENV)) == "zh_CN"


def test_english_installs_nothing_and_the_system_locale_decides_by_default(qapp, translator):
    assert i18n.install(qapp, "en") == "en"
    assert qapp.findChildren(QTranslator) == []
    assert i18n.resolve("system", QLocale("zh_CN")) == "zh_CN"
    assert i18n.resolve("system", QLocale("zh_TW")) == "zh_CN"  # the only Chinese we have
    assert i18n.resolve("system", QLocale("de_DE")) == "en"
    assert i18n.resolve("en", QLocale("zh_CN")) == "en"
    assert i18n.resolve("zh_CN", QLocale("en_US")) == "zh_CN"


def test_choosing_a_language_is_saved_for_the_next_start(qtbot, shown_windows, tmp_path):
    window = _window(shown_windows, tmp_path, catalog=False)
    assert window.actions_.language_group.checkedAction().data() == "system"
    chinese = next(a for a in window.actions_.language_group.actions() if a.data() == "zh_CN")
    assert chinese.text() == "简体中文"  # each language named in its own language
    chinese.trigger()
    assert window.settings.language == "zh_CN" and chinese.isChecked()
    assert "restarted" in window.message_bar.text
    again = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    assert again.language == "zh_CN"


def test_the_adapt_dialog_goes_through_translation(qtbot, translator, tmp_path, home_dir):
    """Catalog ▸ Adapt Model…: before it runs and with a finished report in its table."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
    from _adapt_helpers import make_catalog

    from vlm_desktop.ui.adapt_dialog import AdaptDialog
    from vlm_desktop.workers.inference_worker import InferenceClient

    translator(MarkingTranslator())
    store, _engine = make_catalog(tmp_path, per_colour=2)
    client = InferenceClient()
    dialog = AdaptDialog(client, store)
    qtbot.addWidget(dialog)
    try:
        dialog.show()
        missing = _untranslated(_visible_texts(dialog), set())
        assert missing == [], "AdaptDialog:\n" + "\n".join(missing)
        rows = [dialog.table.verticalHeaderItem(r).text()
                for r in range(dialog.table.rowCount())]
        assert rows and all(MARK in row for row in rows), rows
    finally:
        assert client.shutdown(30000)
        store.close()


def test_the_built_in_model_is_named_in_chinese_but_keeps_its_key(qtbot, shown_windows,
                                                                   translator, tmp_path,
                                                                   monkeypatch):
    from vlm_desktop.core.engine.types import ModelInfo
    from vlm_desktop.core.models import BUILTIN_NAME, BUILTIN_RECORD

    monkeypatch.delenv(i18n.MODEL_LANGUAGE_ENV, raising=False)
    assert i18n.install(QApplication.instance(), "zh_CN") == "zh_CN"
    window = _window(shown_windows, tmp_path)
    builtin = [a for a in window.actions_.model_group.actions() if a.data() == BUILTIN_NAME]
    assert len(builtin) == 1
    assert builtin[0].text().endswith("VLM Lite（内置）"), builtin[0].text()
    assert BUILTIN_RECORD.label == "VLM Lite (built-in)"  # the key vectors are stored under
    window.status.set_model(ModelInfo(BUILTIN_RECORD.label, "1", "cpu", "float32"))
    assert window.status.model.text() == "VLM Lite（内置）"
    assert i18n.model_name("blip-base") == "blip-base"  # other models: their own names


def test_the_built_in_model_keeps_its_english_name_in_english(qtbot, shown_windows, tmp_path):
    from vlm_desktop.core.models import BUILTIN_NAME

    window = _window(shown_windows, tmp_path)
    builtin = [a for a in window.actions_.model_group.actions() if a.data() == BUILTIN_NAME]
    assert builtin[0].text().endswith("VLM Lite (built-in)"), builtin[0].text()


def test_the_indexed_line_puts_no_space_after_the_built_in_models_chinese_name(qtbot, translator,
                                                                               monkeypatch):
    from vlm_desktop.core.models import BUILTIN_RECORD
    from vlm_desktop.ui.catalog_index_bar import IndexBar

    monkeypatch.delenv(i18n.MODEL_LANGUAGE_ENV, raising=False)
    assert i18n.install(QApplication.instance(), "zh_CN") == "zh_CN"
    bar = IndexBar()
    qtbot.addWidget(bar)
    name = i18n.model_name(BUILTIN_RECORD.label)
    assert name == "VLM Lite（内置）"
    bar.show_state("finished", name)
    assert bar.label.text() == "商品目录已用 VLM Lite（内置）建立索引。"
