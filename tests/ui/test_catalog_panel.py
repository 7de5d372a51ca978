"""The catalog panel: similar items for the current image, opening an item, search, recommendations."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import Qt

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from _catalog_helpers import make_catalog, make_store, near_duplicate  # noqa: E402

from vlm_desktop.core.engine.fake import FakeEngine  # noqa: E402
from vlm_desktop.ui.catalog_panel import CatalogPanel  # noqa: E402
from vlm_desktop.workers.inference_worker import EMBED, InferenceClient  # noqa: E402

TIMEOUT = 10000


@pytest.fixture()
def setup(qtbot, tmp_path, home_dir):
    store, paths = make_store(tmp_path, "image,title,category,price\n"
                              "cameras/camera_03.png,Pocket zoom camera,Cameras,120\n", n_per=5)
    client = InferenceClient()
    with qtbot.waitSignal(client.role(EMBED).ready, timeout=TIMEOUT):
        client.load_engine(lambda device: FakeEngine(), "cpu", "fake", EMBED)
    panel = CatalogPanel(client, store=store, open_demo=False)
    qtbot.addWidget(panel)
    yield panel, paths, store
    panel.shutdown()
    assert client.shutdown(TIMEOUT)


def test_similar_items_then_open_one_as_the_current_image(qtbot, setup):
    panel, paths, store = setup
    query = near_duplicate(Image.open(paths["shoe_02"]))
    with qtbot.waitSignal(panel.results_shown, timeout=TIMEOUT) as shown:
        panel.show_similar_to(query)
    assert shown.args[0] >= 1
    first = panel.model.entry(0)
    assert first.item.path == "shoes/shoe_02.png"
    panel.grid.setCurrentIndex(panel.model.index(0))
    assert panel.item_title.text() == first.item.title and panel.open_button.isEnabled()
    with qtbot.waitSignal(panel.open_item_requested, timeout=TIMEOUT) as opened:
        qtbot.mouseClick(panel.open_button, Qt.MouseButton.LeftButton)
    assert opened.args == [str(paths["shoe_02"].resolve())]
    assert Path(opened.args[0]).is_file()


def test_text_search_and_recommendations(qtbot, setup):
    panel, paths, store = setup
    panel.mode_box.setCurrentText("keyword")
    panel.search_box.setText("zoom")
    with qtbot.waitSignal(panel.results_shown, timeout=TIMEOUT):
        qtbot.keyClick(panel.search_box, Qt.Key.Key_Return)
    assert panel.model.entry(0).item.title == "Pocket zoom camera"
    panel.grid.setCurrentIndex(panel.model.index(0))
    with qtbot.waitSignal(panel.recommendations_shown, timeout=TIMEOUT) as recs:
        qtbot.mouseClick(panel.bought_button, Qt.MouseButton.LeftButton)
    assert recs.args[0] > 0
    entries = [panel.recs_view.model.entry(i) for i in range(panel.recs_view.count())]
    assert all(e.note == "Because you bought Pocket zoom camera" for e in entries)
    assert not any(e.item.title == "Pocket zoom camera" for e in entries)


def test_panel_opens_the_demo_catalog_by_itself(qtbot, home_dir):
    client = InferenceClient()
    try:
        with qtbot.waitSignal(client.role(EMBED).ready, timeout=TIMEOUT):
            client.load_engine(lambda device: FakeEngine(), "cpu", "fake", EMBED)
        panel = CatalogPanel(client)
        qtbot.addWidget(panel)
        with qtbot.waitSignal(panel.catalog_opened, timeout=TIMEOUT) as opened:
            pass
        assert opened.args[0].endswith("demo.db")
        assert panel.category_box.count() == 9  # "All categories" + 8
        with qtbot.waitSignal(panel.jobs.index_state, timeout=60000,
                              check_params_cb=lambda s: s == "finished"):
            pass
        assert panel.jobs.store.stats().indexed == panel.jobs.store.stats().items
        panel.shutdown()
    finally:
        assert client.shutdown(TIMEOUT)


def test_open_folder_imports_it_and_reports_refused_rows(qtbot, setup, tmp_path):
    panel, paths, store = setup
    root = tmp_path / "shop"
    make_catalog(root, n_per=2)
    (root / "catalog.csv").write_text("image,title,price\nshoes/shoe_00.png,Boot,12\n"
                                      "shoes/gone.png,Ghost,3\n")
    with qtbot.waitSignal(panel.catalog_opened, timeout=TIMEOUT) as opened:
        panel.open_folder(str(root))
    assert Path(opened.args[0]).parent.name == "catalogs"
    assert panel.jobs.store.stats().items == 4
    assert "4 new" in panel.status.text() and "1 metadata rows refused" in panel.status.text()
    assert "row 3" in panel.status.toolTip()
    with qtbot.waitSignal(panel.jobs.index_state, timeout=TIMEOUT,
                          check_params_cb=lambda s: s == "finished"):
        pass


def test_retry_unreadable_files_tries_them_again(qtbot, setup, tmp_path):
    import os

    panel, _, store = setup
    root = tmp_path / "shop"
    make_catalog(root, n_per=1)
    bad = root / "shoes" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 600)  # a PNG header and nothing usable
    with qtbot.waitSignal(panel.catalog_opened, timeout=TIMEOUT):
        panel.open_folder(str(root))
    with qtbot.waitSignal(panel.jobs.index_state, timeout=TIMEOUT,
                          check_params_cb=lambda s: s == "finished"):
        pass
    assert [q.path for q in panel.jobs.store.quarantine()] == ["shoes/broken.png"]

    # The file is repaired in place with the same size and time stamp, so a plain refresh
    # would keep skipping it; Retry must try it again.
    stat = bad.stat()
    good = tmp_path / "good.png"
    Image.new("RGB", (8, 8), (200, 30, 30)).save(good)
    data = good.read_bytes()
    bad.write_bytes(data + b"\0" * (stat.st_size - len(data)))
    os.utime(bad, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    panel._fill_catalog_menu()
    retry = [a for a in panel.catalog_menu.actions() if a.text().startswith("Retry")]
    assert retry and retry[0].isEnabled() and "(1)" in retry[0].text()
    with qtbot.waitSignal(panel.catalog_opened, timeout=TIMEOUT):
        retry[0].trigger()
    with qtbot.waitSignal(panel.jobs.index_state, timeout=TIMEOUT,
                          check_params_cb=lambda s: s == "finished"):
        pass
    assert panel.jobs.store.quarantine() == []
    assert panel.jobs.store.item_by_path("shoes/broken.png") is not None


def test_keyword_search_works_with_no_catalog_model(qtbot, tmp_path, home_dir):
    """With no model that can make vectors the panel says keyword search is all there is:
    then keyword search must find items by their words, without waiting for any model."""
    store, _paths = make_store(tmp_path, "image,title,category,price\n"
                               "cameras/camera_02.png,Pocket zoom camera,Cameras,120\n", n_per=3)
    client = InferenceClient()  # no model loaded, none on its way
    panel = CatalogPanel(client, store=store, open_demo=False)
    qtbot.addWidget(panel)
    try:
        panel.show_no_embedder("No installed model can find similar images.")
        panel.search_box.setText("zoom")
        with qtbot.waitSignal(panel.results_shown, timeout=TIMEOUT) as shown:
            qtbot.keyClick(panel.search_box, Qt.Key.Key_Return)
        assert shown.args[0] >= 1
        assert panel.model.entry(0).item.title == "Pocket zoom camera"
        assert panel.model.entry(0).score is None  # found by its words, no vector
        assert "failed" not in panel.status.text()
    finally:
        panel.shutdown()
        assert client.shutdown(TIMEOUT)


def test_the_catalogs_category_for_the_image_reaches_the_caption(qtbot, tmp_path, home_dir):
    from vlm_desktop.ui.caption_panel import CaptionPanel

    store, paths = make_store(tmp_path, "image,title,category\n", n_per=12)
    client = InferenceClient()
    with qtbot.waitSignal(client.role(EMBED).ready, timeout=TIMEOUT):
        client.load_engine(lambda device: FakeEngine(), "cpu", "fake", EMBED)
    panel = CatalogPanel(client, store=store, open_demo=False)
    caption = CaptionPanel()
    qtbot.addWidget(panel)
    qtbot.addWidget(caption)
    panel.category_guessed.connect(caption.show_catalog_category)
    try:
        with qtbot.waitSignal(panel.category_guessed, timeout=TIMEOUT,
                              check_params_cb=lambda g: g is not None) as guessed:
            panel.show_similar_to(near_duplicate(Image.open(paths["shoe_02"])))
        assert guessed.args[0].category == "Shoes"
        assert caption.catalog_category.text().startswith("In this catalog: Shoes (")
        assert "of 10 closest items" in caption.catalog_category.text()
        assert not caption.catalog_category.isHidden()
        # Another image: the old name goes at once (before its own search answers).
        with qtbot.waitSignal(panel.category_guessed, timeout=TIMEOUT,
                              check_params_cb=lambda g: g is None):
            panel.show_similar_to(Image.new("RGB", (40, 40), (10, 200, 30)))
        assert caption.catalog_category.isHidden()
    finally:
        panel.shutdown()
        assert client.shutdown(TIMEOUT)
