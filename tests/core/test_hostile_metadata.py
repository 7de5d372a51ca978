"""Issue #11, rows 7, 8 and 11: a hostile metadata or history file costs its bad rows, named
by number, never the whole import; non-finite numbers are refused; a missing history file
is a plain error naming it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from _catalog_helpers import make_catalog

from vlm_desktop import cli, cli_catalog
from vlm_desktop.core.catalog.importer import import_folder
from vlm_desktop.core.catalog.metadata import MetadataError, read_metadata
from vlm_desktop.core.catalog.recommend import read_history
from vlm_desktop.core.catalog.store import CatalogStore
from vlm_desktop.core.engine.fake import FakeEngine

DEEP = "[" * 10_000 + "]" * 10_000


@pytest.fixture()
def root(tmp_path) -> Path:
    root = tmp_path / "cat"
    make_catalog(root, n_per=2)  # shoes/shoe_00.png, shoes/shoe_01.png, cameras/camera_0x.png
    return root


def _read(tmp_path: Path, root: Path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    report = read_metadata(path, root)
    titles = {image: row.title for image, row in report.rows.items()}
    return titles, {p.row: p.reason for p in report.problems}


# --- row 7: oversized cells and deep nesting -----------------------------------------------


def test_a_10_mb_csv_cell_costs_its_row_only(tmp_path, root):
    titles, problems = _read(tmp_path, root, "m.csv",
                             "image,title\nshoes/shoe_00.png," + "x" * (10 << 20)
                             + "\nshoes/shoe_01.png,Runner\ncameras/camera_00.png,Cam\n")
    assert titles == {"shoes/shoe_01.png": "Runner", "cameras/camera_00.png": "Cam"}
    assert list(problems) == [2] and "larger than the 128 KB allowed" in problems[2]


def test_a_10_mb_json_cell_costs_its_row_only(tmp_path, root):
    items = [{"image": "shoes/shoe_00.png", "title": "x" * (10 << 20)},
             {"image": "shoes/shoe_01.png", "title": "Runner"}]
    titles, problems = _read(tmp_path, root, "m.json", json.dumps(items))
    assert titles == {"shoes/shoe_01.png": "Runner"}
    assert list(problems) == [1] and "10.5 MB of text" in problems[1]


@pytest.mark.parametrize("wrapped", [False, True])
def test_json_nested_10000_deep_costs_its_element_only(tmp_path, root, wrapped):
    body = ('[{"image": "shoes/shoe_00.png", "title": "Red shoe"}, ' + DEEP
            + ', {"image": "shoes/shoe_01.png", "title": "odd ] title"}]')
    text = '{"meta": {"v": [1, [2]]}, "items": ' + body + "}" if wrapped else body
    titles, problems = _read(tmp_path, root, "m.json", text)
    assert titles == {"shoes/shoe_00.png": "Red shoe", "shoes/shoe_01.png": "odd ] title"}
    assert problems == {2: "nested more than 32 levels deep"}


def test_a_jsonl_line_nested_10000_deep_costs_its_line_only(tmp_path, root):
    text = ('{"image": "shoes/shoe_00.png", "title": "Red shoe"}\n'
            + DEEP + "\n"
            + '{"image": "shoes/shoe_01.png", "title": ' + DEEP + "}\n"
            + '{"image": "cameras/camera_00.png", "title": "Cam", "tags": ["a", "b"]}\n')
    titles, problems = _read(tmp_path, root, "m.jsonl", text)
    assert titles == {"shoes/shoe_00.png": "Red shoe", "cameras/camera_00.png": "Cam"}
    assert set(problems) == {2, 3} and all("nested" in r for r in problems.values())


def test_a_nested_value_in_a_field_is_refused_not_printed(tmp_path, root):
    text = ('{"image": "shoes/shoe_00.png", "title": {"a": [1, 2]}}\n'
            '{"image": "shoes/shoe_01.png", "title": "Runner"}\n')
    titles, problems = _read(tmp_path, root, "m.jsonl", text)
    assert titles == {"shoes/shoe_01.png": "Runner"}
    assert "'title' holds a nested JSON value" in problems[1]


# --- row 8: an unterminated quote ----------------------------------------------------------


def test_an_unterminated_quote_is_reported_and_the_next_rows_still_import(tmp_path, root):
    text = ('image,title,price\n'
            'shoes/shoe_00.png,"Red shoe,10\n'
            'shoes/shoe_01.png,Runner,20\n'
            'cameras/camera_00.png,Cam,30\n')
    titles, problems = _read(tmp_path, root, "m.csv", text)
    assert titles == {"shoes/shoe_01.png": "Runner", "cameras/camera_00.png": "Cam"}
    assert list(problems) == [2] and "quote that opens 'title' is never closed" in problems[2]


def test_a_quoted_cell_over_several_lines_is_still_one_cell(tmp_path, root):
    # The legitimate case beside it: a description with a line break (and commas) in it.
    text = ('image,title,price\n'
            'shoes/shoe_00.png,"Red shoe,\nlight, cheap, comfy",10\n'
            'shoes/shoe_01.png,Runner,20\n')
    titles, problems = _read(tmp_path, root, "m.csv", text)
    assert titles == {"shoes/shoe_00.png": "Red shoe,\nlight, cheap, comfy",
                      "shoes/shoe_01.png": "Runner"}
    assert problems == {}


# --- non-finite numbers, duplicate ids, files that are not files -----------------------------


def test_non_finite_prices_are_refused_per_row(tmp_path, root):
    text = ('[{"image": "shoes/shoe_00.png", "price": NaN},'
            ' {"image": "shoes/shoe_01.png", "price": Infinity},'
            ' {"image": "cameras/camera_00.png", "price": 1e400},'
            ' {"image": "cameras/camera_01.png", "price": 12.5}]')
    path = tmp_path / "m.json"
    path.write_text(text)
    report = read_metadata(path, root)
    assert {i: r.price for i, r in report.rows.items()} == {"cameras/camera_01.png": 12.5}
    assert [p.row for p in report.problems] == [1, 2, 3]


def test_duplicate_ids_are_reported(tmp_path, root):
    text = ("image,title,id\nshoes/shoe_00.png,Red,SKU-1\nshoes/shoe_01.png,Runner,SKU-1\n"
            "cameras/camera_00.png,Cam,SKU-2\n")
    path = tmp_path / "m.csv"
    path.write_text(text)
    report = read_metadata(path, root)
    assert {i: r.id for i, r in report.rows.items()} == {
        "shoes/shoe_00.png": "SKU-1", "shoes/shoe_01.png": "", "cameras/camera_00.png": "SKU-2"}
    assert [(p.row, p.reason) for p in report.problems] == [
        (3, "id 'SKU-1' is already row 2's; imported without the id")]


@pytest.mark.timeout(60)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_as_metadata_is_refused_without_hanging(tmp_path, root):
    pipe = tmp_path / "m.csv"
    os.mkfifo(pipe)
    with pytest.raises(MetadataError, match="not a regular file"):
        read_metadata(pipe, root)


def test_the_catalog_import_goes_on_past_the_bad_rows(tmp_path, root):
    meta = tmp_path / "m.jsonl"
    meta.write_text('{"image": "shoes/shoe_00.png", "title": "Red shoe"}\n' + DEEP + "\n")
    store = CatalogStore(tmp_path / "c.db")
    report = import_folder(store, root, metadata=meta)
    assert report.added == 4 and [p.row for p in report.problems] == [2]
    assert store.item_by_path("shoes/shoe_00.png").title == "Red shoe"


# --- row 11: the purchase history ----------------------------------------------------------


@pytest.fixture()
def store(tmp_path, root) -> CatalogStore:
    store = CatalogStore(tmp_path / "c.db")
    import_folder(store, root)
    return store


@pytest.mark.parametrize("stamp", ["nan", "inf", "-inf", "1e308", "-5", "9999999999999"])
def test_non_finite_and_impossible_timestamps_are_refused(tmp_path, store, stamp):
    hist = tmp_path / "h.csv"
    hist.write_text("image,timestamp\nshoes/shoe_00.png," + stamp
                    + "\ncameras/camera_00.png,2024-05-01\n")
    purchases, report = read_history(store, hist)
    assert [p.item_id for p in purchases] == [store.item_by_path("cameras/camera_00.png").id]
    assert [p.row for p in report.problems] == [2]
    assert stamp in report.problems[0].reason


def test_history_rows_that_once_broke_the_reader_are_reported(tmp_path, store):
    hist = tmp_path / "h.csv"
    hist.write_text("image,timestamp,quantity\n"
                    "shoes/shoe_00.png,2024-01-01,1,extra\n"              # more cells than columns
                    "shoes/shoe_01.png," + "9" * 200_000 + ",1\n"          # a 200 KB cell
                    "shoes/shoe_01.png,2024-01-02,99999999999999999999\n"  # beyond SQLite's ints
                    'cameras/camera_00.png,"2024-01-03,1\n'                # a quote left open
                    "cameras/camera_01.png,2024-01-04,2\n")
    purchases, report = read_history(store, hist)
    assert [(p.item_id, p.quantity) for p in purchases] == [
        (store.item_by_path("cameras/camera_01.png").id, 2)]
    assert [p.row for p in report.problems] == [2, 3, 4, 5]


@pytest.fixture()
def run(monkeypatch, capsys):
    monkeypatch.setattr(cli_catalog, "_open_engine", lambda args: FakeEngine())

    def run_cli(*argv: str) -> tuple[int, str]:
        code = cli.main(["catalog", *argv])
        out, err = capsys.readouterr()
        return code, err

    return run_cli


def test_a_missing_history_file_is_a_clear_error_naming_it(run, tmp_path, root):
    db = str(tmp_path / "c.db")
    assert run("import", str(root), "--catalog", db, "--no-index")[0] == 0
    missing = tmp_path / "orders.csv"
    code, err = run("recommend", "--catalog", db, "--history", str(missing))
    assert code != 0 and "unexpected" not in err.lower()
    assert f"The history file {missing} does not exist." in err
    code, err = run("recommend", "--catalog", db, "--history", str(tmp_path))
    assert code != 0 and "is a folder" in err and "unexpected" not in err.lower()
