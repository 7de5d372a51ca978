"""Catalog import: messy metadata, file-name titles, incremental re-import, schema."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest
from _catalog_helpers import COOL, WARM, make_catalog, make_image

from vlm_desktop.core.catalog.importer import import_folder
from vlm_desktop.core.catalog.metadata import (
    MetadataError,
    parse_price,
    read_metadata,
    title_from_filename,
)
from vlm_desktop.core.catalog.schema import SCHEMA_VERSION
from vlm_desktop.core.catalog.store import CatalogError, CatalogStore


def test_title_from_file_name():
    assert title_from_filename("red_running-shoe_02.jpg") == "Red running shoe 02"
    assert title_from_filename("dir/Blue.Camera.png") == "Blue Camera"


@pytest.mark.parametrize("text, expected", [
    ("12.50", (12.5, "")), ("$1,299.00", (1299.0, "USD")), ("12,50 €", (12.5, "EUR")),
    ("abc", None), ("", None), ("-3", None),
])
def test_parse_price(text, expected):
    assert parse_price(text) == expected


def test_messy_csv_reports_bad_rows_and_imports_the_rest(tmp_path):
    root = tmp_path / "cat"
    make_catalog(root, n_per=3)
    csv_bytes = (
        "file,name,category,price,tags,sku\n"                       # row 1: aliased header
        "shoes/shoe_00.png,Red trainer,Shoes,49.90,red;running,S-0\n"  # 2 ok
        "shoes/shoe_01.png,=HYPERLINK(\"x\"),Shoes,10,,S-1\n"       # 3 formula
        "shoes/missing.png,Ghost,Shoes,5,,S-2\n"                    # 4 missing image
        "cameras/camera_00.png,Camera,Cameras,ten,,C-0\n"           # 5 bad price
    ).encode() + "cameras/camera_01.png,Caf\xe9,Cameras,3,,C-1\n".encode("latin-1")  # 6 bytes
    meta = tmp_path / "meta.csv"
    meta.write_bytes(csv_bytes)

    report = read_metadata(meta, root)
    problems = {p.row: p.reason for p in report.problems}
    assert set(problems) == {3, 4, 5, 6}
    assert "formula" in problems[3]
    assert "not found" in problems[4]
    assert "not a number" in problems[5]
    assert "undecodable" in problems[6]
    assert list(report.rows) == ["shoes/shoe_00.png"]

    store = CatalogStore(tmp_path / "c.db")
    result = import_folder(store, root, metadata=meta)
    assert result.added == 6 and len(result.problems) == 4
    trainer = store.item_by_path("shoes/shoe_00.png")
    assert (trainer.title, trainer.category, trainer.price, trainer.tags, trainer.external_id) == (
        "Red trainer", "Shoes", 49.9, ("red", "running"), "S-0")
    # Rows refused in the metadata still import their image, titled from the file name.
    assert store.item_by_path("shoes/shoe_01.png").title == "Shoe 01"


def test_json_lines_and_column_mapping(tmp_path):
    root = tmp_path / "cat"
    make_catalog(root, n_per=2)
    meta = tmp_path / "meta.jsonl"
    meta.write_text(
        json.dumps({"pic": "shoes/shoe_00.png", "label": "Boot", "cost": "20"}) + "\n"
        + "{not json\n"
        + json.dumps({"pic": "cameras/camera_00.png", "label": "Lens", "cost": 99,
                      "tags": ["glass", "zoom"]}) + "\n")
    report = read_metadata(meta, root, {"image": "pic", "title": "label"})
    assert [p.row for p in report.problems] == [2]
    assert report.rows["cameras/camera_00.png"].tags == ("glass", "zoom")
    assert report.rows["shoes/shoe_00.png"].price == 20.0


def test_json_array_and_unreadable_json(tmp_path):
    root = tmp_path / "cat"
    make_catalog(root, n_per=1)
    good = tmp_path / "m.json"
    good.write_text(json.dumps({"items": [{"image": "shoes/shoe_00.png", "title": "A"}, 3]}))
    report = read_metadata(good, root)
    assert report.rows["shoes/shoe_00.png"].title == "A"
    assert [(p.row, p.reason) for p in report.problems] == [(2, "not an object")]
    bad = tmp_path / "b.json"
    bad.write_text("[{")
    with pytest.raises(MetadataError):
        read_metadata(bad, root)


def test_incremental_reimport(tmp_path):
    root = tmp_path / "cat"
    paths = make_catalog(root, n_per=3)
    store = CatalogStore(tmp_path / "c.db")
    first = import_folder(store, root)
    assert (first.added, first.removed) == (6, 0)
    ids_before = {it.path: it.id for it in store.all_items()}
    hash_before = store.item_by_path("shoes/shoe_01.png").content_hash

    make_image(77, WARM).save(root / "shoes" / "shoe_new.png")          # added
    make_image(78, COOL).save(paths["shoe_01"])                        # changed content
    st = paths["shoe_01"].stat()
    os.utime(paths["shoe_01"], (st.st_atime, st.st_mtime + 5))
    paths["camera_02"].unlink()                                        # deleted

    second = import_folder(store, root)
    assert (second.added, second.updated, second.removed, second.unchanged) == (1, 1, 1, 4)
    after = {it.path: it.id for it in store.all_items()}
    assert "cameras/camera_02.png" not in after and "shoes/shoe_new.png" in after
    assert after["shoes/shoe_00.png"] == ids_before["shoes/shoe_00.png"]  # ids are stable
    assert store.item_by_path("shoes/shoe_01.png").content_hash != hash_before
    third = import_folder(store, root)
    assert (third.added, third.updated, third.removed) == (0, 0, 0)


def test_schema_is_versioned_and_fts_stays_in_sync(tmp_path):
    root = tmp_path / "cat"
    make_catalog(root, n_per=2)
    store = CatalogStore(tmp_path / "c.db")
    import_folder(store, root)
    assert store.schema_version == SCHEMA_VERSION
    assert store.conn().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [i for i, _ in store.keyword_search("camera")]
    with store.write() as c:
        c.execute("UPDATE items SET title='Zebra lamp' WHERE path='shoes/shoe_00.png'")
    assert [store.item(i).title for i, _ in store.keyword_search("zebra")] == ["Zebra lamp"]
    store.close()
    reopened = CatalogStore(tmp_path / "c.db")  # migrations do not run twice
    assert reopened.stats().items == 4


def test_newer_or_foreign_database_is_refused(tmp_path):
    newer = tmp_path / "newer.db"
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(CatalogError, match="newer version"):
        CatalogStore(newer)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CatalogError):
        CatalogStore(junk)


def test_demo_catalog_opens_with_titles_categories_and_history(home_dir):
    from vlm_desktop.core.catalog.demo import open_demo_catalog

    store, report = open_demo_catalog()
    stats = store.stats()
    assert 250 <= stats.items <= 320 and not report.problems
    assert stats.purchases == 5 and len(store.categories()) == 8
    assert all(it.title and it.price and it.category for it in store.all_items())
    assert store.path.parent.name == "catalogs" and store.path.is_relative_to(home_dir)
    again, second = open_demo_catalog()  # re-opening adds nothing and keeps the history
    assert second.added == 0 and again.stats().purchases == 5
