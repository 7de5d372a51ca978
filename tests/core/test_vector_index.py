"""The vector index kinds: recall@10 checked at build time on unstructured data, saved
indexes reloaded without a rebuild, appends searchable, IVF-PQ's RAM at 10 M vectors."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time

import numpy as np
import pytest

from vlm_desktop.core.catalog import hnsw_index, ivfpq_index
from vlm_desktop.core.catalog import vector_index as vi
from vlm_desktop.core.catalog.store import CatalogStore

MODEL = "random-64"


def _random(n: int, dim: int = 64, seed: int = 0) -> np.ndarray:
    """Unstructured: no clusters for a graph or an inverted list to lean on."""
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _recall(index: vi.VectorIndex, vecs: np.ndarray, ids: np.ndarray, queries: np.ndarray
            ) -> float:
    """recall@10 on queries the build-time check never saw, against brute force."""
    truth = [set(ids[np.argsort(-(vecs @ q))[:10]].tolist()) for q in queries]
    found = index.search(queries, 10)
    return float(np.mean([len(t & {i for i, _ in f}) / 10 for t, f in zip(truth, found)]))


def _fresh_queries(vecs: np.ndarray, n: int = 100) -> np.ndarray:
    """Catalog vectors nudged a little ("more like this" of a new photo of an item)."""
    rng = np.random.default_rng(7)
    q = vecs[rng.choice(len(vecs), n, replace=False)] + 0.05 * rng.standard_normal(
        (n, vecs.shape[1])).astype(np.float32)
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def test_hnsw_reaches_the_recall_target_on_random_vectors():
    vecs = _random(5000)
    ids = np.arange(1, 5001)
    graph = vi.build_index(ids, vecs, "hnsw")
    assert graph.kind == "hnsw" and graph.recall >= 0.95
    assert _recall(graph, vecs, ids, _fresh_queries(vecs)) >= 0.95


def test_ivfpq_reaches_the_recall_target_on_random_vectors(tmp_path):
    vecs = _random(20_000, seed=1)
    ids = np.arange(5, 20_005)
    index = vi.build_index(ids, vecs, "ivfpq", floats_path=tmp_path / "f.f32")
    assert index.kind == "ivfpq" and index.recall >= 0.95
    assert _recall(index, vecs, ids, _fresh_queries(vecs)) >= 0.95
    allowed = ids[::3][:5000]  # a filtered search only answers allowed ids
    got = index.search(vecs[3], 10, allowed=allowed)[0]
    assert got and {i for i, _ in got} <= set(allowed.tolist())


def test_many_lists_assign_through_a_graph_and_still_reach_the_recall_target(tmp_path,
                                                                           monkeypatch):
    """Catalogs of millions of vectors get a graph over the list centroids; the recall
    check must still hold, and the graph (with its search depth) must survive a save."""
    import faiss

    monkeypatch.setattr(ivfpq_index, "GRAPH_QUANTISER_LISTS", 64)
    vecs = _random(20_000, seed=3)
    ids = np.arange(20_000)
    index = ivfpq_index.build_ivfpq(ids, vecs, tmp_path / "f.f32")
    assert isinstance(index, ivfpq_index.IvfPqIndex) and index.index.nlist >= 64
    assert isinstance(faiss.downcast_index(index.index.quantizer), faiss.IndexHNSWFlat)
    assert index.recall >= 0.95
    assert _recall(index, vecs, ids, _fresh_queries(vecs)) >= 0.95
    faiss.write_index(index.index, str(tmp_path / "i.faiss"))
    reread = faiss.read_index(str(tmp_path / "i.faiss"))  # owns its quantiser: keep it alive
    again = faiss.downcast_index(reread.quantizer)
    assert again.hnsw.efSearch == ivfpq_index.GRAPH_QUANTISER_EF


def test_exact_is_exact():
    vecs = _random(3000, seed=2)
    ids = np.arange(3000)
    assert _recall(vi.build_index(ids, vecs, "exact"), vecs, ids, _fresh_queries(vecs)) == 1.0


def test_ivfpq_ram_for_ten_million_384d_vectors_is_under_2_gb(tmp_path):
    vecs = _random(12_000, dim=384, seed=3)
    # target 0: the size of the codes is what counts here, not the tuning (tested above)
    index = ivfpq_index.build_ivfpq(np.arange(12_000), vecs, tmp_path / "f.f32", target=0.0)
    assert isinstance(index, ivfpq_index.IvfPqIndex)
    code = int(index.index.code_size)
    assert code == 48  # bytes a vector in RAM, from the trained index itself
    # The estimate is what FAISS really holds: its saved index (codes, list ids, centroids,
    # codebooks) plus our item ids, within a few per cent.
    with tempfile.NamedTemporaryFile(suffix=".faiss", delete=False) as fp:
        name = fp.name
    try:
        import faiss

        faiss.write_index(index.index, name)
        held = os.path.getsize(name) + index.ids.nbytes
    finally:
        os.unlink(name)
    assert abs(index.ram_bytes() - held) / held < 0.05
    ten_m = ivfpq_index.ram_estimate(10_000_000, 384, code)
    assert ten_m < 2 * 1024**3
    assert ten_m > 10_000_000 * code  # the codes themselves are counted
    assert (tmp_path / "f.f32").stat().st_size == vecs.nbytes  # floats on disk, not in RAM


def _add_items(store: CatalogStore, vectors: np.ndarray) -> list[int]:
    now = time.time()
    first = store.conn().execute("SELECT coalesce(max(id), 0) FROM items").fetchone()[0] + 1
    rows = range(first, first + len(vectors))
    with store.write() as c:
        c.executemany("INSERT INTO items(id, path, content_hash, title, added_at, updated_at) "
                      "VALUES (?,?,?,?,?,?)",
                      [(i, f"p{i}.png", f"h{i}", f"item {i}", now, now) for i in rows])
        store.put_embeddings(c, MODEL, [(i, f"h{i}", v) for i, v in zip(rows, vectors)])
    return list(rows)


def _builders() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "vector-index-build"]


@pytest.fixture()
def large(tmp_path, monkeypatch):
    """A 'large' catalog (thresholds lowered) of random vectors, beside its index folder."""
    monkeypatch.setattr(vi, "HNSW_THRESHOLD", 100)
    monkeypatch.setattr(vi, "IVFPQ_THRESHOLD", 1000)
    store = CatalogStore(tmp_path / "c.db")
    yield store
    store.close()


def test_ivfpq_is_saved_beside_the_catalog_reloaded_without_rebuild_and_extended(large,
                                                                                capsys):
    store = large
    vecs = _random(12_000, seed=4)
    _add_items(store, vecs)
    index = vi.CatalogIndex(store, MODEL)
    assert index.get().kind == "exact" and index.wait_background(120)
    built = index.get()
    assert built.kind == "ivfpq" and built.recall >= 0.95
    folder = store.path.with_name(store.path.name + ".index")
    assert any(folder.glob("*.floats-*.f32"))  # the float vectors live beside the catalog
    assert json.loads(next(folder.glob("*.json")).read_text())["kind"] == "ivfpq"

    reopened = vi.CatalogIndex(store, MODEL)
    again = reopened.get()
    assert again.kind == "ivfpq" and reopened.rebuilds == 0 and not reopened.building()
    q = vecs[10]
    assert again.search(q, 10) == built.search(q, 10)
    assert reopened.describe()["kind"] == "ivfpq"
    assert reopened.describe()["recall_at_10"] >= 0.95

    new = _random(50, seed=5)
    new_ids = _add_items(store, new)
    grown = reopened.get()
    assert grown.kind == "ivfpq" and len(grown) == 12_050 and not reopened.building()
    assert isinstance(grown, ivfpq_index.IvfPqIndex) and isinstance(again, ivfpq_index.IvfPqIndex)
    assert grown.index is again.index  # extended, not rebuilt
    for k in (0, 17, 49):
        assert grown.search(new[k], 1)[0][0][0] == new_ids[k]
    third = vi.CatalogIndex(store, MODEL)
    assert len(third.get()) == 12_050 and third.rebuilds == 0  # the extension was saved
    from vlm_desktop import cli

    capsys.readouterr()
    assert cli.main(["catalog", "stats", "--catalog", str(store.path)]) == 0
    shown = json.loads(capsys.readouterr().out.splitlines()[0])["vector_index"][MODEL]
    assert shown["kind"] == "ivfpq" and shown["vectors"] == 12_050
    assert shown["recall_at_10"] == round(grown.recall, 3) >= 0.95
    reopened.close()
    index.close()


def test_hnsw_appends_are_searchable(tmp_path):
    vecs = _random(3000, seed=6)
    graph = vi.build_index(np.arange(1, 3001), vecs, "hnsw")
    assert isinstance(graph, hnsw_index.HnswIndex)
    new = _random(40, seed=8)
    grown = graph.extended(np.arange(3001, 3041), new)
    assert [grown.search(v, 1)[0][0][0] for v in new] == list(range(3001, 3041))


def test_when_no_graph_beats_exact_search_exact_is_kept_and_that_is_remembered(
        large, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger=vi.__name__)
    monkeypatch.setattr(vi, "IVFPQ_THRESHOLD", 10**9)
    monkeypatch.setattr(hnsw_index, "VISIT_RULE_FROM", 0)
    monkeypatch.setattr(hnsw_index, "MAX_VISITED_SHARE", 0.0)  # as on unstructured data
    store = large
    _add_items(store, _random(400, seed=9))
    index = vi.CatalogIndex(store, MODEL)
    assert index.get().kind == "exact" and index.wait_background(60)
    assert index.get().kind == "exact" and not index.building()
    assert "exact search kept" in caplog.text
    reopened = vi.CatalogIndex(store, MODEL)
    assert reopened.get().kind == "exact" and not reopened.building() and not _builders()
    _add_items(store, _random(100, seed=10))  # grown, but not doubled: still no new build
    assert reopened.get().kind == "exact" and not reopened.building()
    assert reopened.describe()["kind"] == "exact"
    reopened.close()
    index.close()
