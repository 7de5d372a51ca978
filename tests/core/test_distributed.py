"""Catalogs beyond one machine: shards planned, embedded, resumed and ingested.

The fast tests run the shard path without Ray (the FakeEngine, in process); the slow ones run
the real pipeline on a local Ray with 2 CPUs and the built-in model, and compare the
vectors with the desktop's own indexer.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _catalog_helpers import make_catalog

from vlm_desktop.core.catalog import shards
from vlm_desktop.core.catalog.distributed import embed_shard
from vlm_desktop.core.catalog.importer import import_folder
from vlm_desktop.core.catalog.indexer import Indexer, model_key, visual_key
from vlm_desktop.core.catalog.store import CatalogStore
from vlm_desktop.core.engine.fake import FakeEngine

ROOT = Path(__file__).resolve().parents[2]


def _source(tmp_path: Path, n_per: int = 6) -> Path:
    src = tmp_path / "src"
    make_catalog(src, n_per=n_per)
    (src / "shoes" / "broken.jpg").write_bytes(b"\xff\xd8\xff")  # three bytes of a JPEG
    return src


def _embed_all(src: Path, out: Path, engine, shard_size: int = 4) -> shards.Plan:
    out.mkdir(exist_ok=True)
    plan = shards.plan(src, shard_size=shard_size)
    for task in plan.pending(out):
        embed_shard(engine, out, Path(plan.source), task)
    key = model_key(engine)
    name, _, version = key.rpartition("@")
    shards.write_manifest(out, plan, name, version)
    return plan


def _desktop_vectors(tmp_path: Path, src: Path, engine) -> dict[str, dict[str, np.ndarray]]:
    store = CatalogStore(tmp_path / "desktop.db")
    import_folder(store, src)
    Indexer(store).run(engine)
    return _vectors_by_path(store, model_key(engine))


def _vectors_by_path(store: CatalogStore, key: str) -> dict[str, dict[str, np.ndarray]]:
    out: dict[str, dict[str, np.ndarray]] = {}
    for space, k in (("joint", key), ("visual", visual_key(key))):
        ids, vecs = store.load_embeddings(k)
        items = store.items(ids.tolist())
        out[space] = {items[int(i)].path: v for i, v in zip(ids, vecs)}
    return out


def test_ingested_shards_equal_the_desktop_index_and_quarantine_the_broken_file(tmp_path):
    src = _source(tmp_path)
    engine = FakeEngine()
    _embed_all(src, tmp_path / "shards", engine)
    store = CatalogStore(tmp_path / "c.db")
    report = shards.ingest(store, tmp_path / "shards", expected_model=model_key(engine))
    assert (report.items, report.quarantined) == (12, 1)
    assert [q.path for q in store.quarantine()] == ["shoes/broken.jpg"]
    got = _vectors_by_path(store, model_key(engine))
    want = _desktop_vectors(tmp_path, src, engine)
    assert set(got["joint"]) == set(want["joint"]) and len(got["joint"]) == 12
    for path, v in want["joint"].items():
        np.testing.assert_array_equal(got["joint"][path], v)
    assert store.item_by_path("shoes/shoe_01.png").category == "Shoes"
    assert store.root == src.resolve()


def test_ingest_twice_updates_and_never_doubles(tmp_path):
    src = _source(tmp_path)
    engine = FakeEngine()
    _embed_all(src, tmp_path / "shards", engine)
    store = CatalogStore(tmp_path / "c.db")
    for _ in range(2):
        shards.ingest(store, tmp_path / "shards")
    assert store.stats().items == 12
    assert store.embedding_count(model_key(engine)) == 12


def test_a_rerun_embeds_only_missing_or_changed_shards(tmp_path):
    src = _source(tmp_path)
    out = tmp_path / "shards"
    plan = _embed_all(src, out, FakeEngine())
    assert len(plan.tasks) == 4 and plan.pending(out) == []
    first = sorted(p.name for p in out.glob("part-*.parquet"))
    (out / first[0]).unlink()  # as if the run had been killed before this one was written
    again = shards.plan(src, shard_size=4)
    assert [t.name for t in again.pending(out)] == [first[0]]

    # A changed file renames its shard: the old one is dropped, only that one is redone.
    victim = sorted(src.rglob("*.png"))[-1]
    victim.write_bytes(victim.read_bytes() + b"\0")
    changed = shards.plan(src, shard_size=4)
    assert shards.drop_stale(out, changed) == [first[-1]]
    assert len(changed.pending(out)) == 2


def test_ingest_refuses_another_model_before_writing_anything(tmp_path):
    src = _source(tmp_path)
    _embed_all(src, tmp_path / "shards", FakeEngine())
    store = CatalogStore(tmp_path / "c.db")
    with pytest.raises(shards.ShardError, match="searches with another@1"):
        shards.ingest(store, tmp_path / "shards", expected_model="another@1")
    assert store.stats().items == 0


def test_ingest_of_an_unfinished_run_says_what_is_missing(tmp_path):
    src = _source(tmp_path)
    out = tmp_path / "shards"
    _embed_all(src, out, FakeEngine())
    store = CatalogStore(tmp_path / "c.db")
    next(out.glob("part-*.parquet")).unlink()
    with pytest.raises(shards.ShardError, match="1 of 4 shards are missing"):
        shards.ingest(store, out)
    (out / shards.MANIFEST).unlink()
    with pytest.raises(shards.ShardError, match="did not finish"):
        shards.ingest(store, out)
    assert store.stats().items == 0


def test_a_damaged_shard_names_itself(tmp_path):
    src = _source(tmp_path)
    out = tmp_path / "shards"
    _embed_all(src, out, FakeEngine())
    victim = sorted(out.glob("part-*.parquet"))[1]
    victim.write_bytes(b"PAR1 not really")
    with pytest.raises(shards.ShardError, match=victim.name):
        shards.ingest(CatalogStore(tmp_path / "c.db"), out)


# --- the real pipeline on Ray ---------------------------------------------------------------


def _cli(*args: str, env: dict[str, str], **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "vlm_desktop", "catalog", *args],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kw)


@pytest.mark.slow
def test_ray_run_killed_resumes_and_matches_the_desktop(tmp_path, home_dir):
    src = tmp_path / "src"
    make_catalog(src, n_per=16)  # 32 images, 4 shards of 8
    out = tmp_path / "shards"
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "VLM_DESKTOP_HOME": str(home_dir)}
    args = ("embed-distributed", str(src), "--out", str(out), "--shard-size", "8",
            "--workers", "2", "--json")

    run = _cli(*args, env=env, start_new_session=True)
    deadline = time.monotonic() + 240
    while not list(out.glob("part-*.parquet")) and time.monotonic() < deadline:
        assert run.poll() is None, run.communicate()[1][-2000:]
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGKILL)  # the driver and the Ray it started
    run.communicate()
    written = len(list(out.glob("part-*.parquet")))
    assert 1 <= written and not (out / shards.MANIFEST).exists()

    again = _cli(*args, env=env)
    stdout, stderr = again.communicate(timeout=400)
    assert again.returncode == 0, stderr[-2000:]
    result = json.loads(stdout.strip().splitlines()[-1])
    assert result["skipped"] >= written and result["total"] == 32

    ingest = _cli("ingest", str(out), "--catalog", str(tmp_path / "c.db"), "--json", env=env)
    stdout, stderr = ingest.communicate(timeout=300)
    assert ingest.returncode == 0, stderr[-2000:]
    assert json.loads(stdout)["total_items"] == 32  # nothing doubled by the resumed run

    from vlm_desktop.core.device import choose_device
    from vlm_desktop.core.engine.lite.engine import LiteEngine

    engine = LiteEngine.load(choose_device("cpu"))
    got = _vectors_by_path(CatalogStore(tmp_path / "c.db"), model_key(engine))
    want = _desktop_vectors(tmp_path, src, engine)
    for space in ("joint", "visual"):
        assert set(got[space]) == set(want[space]) and len(got[space]) == 32
        cos = [float(got[space][p] @ want[space][p]
                     / np.linalg.norm(got[space][p]) / np.linalg.norm(want[space][p]))
               for p in want[space]]
        assert min(cos) > 0.9999, space
