"""Captions from one model, catalog vectors from another; switching the catalog's model
re-indexes in the background and keeps the vectors of the model it replaced."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from _catalog_helpers import make_catalog  # noqa: E402

from vlm_desktop.core.catalog.importer import import_folder  # noqa: E402
from vlm_desktop.core.catalog.store import CatalogStore  # noqa: E402
from vlm_desktop.core.engine.registry import ModelRecord  # noqa: E402
from vlm_desktop.core.engine.types import (  # noqa: E402
    ALL_CAPABILITIES,
    CAP_CAPTION,
    CAP_EMBED,
    CAP_RELEVANCE,
)
from vlm_desktop.ui.about_dialog import about_html  # noqa: E402
from vlm_desktop.ui.catalog_panel import RECENT_KEY  # noqa: E402
from vlm_desktop.ui.main_window import MainWindow  # noqa: E402
from vlm_desktop.ui.settings import AppSettings  # noqa: E402
from vlm_desktop.workers.inference_worker import EMBED, MAIN  # noqa: E402

TIMEOUT = 10000
LITE = ModelRecord("lite", "", "lite", "VLM Lite (built-in)", "", ALL_CAPABILITIES, builtin=True)
CAPTIONER = ModelRecord("blip-tiny", "", "hf-blip", "BLIP captioning", "",
                        frozenset({CAP_CAPTION}))  # cannot answer, like BLIP
EMBEDDER = ModelRecord("clip-tiny", "", "hf-clip", "CLIP", "", frozenset({CAP_EMBED, CAP_RELEVANCE}))


def _key(entry: ModelRecord) -> str:
    return f"{entry.display_name}@1"  # FakeEngine's version is "1"; see indexer.model_key


@pytest.fixture()
def catalog(tmp_path: Path) -> CatalogStore:
    store = CatalogStore(tmp_path / "c.db")
    make_catalog(tmp_path / "cat", n_per=3)
    import_folder(store, tmp_path / "cat")
    return store


@pytest.fixture()
def open_window(qtbot, tmp_path, catalog, install_models, shown_windows):
    """`open_window(embed_model="")`: a shown window on `catalog` that captions with
    CAPTIONER (which cannot embed), its models not yet started."""
    models = install_models([LITE, CAPTIONER, EMBEDDER])

    def make(embed_model: str = "") -> MainWindow:
        qs = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        qs.setValue(RECENT_KEY, [str(catalog.path)])
        settings = AppSettings(qs)
        settings.model, settings.embed_model = CAPTIONER.name, embed_model
        win = MainWindow(settings, device="cpu", device_lister=None)
        with qtbot.waitSignal(win.catalog_panel.catalog_opened, timeout=TIMEOUT):
            shown_windows(win, start=False)
        win.models = models
        return win

    return make


@pytest.fixture()
def window(qtbot, open_window):
    win = open_window()
    with qtbot.waitSignals([win.client.role(MAIN).ready, win.client.role(EMBED).ready],
                           timeout=TIMEOUT):
        win.start_model()
    return win


def _wait_indexed(qtbot, win: MainWindow, entry: ModelRecord, total: int) -> None:
    store = win.catalog_panel.jobs.store
    qtbot.waitUntil(lambda: store.embedding_count(_key(entry)) == total, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: not win.catalog_panel.jobs.indexing, timeout=TIMEOUT)


def test_captions_and_catalog_search_come_from_different_models(qtbot, window, tmp_path):
    store = window.catalog_panel.jobs.store
    total = store.stats().items
    assert window.status.model.text() == CAPTIONER.display_name
    assert window.embed_info is not None and window.embed_info.name == LITE.display_name
    # The Model menu says which model the catalog searches with.
    ticked = window.actions_.checked_embedder()
    assert ticked == LITE.name
    listed = [a.data() for a in window.actions_.embed_group.actions()]
    assert listed == [LITE.name, EMBEDDER.name]  # the captioner cannot embed: not offered
    _wait_indexed(qtbot, window, LITE, total)
    assert "VLM Lite" in window.catalog_panel.index_label.text()

    path = tmp_path / "blue.png"
    Image.new("RGB", (48, 32), (32, 32, 224)).save(path)
    with qtbot.waitSignal(window.catalog_panel.results_shown, timeout=TIMEOUT) as shown:
        window.open_path(str(path))
    assert shown.args[0] > 0, "the catalog finds similar items although BLIP cannot embed"
    qtbot.waitUntil(lambda: window.caption_panel.caption is not None, timeout=TIMEOUT)
    loaded = {e.model_name for e in window.models.engines}
    assert loaded == {CAPTIONER.display_name, LITE.display_name}
    # The status bar's model tooltip and the About box name both models.
    assert "Catalog search uses VLM Lite (built-in)" in window.status.model.toolTip()
    about = about_html(window.info, window.embed_info)
    assert "<b>Model:</b> blip-tiny" in about
    assert "<b>Catalog search model:</b> VLM Lite (built-in)" in about


def test_switching_the_catalog_model_reindexes_and_keeps_the_old_vectors(qtbot, window):
    store = window.catalog_panel.jobs.store
    total = store.stats().items
    _wait_indexed(qtbot, window, LITE, total)
    captioner = next(e for e in window.models.engines if e.model_name == CAPTIONER.display_name)
    old = next(e for e in window.models.engines if e.model_name == LITE.display_name)

    clip = next(a for a in window.actions_.embed_group.actions() if a.data() == EMBEDDER.name)
    with qtbot.waitSignal(window.client.role(EMBED).ready, timeout=TIMEOUT):
        clip.trigger()
    assert window.settings.embed_model == EMBEDDER.name
    assert window.actions_.checked_embedder() == EMBEDDER.name
    _wait_indexed(qtbot, window, EMBEDDER, total)
    assert window.catalog_panel.index_label.text() == "Catalog indexed with clip-tiny (CLIP)."
    # The old model's vectors stay, so switching back needs no re-indexing.
    assert store.embedding_count(_key(LITE)) == total
    assert old.closed and not captioner.closed  # only the replaced model is freed
    assert window.status.model.text() == CAPTIONER.display_name

    lite = next(a for a in window.actions_.embed_group.actions() if a.data() == LITE.name)
    index_runs: list[object] = []
    window.catalog_panel.jobs.index_progress.connect(index_runs.append)
    with qtbot.waitSignal(window.catalog_panel.jobs.index_state, timeout=TIMEOUT,
                          check_params_cb=lambda state: state == "finished"):
        lite.trigger()
    assert index_runs == [], "switching back found every vector already there"


def test_removing_the_models_in_use_switches_to_the_defaults(qtbot, window):
    window.select_embedder(EMBEDDER.name)
    # embed_info is None while the new model loads
    qtbot.waitUntil(lambda: window.embed_info is not None
                    and window.embed_info.name == EMBEDDER.display_name, timeout=TIMEOUT)
    # The model manager removes both models the window is using.
    window.models.entries[:] = [LITE]
    with qtbot.waitSignals([window.client.role(MAIN).ready, window.client.role(EMBED).ready],
                           timeout=TIMEOUT):
        window.refresh_models()
    assert window.status.model.text() == LITE.display_name
    assert window.embed_info.name == LITE.display_name
    assert window.message_bar.text == "blip-tiny was removed; switching to lite."
    assert window.actions_.checked_model() == LITE.name
    assert window.actions_.checked_embedder() == LITE.name


def test_closing_the_window_while_the_catalog_model_loads_is_quiet(qtbot, open_window):
    """As the start-up probe does: close as soon as the captioning model is ready, with
    the catalog's model still on its way (an exception in a slot fails this test)."""
    win = open_window(embed_model=EMBEDDER.name)
    embedder_events: list[object] = []
    win.client.role(EMBED).ready.connect(embedder_events.append)
    win.client.role(MAIN).ready.connect(lambda *_: win.close())
    win.start_model()
    qtbot.waitUntil(lambda: win._shut_down is not None, timeout=TIMEOUT)
    qtbot.wait(200)  # anything the worker sent before it stopped is delivered now
    assert embedder_events == []


def test_catalog_questions_work_when_the_captioning_model_cannot_answer(qtbot, window,
                                                                        tmp_path):
    store = window.catalog_panel.jobs.store
    _wait_indexed(qtbot, window, LITE, store.stats().items)
    path = tmp_path / "red.png"
    Image.new("RGB", (48, 32), (224, 32, 32)).save(path)
    with qtbot.waitSignal(window.loader.loaded, timeout=TIMEOUT):
        window.open_path(str(path))
    chat = window.chat_panel
    assert chat.edit.isEnabled() and chat.edit.placeholderText() == "Ask about the catalog…"
    assert chat.notice.isVisible() and "questions about the catalog still work" in \
        chat.notice.text()
    window.ask("How much does this cost?")
    qtbot.waitUntil(lambda: chat.entries[-1].answer is not None, timeout=TIMEOUT)
    answer = chat.entries[-1].answer
    assert answer.kind == "catalog" and "#" in answer.evidence  # cites catalog items
    window.ask("What is this?")  # not a catalog question, and BLIP cannot answer
    assert len(chat.entries) == 2 and chat.entries[-1].answer is None
    assert "cannot answer this" in chat.entries[-1].text


def test_switching_the_captioning_model_leaves_the_catalog_model_alone(qtbot, window):
    embedder_events: list[object] = []
    window.client.role(EMBED).ready.connect(embedder_events.append)
    with qtbot.waitSignal(window.client.role(MAIN).ready, timeout=TIMEOUT):
        window.select_model(LITE.name)
    qtbot.wait(50)
    assert embedder_events == [], "the catalog model was reloaded for nothing"
    assert window.embed_info.name == LITE.display_name


def test_the_catalog_model_loads_even_when_the_captioning_model_is_missing(
        qtbot, open_window):
    win = open_window()
    win.model_name = "uninstalled-model"
    with qtbot.waitSignal(win.client.role(EMBED).ready, timeout=TIMEOUT):
        win.start_model()
    assert win.info is None and "No model is installed" in win.caption_panel.text
    assert win.embed_info.name == LITE.display_name
