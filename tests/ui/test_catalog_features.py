"""Catalog panel features: empty history, catalog questions in the chat, "why similar",
opening and importing catalogs (with a column mapping), recent catalogs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QSettings, Qt

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from _catalog_helpers import make_catalog, make_store, near_duplicate  # noqa: E402

from vlm_desktop.core.catalog.store import CatalogStore  # noqa: E402
from vlm_desktop.core.engine.fake import FakeEngine  # noqa: E402
from vlm_desktop.ui.catalog_import_dialog import CatalogImportDialog  # noqa: E402
from vlm_desktop.ui.catalog_panel import RECENT_KEY, CatalogPanel  # noqa: E402
from vlm_desktop.ui.main_window import MainWindow  # noqa: E402
from vlm_desktop.ui.settings import AppSettings  # noqa: E402
from vlm_desktop.workers.inference_worker import MAIN  # noqa: E402

TIMEOUT = 10000


def _store(tmp_path: Path, index: bool = True) -> tuple[CatalogStore, dict[str, Path]]:
    return make_store(tmp_path, "image,title,category,price,currency\n"
                      "shoes/shoe_01.png,Red trail shoe,Shoes,59.5,EUR\n", index=index)


@pytest.fixture()
def client(embed_client):
    return embed_client


def _load(path: Path) -> Image.Image:
    with Image.open(path) as im:
        return im.convert("RGB")


def _panel(qtbot, client, **kwargs) -> CatalogPanel:
    kwargs.setdefault("open_demo", False)
    panel = CatalogPanel(client, **kwargs)
    qtbot.addWidget(panel)
    return panel


@pytest.mark.parametrize("indexed", [True, False], ids=["indexed", "not-indexed-yet"])
def test_no_purchases_gives_a_hint_not_an_error(qtbot, client, tmp_path, indexed):
    store, paths = _store(tmp_path, index=indexed)
    panel = _panel(qtbot, client)
    with qtbot.waitSignal(panel.recommendations_shown, timeout=TIMEOUT) as shown:
        panel.set_store(store)
        panel.jobs.cancel_indexing()  # look at the catalog as imported
    assert shown.args == [0]
    assert not panel.recs_hint.isHidden()
    assert panel.recs_hint.text() == "Mark items as bought to get recommendations."
    with qtbot.waitSignal(panel.results_shown, timeout=TIMEOUT):
        panel.show_similar_to(_load(paths["shoe_01"]))
    assert "failed" not in panel.status.text()
    panel.shutdown()


def test_a_purchase_replaces_the_hint_with_recommendations(qtbot, client, tmp_path):
    store, _ = _store(tmp_path)
    panel = _panel(qtbot, client, store=store)
    with qtbot.waitSignal(panel.recommendations_shown, timeout=TIMEOUT):
        pass
    assert panel.recs_hint.isVisibleTo(panel)
    panel._show_item(store.item_by_path("shoes/shoe_01.png"))
    with qtbot.waitSignal(panel.recommendations_shown, timeout=TIMEOUT) as shown:
        qtbot.mouseClick(panel.bought_button, Qt.MouseButton.LeftButton)
    assert shown.args[0] > 0 and panel.recs_hint.isHidden()
    panel.shutdown()


@pytest.fixture()
def window(qtbot, tmp_path, home_dir):
    store, paths = _store(tmp_path)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue(RECENT_KEY, [str(store.path)])  # the panel reopens the last catalog
    win = MainWindow(AppSettings(settings), device="cpu", device_lister=None,
                     resolve_factory=lambda name: (lambda choice: FakeEngine()))
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.catalog_panel.catalog_opened, timeout=TIMEOUT) as opened:
        win.show()
    assert opened.args == [str(store.path)]
    with qtbot.waitSignal(win.client.role(MAIN).ready, timeout=TIMEOUT):
        win.start_model()
    yield win, paths
    win.close()


def test_a_price_question_is_answered_from_the_catalog(qtbot, window, tmp_path):
    win, paths = window
    query = tmp_path / "query.png"
    near_duplicate(_load(paths["shoe_01"])).save(query)
    with qtbot.waitSignal(win.loader.loaded, timeout=TIMEOUT):
        win.open_path(str(query))
    win.ask("How much does this cost?")
    qtbot.waitUntil(lambda: not win.document.answering, timeout=TIMEOUT)
    answers = [e.answer for e in _entries(win) if e.answer is not None]
    assert len(answers) == 1
    assert answers[0].kind == "catalog"
    assert "59.50 EUR" in answers[0].text and "Red trail shoe" in answers[0].text
    # An ordinary question still goes to the model.
    win.ask("What colour is it?")
    qtbot.waitUntil(lambda: not win.document.answering, timeout=TIMEOUT)
    assert [e.answer.kind for e in _entries(win)] == ["catalog", "color"]


def _entries(win: MainWindow):
    from vlm_desktop.ui.chat_panel import ChatEntry

    return win.chat_panel.findChildren(ChatEntry)


def test_why_similar_lays_maps_on_the_item_and_the_current_image(qtbot, window, tmp_path):
    win, paths = window
    panel = win.catalog_panel
    with qtbot.waitSignal(panel.results_shown, timeout=TIMEOUT):
        with qtbot.waitSignal(win.loader.loaded, timeout=TIMEOUT):
            win.open_path(str(paths["camera_02"]))
    panel.grid.setCurrentIndex(panel.model.index(0))
    plain = panel.item_image.pixmap().toImage()
    assert panel.why_button.isEnabled()
    with qtbot.waitSignal(panel.query_map_changed, timeout=TIMEOUT) as shown:
        panel.why_button.click()
    assert shown.args[0] is not None
    assert win.heatmap is shown.args[0] and win.view._overlay_item.isVisible()
    assert panel.item_image.pixmap().toImage() != plain  # the hit shows its map too
    with qtbot.waitSignal(panel.query_map_changed, timeout=TIMEOUT) as hidden:
        panel.why_button.click()
    assert hidden.args == [None] and win.heatmap is None
    assert panel.item_image.pixmap().toImage() == plain


def test_open_catalog_refuses_other_files_and_remembers_catalogs(qtbot, client, tmp_path):
    store, _ = _store(tmp_path)
    store.close()
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    panel = _panel(qtbot, client, settings=settings)
    other = tmp_path / "notes.db"
    other.write_bytes(b"not a database at all")
    panel.open_database(str(other))
    qtbot.waitUntil(lambda: "not a VLM Desktop catalog" in panel.status.text(), timeout=TIMEOUT)
    assert other.read_bytes() == b"not a database at all"  # left untouched
    with qtbot.waitSignal(panel.catalog_opened, timeout=TIMEOUT):
        panel.open_database(str(store.path))
    assert panel.jobs.store.stats().items == 8
    assert panel.recent_catalogs() == [str(store.path)]
    panel._fill_catalog_menu()
    titles = [a.text() for a in panel.catalog_menu.actions()]
    assert "Open catalog…" in titles and "Import folder as catalog…" in titles and "c" in titles
    panel.shutdown()


def test_import_dialog_maps_differently_named_columns(qtbot, client, tmp_path):
    root = tmp_path / "shop"
    make_catalog(root, n_per=2)
    meta = root / "export.csv"
    meta.write_text("Bild;Produkt;Preis\n".replace(";", ",")
                    + "shoes/shoe_00.png,Wanderschuh,89\n")
    dialog = CatalogImportDialog(str(root), str(meta))
    qtbot.addWidget(dialog)
    assert dialog.boxes["image"].currentData() is None  # "Bild" is no known alias
    assert "Choose the column" in dialog.note.text()
    assert not dialog.import_button.isEnabled()
    dialog.boxes["image"].setCurrentText("Bild")
    assert dialog.import_button.isEnabled()
    dialog.boxes["title"].setCurrentText("Produkt")
    dialog.boxes["price"].setCurrentText("Preis")
    mapping = dialog.mapping()
    assert mapping["image"] == "Bild" and mapping["category"] == ""
    panel = _panel(qtbot, client)
    with qtbot.waitSignal(panel.catalog_opened, timeout=TIMEOUT):
        panel.open_folder(str(root), dialog.metadata, mapping)
    item = panel.jobs.store.item_by_path("shoes/shoe_00.png")
    assert item.title == "Wanderschuh" and item.price == 89
    with qtbot.waitSignal(panel.jobs.index_state, timeout=TIMEOUT,
                          check_params_cb=lambda s: s == "finished"):
        pass
    panel.shutdown()
