"""What a new user meets in the catalog panel (issues #18 items 3 and 5, #19): recommendation
tiles with their reason and where the history came from, clearing it, the header, empty
states, what "match" means, and tiles that show their picture when selected."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QMessageBox

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from _catalog_helpers import make_store, near_duplicate  # noqa: E402

from vlm_desktop.core.catalog.recommend import import_history  # noqa: E402
from vlm_desktop.ui.catalog_model import LinesRole  # noqa: E402
from vlm_desktop.ui.catalog_panel import CatalogPanel  # noqa: E402
from vlm_desktop.workers.inference_worker import InferenceClient  # noqa: E402

TIMEOUT = 10000


@pytest.fixture()
def client(embed_client):
    return embed_client


@pytest.fixture()
def shop(tmp_path):
    """A small indexed catalog with a two-line order history from orders_2025.csv."""
    store, paths = make_store(tmp_path, "image,title,category,price,currency\n"
                              "shoes/shoe_00.png,Red trail shoe,Shoes,59.5,EUR\n"
                              "shoes/shoe_01.png,Orange runner,Shoes,49,EUR\n")
    hist = tmp_path / "orders_2025.csv"
    hist.write_text("image,timestamp,quantity\nshoes/shoe_00.png,2025-03-01,1\n"
                    "shoes/shoe_01.png,2025-04-01,1\n")
    import_history(store, hist)
    return store, paths


def _panel(qtbot, client, store) -> CatalogPanel:
    panel = CatalogPanel(client, open_demo=False)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.recommendations_shown, timeout=TIMEOUT):
        panel.set_store(store)
    return panel


def test_recommendations_are_tiles_that_open_like_similar_items(qtbot, client, shop):
    store, paths = shop
    panel = _panel(qtbot, client, store)
    panel.resize(420, 900)
    panel.show()
    recs = panel.recs_view
    assert recs.count() > 0
    model = recs.model
    for row in range(recs.count()):
        entry = model.entry(row)
        title, price, reason = model.index(row).data(LinesRole)
        assert title == entry.item.title and price.endswith(entry.item.currency)
        assert reason.startswith("Because you bought ")
        assert entry.item.path not in ("shoes/shoe_00.png", "shoes/shoe_01.png")
    first = model.entry(0)
    qtbot.waitUntil(lambda: panel.thumbs.get(first.path) is not None, timeout=TIMEOUT)
    assert not panel.thumbs.get(first.path).isNull()  # a real thumbnail, not the placeholder

    tile = recs.tiles.visualRect(model.index(0)).center()
    qtbot.mouseClick(recs.tiles.viewport(), Qt.MouseButton.LeftButton, pos=tile)
    assert panel.item_title.text() == first.item.title and panel.open_button.isEnabled()
    with qtbot.waitSignal(panel.open_item_requested, timeout=TIMEOUT) as opened:
        qtbot.mouseDClick(recs.tiles.viewport(), Qt.MouseButton.LeftButton, pos=tile)
    assert opened.args == [str(store.abs_path(first.item))]
    panel.shutdown()


def test_the_history_names_its_source_and_clearing_it_forgets_it(qtbot, client, shop,
                                                                  monkeypatch):
    store, _ = shop
    panel = _panel(qtbot, client, store)
    recs = panel.recs_view
    assert recs.source.text() == "History: 2 purchases (2 from orders_2025.csv)"
    assert recs.clear_button.isEnabled() and recs.count() > 0

    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or
                        QMessageBox.StandardButton.Cancel)
    qtbot.mouseClick(recs.clear_button, Qt.MouseButton.LeftButton)
    assert asked and "2 purchases" in asked[0][2]  # it asked first, naming what goes
    assert len(store.purchases()) == 2 and recs.count() > 0  # "Cancel" keeps everything

    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(recs.clear_button, Qt.MouseButton.LeftButton)
    assert store.purchases() == [] and recs.count() == 0
    assert recs.hint.text() == "Mark items as bought to get recommendations."
    assert recs.source.text() == "No purchase history." and not recs.clear_button.isEnabled()
    with qtbot.waitSignal(panel.recommendations_shown, timeout=TIMEOUT) as again:
        panel.refresh_recommendations()  # the store really forgot: none come back
    assert again.args == [0]
    panel.shutdown()


def test_the_header_names_the_catalog_and_its_size(qtbot, client, shop):
    store, _ = shop
    panel = _panel(qtbot, client, store)
    assert panel.bar.header.text() == f"{store.path.stem} · 8 items"
    panel.shutdown()


def test_the_demo_catalog_is_named_as_such_in_the_header(qtbot, home_dir):
    client = InferenceClient()  # no model needed to open a catalog
    try:
        panel = CatalogPanel(client)
        qtbot.addWidget(panel)
        with qtbot.waitSignal(panel.catalog_opened, timeout=60000):
            pass
        items = panel.jobs.store.stats().items
        assert items > 250 and panel.bar.header.text() == f"Demo catalog · {items} items"
        assert "5 from demo_history.csv" in panel.recs_view.source.text()
        panel.shutdown()
    finally:
        assert client.shutdown(TIMEOUT)


def test_empty_states_say_what_to_do_next(qtbot, client, shop):
    store, paths = shop
    panel = CatalogPanel(client, open_demo=False)
    qtbot.addWidget(panel)
    assert panel.grid.empty_text().startswith("No catalog is open.")
    with qtbot.waitSignal(panel.recommendations_shown, timeout=TIMEOUT):
        panel.set_store(store)
    assert panel.grid.empty_text().startswith("Open or drop an image")
    panel.mode_box.setCurrentIndex(panel.mode_box.findData("keyword"))
    panel.search_box.setText("zeppelin")
    with qtbot.waitSignal(panel.results_shown, timeout=TIMEOUT) as shown:
        qtbot.keyClick(panel.search_box, Qt.Key.Key_Return)
    assert shown.args == [0]
    assert panel.grid.empty_text() == ("No items match “zeppelin”. Try other words or "
                                       "another search mode.")
    panel.show_no_embedder("No installed model can find similar images.")
    panel.search_box.clear()
    panel.model.set_entries([])
    panel.show_similar_to(Image.open(paths["shoe_02"]).convert("RGB"))
    assert "Keyword search still works" in panel.grid.empty_text()
    panel.shutdown()


def test_an_unindexed_catalog_says_so(qtbot, client, tmp_path):
    store, _ = make_store(tmp_path, "image,title\n", index=False)
    panel = CatalogPanel(client, open_demo=False)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.recommendations_shown, timeout=TIMEOUT):
        panel.set_store(store)
        panel.jobs.cancel_indexing()  # look at the catalog as imported
    assert panel.grid.empty_text().startswith("This catalog is not indexed yet")
    panel.shutdown()


def test_the_legend_says_match_is_a_similarity_and_how_weak_is_decided(qtbot, client, shop):
    store, paths = shop
    panel = _panel(qtbot, client, store)
    legend = panel.legend_button.toolTip()
    assert "not a probability" in legend and "1 time in 20" in legend
    with qtbot.waitSignal(panel.results_shown, timeout=TIMEOUT):
        panel.show_similar_to(near_duplicate(Image.open(paths["shoe_02"])))
    level = panel._weak_below
    assert level and f"that level is {level:.2f}" in panel.legend_button.toolTip()
    panel.shutdown()


def _clip_art(path: Path) -> None:
    """A red disc small on an opaque white sheet, as a palette PNG (like the demo's clip art)."""
    im = Image.new("RGB", (160, 160), "white")
    ImageDraw.Draw(im).ellipse((60, 60, 100, 100), fill=(220, 20, 20))
    im.convert("P").save(path)


def test_a_selected_clip_art_tile_shows_its_drawing_filling_the_box(qtbot, client, tmp_path):
    from vlm_desktop.core.catalog.importer import import_folder
    from vlm_desktop.core.catalog.store import CatalogStore

    root = tmp_path / "art"
    root.mkdir()
    _clip_art(root / "disc.png")
    store = CatalogStore(tmp_path / "art.db")
    import_folder(store, root)
    panel = _panel(qtbot, client, store)
    panel.resize(400, 700)
    panel.show()
    panel.mode_box.setCurrentIndex(panel.mode_box.findData("keyword"))
    panel.search_box.setText("disc")
    with qtbot.waitSignal(panel.results_shown, timeout=TIMEOUT):
        qtbot.keyClick(panel.search_box, Qt.Key.Key_Return)
    entry = panel.model.entry(0)
    qtbot.waitUntil(lambda: panel.thumbs.get(entry.path) is not None, timeout=TIMEOUT)
    panel.grid.setCurrentIndex(panel.model.index(0))
    qtbot.wait(50)
    shot = panel.grid.viewport().grab().toImage()
    cell = panel.grid.visualRect(panel.model.index(0))
    delegate = panel.grid.itemDelegate()
    pad, side = delegate.PAD, delegate.icon_side
    left = cell.left() + pad + (cell.width() - 2 * pad - side) // 2
    top = cell.top() + pad
    ratio = shot.devicePixelRatio()

    def pixel(x: int, y: int) -> QColor:
        return shot.pixelColor(QPoint(int(x * ratio), int(y * ratio)))

    corner = pixel(left + 3, top + 3)  # inside the picture's box, outside the disc
    assert corner.getRgb()[:3] != (255, 255, 255), "a white block on the selected tile"
    red = [x for x in range(left, left + side)
           if (c := pixel(x, top + side // 2)).red() > 150 and c.green() < 90]
    assert len(red) >= 0.8 * side, f"the drawing spans {len(red)} of {side} px: tiny"
    panel.shutdown()
