"""`vlm-desktop catalog …` commands: JSON keys and behaviour (FakeEngine injected)."""

from __future__ import annotations

import json

from _catalog_helpers import make_catalog, near_duplicate
from PIL import Image

from vlm_desktop import cli, cli_catalog
from vlm_desktop.core.engine.fake import FakeEngine



def test_import_stats_search_recommend_quarantine(run, tmp_path):
    root = tmp_path / "cat"
    paths = make_catalog(root, n_per=4)
    (root / "shoes" / "bad.jpg").write_bytes(b"garbage")
    meta = tmp_path / "m.csv"
    meta.write_text("image,title,category,price\nshoes/shoe_01.png,Trail runner,Shoes,59\n"
                    "shoes/nope.png,X,Shoes,1\n")
    db = str(tmp_path / "c.db")

    code, out, err = run("import", str(root), "--metadata", str(meta), "--catalog", db)
    assert code == 0 and out[0]["added"] == 9 and out[0]["items"] == 8
    assert out[0]["problems"][0]["row"] == 3 and "Indexed" in err

    code, out, _ = run("stats", "--catalog", db)
    assert {k: out[0][k] for k in ("items", "indexed", "quarantined")} == {
        "items": 8, "indexed": 8, "quarantined": 1}

    code, out, _ = run("search", "--catalog", db, "--text", "trail", "--mode", "keyword")
    assert out[0]["query"] == {"text": "trail"}
    assert out[0]["results"][0]["title"] == "Trail runner"
    assert set(out[0]["results"][0]) == {"id", "title", "path", "category", "price", "score"}

    dup = tmp_path / "dup.png"
    near_duplicate(Image.open(paths["camera_02"])).save(dup)
    queries = tmp_path / "q.jsonl"
    queries.write_text(json.dumps({"image": str(dup)}) + "\n" + json.dumps({"text": "shoe"})
                       + "\n")
    code, out, _ = run("search", "--catalog", db, "--queries", str(queries), "--k", "3",
                       "--category", "Cameras")
    assert [o["query"] for o in out] == [{"image": str(dup)}, {"text": "shoe"}]
    assert out[0]["results"][0]["path"].endswith("camera_02.png")
    assert all(r["category"] == "Cameras" for o in out for r in o["results"])

    hist = tmp_path / "h.csv"
    hist.write_text("image,timestamp,quantity\nshoes/shoe_00.png,2024-01-01,1\n"
                    "cameras/camera_00.png,2024-02-01,1\n")
    code, out, _ = run("recommend", "--catalog", db, "--history", str(hist), "--k", "4")
    assert len(out) == 4 and all(r["because"] and r["reason"] for r in out)
    assert not {"shoe_00.png", "camera_00.png"} & {r["path"].rsplit("/", 1)[1] for r in out}

    code, out, _ = run("quarantine", "--catalog", db)
    assert [o["path"] for o in out] == ["shoes/bad.jpg"] and out[0]["reason"]


def test_missing_catalog_is_a_clear_error(run, tmp_path):
    code, out, err = run("stats", "--catalog", str(tmp_path / "none.db"))
    assert code != 0 and "catalog import" in err


def test_searching_with_a_model_that_indexed_nothing_says_how_to_index(run, monkeypatch,
                                                                       tmp_path):
    root = tmp_path / "cat"
    make_catalog(root, n_per=2)
    db = str(tmp_path / "c.db")
    assert run("import", str(root), "--catalog", db)[0] == 0  # vectors from the fake engine
    code, out, err = run("search", "--catalog", db, "--text", "shoe")
    assert code == 0 and "note:" not in err
    other = FakeEngine(name="another-model")
    monkeypatch.setattr(cli_catalog, "_open_engine", lambda args: other)
    code, out, err = run("search", "--catalog", db, "--text", "shoe")
    assert code == 0 and "no item of this catalog has vectors from another-model" in err
    assert "--model another-model" in err


def test_catalog_demo_names_the_shipped_demo_catalog(run, home_dir):
    # A new user types what the README says; the demo catalog is found, not "No catalog at demo".
    code, out, err = run("search", "--catalog", "demo", "--text", "red car", "--mode", "keyword")
    assert code == 0
    assert out[0]["results"] and "car" in out[0]["results"][0]["title"].lower()
    code, out, _ = run("stats", "--catalog", "demo")
    assert out[0]["items"] > 100 and str(home_dir) in out[0]["catalog"]


def test_unindexed_hint_is_a_command_that_runs(run, home_dir):
    _code, _out, err = run("search", "--catalog", "demo", "--text", "red car")
    hint = err.split("index it with: ", 1)[1].strip()
    assert hint.startswith("vlm-desktop catalog import ") and "--catalog demo" in hint
    assert "FOLDER" not in hint and "--model VLM Lite" not in hint


def test_missing_catalog_error_points_at_the_demo_catalog(run, tmp_path):
    code, _out, err = run("stats", "--catalog", str(tmp_path / "nope.db"))
    assert code != 0 and "No catalog at" in err and "--catalog demo" in err
    assert "unexpected" not in err.lower()


def test_help_says_how_to_open_a_picture(capsys):
    assert cli.main(["--help"]) == 0
    assert "vlm-desktop photo.jpg" in capsys.readouterr().out
