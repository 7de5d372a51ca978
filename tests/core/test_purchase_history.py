"""The purchase history says where it came from, and clearing it forgets it for good
(issue #18, item 3)."""

from __future__ import annotations

from pathlib import Path

from _catalog_helpers import make_store

from vlm_desktop.core.catalog.history import MARKED, history_summary
from vlm_desktop.core.catalog.recommend import import_history, mark_bought
from vlm_desktop.core.catalog.session import CatalogSession
from vlm_desktop.core.engine.fake import FakeEngine


def test_the_history_names_its_file_and_the_purchases_marked_in_the_app(tmp_path: Path):
    store, _ = make_store(tmp_path, "image,title\n")
    hist = tmp_path / "orders_2025.csv"
    hist.write_text("image,timestamp,quantity\nshoes/shoe_00.png,2025-01-02,1\n"
                    "cameras/camera_01.png,2025-02-03,2\n")
    import_history(store, hist)
    mark_bought(store, store.item_by_path("shoes/shoe_03.png").id)
    summary = history_summary(store)
    assert summary.purchases == 3 and summary.unknown == 0
    assert [(s.name, s.purchases) for s in summary.sources] == [("orders_2025.csv", 2),
                                                                 (MARKED, 1)]


def test_clearing_the_history_empties_the_store_and_the_recommendations(tmp_path: Path):
    store, _ = make_store(tmp_path, "image,title\n")
    session = CatalogSession(store)
    engine = FakeEngine()
    try:
        mark_bought(store, store.item_by_path("shoes/shoe_00.png").id)
        assert session.recommendations(engine, 4).items
        assert session.clear_history() == 1
        assert store.purchases() == [] and store.stats().purchases == 0
        recs = session.recommendations(engine, 4)
        assert recs.items == () and recs.purchases == 0 and recs.history.sources == ()
    finally:
        session.close()


def test_a_cleared_demo_history_does_not_come_back_when_the_demo_reopens(home_dir):
    from vlm_desktop.core.catalog.demo import is_demo_catalog, open_demo_catalog

    store, _ = open_demo_catalog()
    assert is_demo_catalog(store.path)
    summary = history_summary(store)
    assert summary.purchases == 5
    assert [(s.name, s.purchases) for s in summary.sources] == [("demo_history.csv", 5)]
    CatalogSession(store).clear_history()
    again, _ = open_demo_catalog()
    assert again.stats().purchases == 0 and history_summary(again).sources == ()
