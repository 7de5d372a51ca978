"""Adapting the built-in model to a catalog: it must help on held-out items, switch only
when complete, revert exactly, survive a kill, and train the same under DDP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from vlm_desktop.core.cancel import Cancelled, JobState
from vlm_desktop.core.catalog import adapt, adapt_store
from vlm_desktop.core.catalog.indexer import model_key
from vlm_desktop.core.catalog.search import CatalogSearch
from vlm_desktop.core.engine.lite.projection import Projection

sys.path.insert(0, str(Path(__file__).parent))
from _adapt_helpers import MiniLite, item_image, make_catalog  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
# Small catalogs take one batch an epoch at the default size; smaller batches give the
# 96 training items of the mini catalog several steps an epoch.
MINI = adapt.AdaptConfig(batch=16, lr=1e-2)


@pytest.fixture()
def catalog(tmp_path):
    store, engine = make_catalog(tmp_path)
    yield store, engine
    store.close()


def searched_vectors(store, engine):
    """(ids, vectors) of the joint space text search uses for this catalog and engine."""
    bound = adapt_store.bind_engine(store, engine)
    return store.load_embeddings(CatalogSearch.for_engine(store, bound).index.model)


def test_held_out_split_is_stratified_by_category_and_seeded():
    cats = ["a"] * 50 + ["b"] * 30 + ["c"] * 10 + ["d"]
    held = adapt.split(cats, 0.2, 1000, seed=3)
    counts = {c: int(sum(h for h, x in zip(held, cats) if x == c)) for c in "abcd"}
    assert counts == {"a": 10, "b": 6, "c": 2, "d": 0}  # a lone item always trains
    assert np.array_equal(held, adapt.split(cats, 0.2, 1000, seed=3))
    assert not np.array_equal(held, adapt.split(cats, 0.2, 1000, seed=4))
    assert adapt.split(cats, 0.2, 10, seed=3).sum() <= 12  # capped


def test_chance_of_unique_titles_is_k_over_n():
    n = 40
    held = adapt.HeldOut(np.zeros((n, 3)), np.zeros((n, 3)), np.zeros((n, 2)), np.arange(n),
                         np.array(["x", "y"] * (n // 2)))
    c = adapt.chance(held)
    assert c["t2i_r1"] == pytest.approx(1 / n) and c["t2i_r10"] == pytest.approx(10 / n)
    assert c["i2i_p5"] == pytest.approx(19 / 39)


def test_adapting_improves_held_out_recall_and_switches_the_catalog(catalog):
    store, engine = catalog
    base_key = model_key(engine)
    report = adapt.adapt_catalog(store, engine, MINI)
    assert report.after["t2i_r10"] > report.before["t2i_r10"] + 0.15
    assert report.after["t2i_r10"] > report.chance["t2i_r10"] + 0.15
    assert report.held_out == 24 and report.trained == 96 and report.best_epoch >= 1
    assert report.variant and adapt_store.active_variant(store) == report.variant
    bound = adapt_store.bind_engine(store, engine)
    assert model_key(bound) == f"{base_key}+{report.variant}"
    assert store.embedding_count(model_key(bound)) == store.stats().items == 120
    assert store.embedding_count(model_key(bound) + "#visual") == 120
    # The adapter file says what it is tied to and how it measured.
    saved = Projection.load(adapt_store.adapter_path(store, report.variant)).meta["adapter"]
    assert saved["catalog_id"] == store.catalog_id and saved["base_key"] == base_key
    assert saved["metrics"]["after"]["t2i_r10"] == pytest.approx(report.after["t2i_r10"], abs=1e-4)
    # The vectors are the adapted projection's: a title now finds its own colour.
    ids, vecs = searched_vectors(store, engine)
    items = store.items(ids.tolist())
    q = bound.embed_texts(["red boot 0"])[0]
    top = [items[int(i)].title.split()[0] for i in ids[np.argsort(-(vecs @ q))[:10]]]
    assert top.count("red") >= 8


def test_revert_restores_the_base_vectors_bit_for_bit(catalog):
    store, engine = catalog
    ids0, before = searched_vectors(store, engine)
    variant = adapt.adapt_catalog(store, engine, MINI).variant
    ids1, adapted = searched_vectors(store, engine)
    assert np.array_equal(ids0, ids1) and not np.allclose(adapted, before)
    assert adapt.revert_catalog(store) == variant
    ids2, after = searched_vectors(store, engine)
    assert np.array_equal(ids0, ids2) and np.array_equal(before.view(np.uint32),
                                                         after.view(np.uint32))
    assert not any(variant in m for m in store.models())
    assert not adapt_store.adapter_path(store, variant).exists()
    assert adapt.revert_catalog(store) == ""  # nothing left to revert


def test_a_cancel_before_the_switch_leaves_the_previous_model(catalog):
    store, engine = catalog
    ids0, before = searched_vectors(store, engine)
    state = JobState()

    def on_progress(fraction: float, message: str) -> None:
        if message.startswith("Writing vectors"):
            state.token.cancel()  # after training, while the new vectors are being written

    state._on_progress = on_progress
    with pytest.raises(Cancelled):
        adapt.adapt_catalog(store, engine, MINI, state)
    assert adapt_store.active_variant(store) == ""
    assert model_key(adapt_store.bind_engine(store, engine)) == model_key(engine)
    ids1, after = searched_vectors(store, engine)
    assert np.array_equal(ids0, ids1) and np.array_equal(before, after)


def test_new_items_are_embedded_with_the_adapted_model(catalog, tmp_path):
    from vlm_desktop.core.catalog.importer import import_folder
    from vlm_desktop.core.catalog.session import CatalogSession

    store, engine = catalog
    report = adapt.adapt_catalog(store, engine, MINI)
    item_image("blue", 999).save(tmp_path / "images" / "zz_new.png")
    import_folder(store, tmp_path / "images")
    new = store.item_by_path("zz_new.png")
    session = CatalogSession(store)  # the window's path: one batch per worker request
    try:
        while session.index_batch(engine, JobState()) is not None:  # handed the base engine
            pass
        bound = adapt_store.bind_engine(store, engine)
        stored = store.embedding(new.id, model_key(bound))
        expected = bound.embed_catalog([item_image("blue", 999)])["joint"][0]
        assert report.variant in model_key(bound)
        assert stored is not None and np.allclose(stored, expected, atol=1e-5)
        assert store.embedding(new.id, model_key(engine)) is None  # the base key was not written
        # A text search scores the new item as the adapted model does.
        hits = session.search(bound).by_text(bound, "blue boot", k=200, mode="vector", cut=False)
        score = {h.item.id: h.similarity for h in hits}[new.id]
        q = bound.embed_texts(["blue boot"])[0]
        assert score == pytest.approx(float(q @ expected), abs=1e-4)
        base_q = engine.embed_texts(["blue boot"])[0]
        base_vec = engine.embed_catalog([item_image("blue", 999)])["joint"][0]
        assert abs(float(q @ expected) - float(base_q @ base_vec)) > 1e-3  # not the base's
    finally:
        session.close()


def _saved_index_files(store, model):
    from vlm_desktop.core.catalog import vector_index as vi

    return sorted(vi.index_dir(store).glob(vi.stem_name(store.catalog_id, model) + ".*"))


def _save_index(store, model):
    from vlm_desktop.core.catalog import vector_index as vi

    index = vi.CatalogIndex(store, model)
    index.get()
    assert index.wait_background(60)
    index.close()
    assert _saved_index_files(store, model), model


def test_index_files_of_replaced_or_reverted_variants_are_removed(catalog, monkeypatch):
    from vlm_desktop.core.catalog import vector_index as vi

    monkeypatch.setattr(vi, "HNSW_THRESHOLD", 10)  # the mini catalog gets a saved graph
    store, engine = catalog
    base = model_key(engine)
    _save_index(store, base)
    first = adapt.adapt_catalog(store, engine, MINI).variant
    key1 = model_key(adapt_store.bind_engine(store, engine))
    _save_index(store, key1)
    _save_index(store, key1 + "#visual")
    # A cancelled run leaves vectors of a variant never switched to.
    state = JobState()
    state._on_progress = lambda f, m: state.token.cancel() if m.startswith("Writing vectors 0") \
        else None
    with pytest.raises(Cancelled):
        adapt.adapt_catalog(store, engine, replace(MINI, seed=5), state)
    assert len(adapt_store.stored_variants(store)) == 2  # its vectors are in the catalog
    second = adapt.adapt_catalog(store, engine, replace(MINI, lr=5e-3)).variant
    key2 = model_key(adapt_store.bind_engine(store, engine))
    assert second != first and adapt_store.active_variant(store) == second
    assert not _saved_index_files(store, key1) and not _saved_index_files(store, key1 + "#visual")
    assert _saved_index_files(store, base)  # the base model's index is kept
    assert sorted(m for m in store.models() if "+adapt-" in m) == [key2, key2 + "#visual"]
    assert sorted(p.name for p in adapt_store.adapt_dir(store).glob("adapter-*")) == \
        [f"adapter-{second}.safetensors"]
    _save_index(store, key2)
    kept = _saved_index_files(store, key2)
    assert adapt.revert_catalog(store) == second
    assert all(not p.exists() for p in kept) and _saved_index_files(store, base)
    assert CatalogSearch.for_engine(store, engine).by_text(engine, "red boot", k=5)


def test_model_steps_then_training_without_the_model_match_one_call(catalog, tmp_path):
    """The window's split: short steps on the model's thread cache what the towers give,
    then training runs no tower and gives what one adapt_catalog call gives."""
    store, engine = catalog
    folder = adapt_store.adapt_dir(store)
    for f in folder.glob("*.npz"):
        f.unlink()  # nothing cached: the steps have to read every image and title
    calls = _count_tower_calls(engine)
    steps, tried = 0, set()
    while not adapt.encode_step(store, engine, JobState(), budget_s=0.0, tried=tried):
        steps += 1
    assert steps > 1 and sum(calls) == 120  # several steps, each image read once

    def no_tower(*_args, **_kw):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("the tower ran off the model's thread")

    engine.image_features = no_tower
    engine.embed_texts = no_tower
    split = adapt.adapt_catalog(store, engine, MINI, apply=False, encode=False)
    del engine.image_features, engine.embed_texts
    whole = adapt.adapt_catalog(store, engine, MINI, apply=False)
    assert split.after == whole.after and split.held_out == whole.held_out == 24


def test_an_adapter_is_used_only_with_the_base_model_it_was_made_from(catalog):
    store, engine = catalog
    adapt.adapt_catalog(store, engine, MINI)
    other = MiniLite()
    other.joint.projection = replace(other.joint.projection, alpha=0.9)  # another base version
    assert adapt_store.bind_engine(store, other) is other


def test_other_models_cannot_be_adapted(catalog):
    from vlm_desktop.core.engine.fake import FakeEngine

    store, _ = catalog
    with pytest.raises(adapt.AdaptError, match="built-in model"):
        adapt.adapt_catalog(store, FakeEngine())


def _count_tower_calls(engine):
    calls = []
    real = engine.image_features

    def counting(images, state=None):  # noqa: ANN001, ANN202
        calls.append(len(images))
        return real(images, state)

    engine.image_features = counting
    return calls


def test_an_indexed_catalog_is_adapted_without_reading_its_images_again(catalog):
    store, engine = catalog  # indexed by make_catalog
    calls = _count_tower_calls(engine)
    report = adapt.adapt_catalog(store, engine, MINI, apply=False)
    assert sum(calls) == 0 and report.trained + report.held_out == 120
    # The features the indexer kept are the ones adapting would have computed.
    cached = adapt.adapt_features.load_features(adapt_store.adapt_dir(store), model_key(engine))
    item = store.item_by_path("red_003.png")
    row = cached.current([item])[item.id]
    probs, pooled = MiniLite().image_features([item_image("red", 3)])
    assert np.allclose(cached.pooled[row], pooled[0], atol=2e-3)
    assert np.allclose(cached.probs[row], probs[0], atol=2e-3)


def test_features_are_read_once_and_cached_beside_the_catalog(catalog):
    store, engine = catalog
    folder = adapt_store.adapt_dir(store)
    for f in folder.glob("features*.npz"):
        f.unlink()  # as a catalog indexed before the indexer kept features
    calls = _count_tower_calls(engine)
    adapt.adapt_catalog(store, engine, MINI, apply=False)
    assert sum(calls) == 120
    assert (folder / "features.npz").is_file()
    adapt.adapt_catalog(store, engine, MINI, apply=False)
    assert sum(calls) == 120  # nothing decoded the second time


# --- processes ---------------------------------------------------------------------------------

KILL_SCRIPT = """
import sys
sys.path.insert(0, {helpers!r})
from _adapt_helpers import MiniLite
from vlm_desktop.core.catalog import adapt
from vlm_desktop.core.catalog.store import CatalogStore

def epoch(e):
    print("epoch", e.epoch, flush=True)

config = adapt.AdaptConfig(batch=16, lr=1e-4, epochs=100000, patience=0)
adapt.adapt_catalog(CatalogStore({db!r}), MiniLite(), config, on_epoch=epoch)
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


@pytest.mark.slow
def test_a_process_killed_mid_training_leaves_the_catalog_searchable(catalog):
    from vlm_desktop.core.catalog.lock import catalog_lock

    store, engine = catalog
    ids0, before = searched_vectors(store, engine)
    script = KILL_SCRIPT.format(helpers=str(Path(__file__).parent), db=str(store.path))
    log = store.path.with_name("child.log")
    with open(log, "w") as err, subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=err, text=True,
            env=_env()) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("epoch") and int(line.split()[1]) >= 3:
                break  # mid-training: epoch 3 of a run that would take 100,000
        else:
            pytest.fail(f"training never ran: {log.read_text()[-2000:]}")
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    assert store.integrity_ok() and adapt_store.active_variant(store) == ""
    ids1, after = searched_vectors(store, engine)
    assert np.array_equal(ids0, ids1) and np.array_equal(before, after)
    hits = CatalogSearch.for_engine(store, adapt_store.bind_engine(store, engine)).by_text(
        engine, "red boot 0", k=5, mode="vector", cut=False)
    assert len(hits) == 5
    with catalog_lock(store.path):  # the kill released the lock
        pass
    assert adapt.adapt_catalog(store, engine, MINI).variant  # and it can be adapted again


@pytest.mark.slow
def test_two_process_ddp_training_matches_one_process(catalog, tmp_path):
    store, engine = catalog
    config = replace(MINI, epochs=6, patience=0)
    data, _ = adapt.prepare(store, engine, config)
    base = engine.joint.projection
    data.save(tmp_path / "data.npz")
    base.save(tmp_path / "base.safetensors")
    single, _ = adapt.train(data, base, config)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "vlm_desktop.core.catalog.adapt_ddp", "--data", str(tmp_path / "data.npz"),
           "--base", str(tmp_path / "base.safetensors"), "--out", str(tmp_path / "ddp.safetensors"),
           "--epochs", "6", "--patience", "0", "--batch", "16", "--lr", "0.01"]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**_env(), "OMP_NUM_THREADS": "1"},
                          timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"epochs": 6, "world": 2}
    ddp = Projection.load(tmp_path / "ddp.safetensors")
    # Float sums in another order, through Adam's normalised steps: equal to within 1% of
    # how far training moved each parameter.
    for name in ("w", "b", "alpha"):
        moved = np.abs(np.asarray(getattr(single, name)) - np.asarray(getattr(base, name))).max()
        apart = np.abs(np.asarray(getattr(ddp, name)) - np.asarray(getattr(single, name))).max()
        assert moved > 0.01 and apart < 0.01 * moved, (name, moved, apart)
    assert adapt.measure(ddp, data.held, data.labels) == pytest.approx(
        adapt.measure(single, data.held, data.labels), abs=1e-9)


@pytest.mark.slow
def test_the_built_in_model_learns_the_demo_catalog(tmp_path):
    """Real weights, the shipped demo catalog (never trained on): held-out titles find
    their pictures more often after adapting, and search then uses the adapted vectors."""
    from vlm_desktop.core.catalog.demo import demo_folder
    from vlm_desktop.core.catalog.importer import import_folder
    from vlm_desktop.core.catalog.store import CatalogStore
    from vlm_desktop.core.device import choose_device
    from vlm_desktop.core.engine.lite.engine import LiteEngine

    folder = demo_folder()
    store = CatalogStore(tmp_path / "demo.db")
    import_folder(store, folder / "images", metadata=folder / "catalog.csv")
    engine = LiteEngine.load(choose_device("cpu"))
    try:
        started = time.perf_counter()
        report = adapt.adapt_catalog(store, engine)
        assert time.perf_counter() - started > 0
        assert report.held_out >= 50
        assert report.after["t2i_r10"] > report.before["t2i_r10"] + 0.03
        assert report.after["t2i_r10"] > 3 * report.chance["t2i_r10"]
        bound = adapt_store.bind_engine(store, engine)
        assert model_key(bound).endswith(report.variant)
        assert adapt_store.bind_engine(store, engine) is bound  # one view: its caches last
        assert store.embedding_count(model_key(bound)) == store.stats().items
        item = store.all_items(limit=1)[0]
        ours = bound.embed_catalog([_load(store, item)])["joint"][0]
        assert np.allclose(store.embedding(item.id, model_key(bound)), ours, atol=2e-2)
    finally:
        engine.close()
        store.close()


def _load(store, item):  # noqa: ANN001, ANN202
    from vlm_desktop.core.catalog.indexer import decode_item

    return decode_item(store.root, item).image


def test_the_cli_adapts_searches_and_reverts(catalog, monkeypatch, capsys):
    from vlm_desktop import cli, cli_catalog

    store, engine = catalog
    monkeypatch.setattr(cli_catalog, "_open_engine", lambda args: engine)

    def run(*argv: str) -> tuple[int, list[dict], str]:
        code = cli.main(["catalog", *argv])
        out, err = capsys.readouterr()
        return code, [json.loads(line) for line in out.splitlines() if line.strip()], err

    db = str(store.path)
    code, out, err = run("adapt", "--catalog", db, "--epochs", "20", "--json")
    assert code == 0 and "epoch 1/20" in err
    report = out[0]
    assert {"before", "after", "held_out", "seconds", "chance"} <= set(report)
    assert set(report["after"]) >= {"t2i_r1", "t2i_r10", "i2i_p5"}
    assert report["after"]["t2i_r10"] > report["before"]["t2i_r10"] and report["variant"]
    code, out, _ = run("search", "--catalog", db, "--text", "red boot 0", "--mode", "vector",
                       "--k", "5", "--no-cut")
    assert code == 0 and sum(h["title"].startswith("red") for h in out[0]["results"]) >= 4
    code, out, _ = run("revert", "--catalog", db)
    assert code == 0 and out[0]["reverted"] == report["variant"]
    assert adapt_store.active_variant(store) == ""
    # Errors are one plain line, not a traceback.
    code, _, err = run("adapt", "--catalog", str(store.path.with_name("missing.db")))
    assert code != 0 and "No catalog at" in err and "Traceback" not in err
