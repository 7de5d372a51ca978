"""Catalog search, vector index cache, recommendations and catalog questions (FakeEngine)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from _catalog_helpers import make_catalog, make_image, near_duplicate, WARM
from PIL import Image

from vlm_desktop.core.catalog import recommend as rec
from vlm_desktop.core.catalog.importer import import_folder
from vlm_desktop.core.catalog.indexer import Indexer, model_key
from vlm_desktop.core.catalog.qa import answer_catalog_question, match_confidence
from vlm_desktop.core.catalog.search import CatalogSearch, SearchFilters, adaptive_cut
from vlm_desktop.core.catalog.store import CatalogStore
from vlm_desktop.core.catalog.vector_index import build_index
from vlm_desktop.core.catalog.why import why_similar
from vlm_desktop.core.engine.fake import FakeEngine

DAY = 86400.0


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("search")
    root = tmp / "cat"
    paths = make_catalog(root, n_per=8)
    meta = tmp / "meta.csv"
    lines = ["image,title,category,price,tags"]
    for name in paths:
        folder = "shoes" if name.startswith("shoe") else "cameras"
        n = int(name[-2:])
        title = f"{'Red' if n % 2 else 'Orange'} running shoe {n}" if folder == "shoes" \
            else f"Compact camera {n}"
        if name == "camera_05":
            title = "Vintage rangefinder"
        lines.append(f"{folder}/{name}.png,{title},{folder.title()},{10 + 5 * n},"
                     f"{'red' if folder == 'shoes' and n % 2 else ''}")
    meta.write_text("\n".join(lines) + "\n")
    store = CatalogStore(tmp / "c.db")
    import_folder(store, root, metadata=meta)
    engine = FakeEngine()
    indexer = Indexer(store)
    indexer.run(engine)
    indexer.close()
    yield store, engine, CatalogSearch.for_engine(store, engine), paths


def test_search_by_image_finds_the_items_own_near_duplicate_first(indexed):
    store, engine, search, paths = indexed
    for name in ("shoe_03", "camera_06"):
        query = near_duplicate(Image.open(paths[name]))
        hits = search.by_image(engine, query, k=10)
        assert hits[0].item.path.endswith(f"{name}.png")
        assert hits[0].score == max(h.score for h in hits)


def test_hybrid_finds_an_item_by_a_title_word(indexed):
    store, engine, search, _ = indexed
    hits = search.by_text(engine, "rangefinder", mode="hybrid", k=10)
    assert hits[0].item.title == "Vintage rangefinder"
    assert hits[0].source in ("both", "keyword")
    keyword = search.by_text(engine, "rangefinder", mode="keyword")
    assert [h.item.title for h in keyword] == ["Vintage rangefinder"]


def test_filters_restrict_category_and_price(indexed):
    store, engine, search, paths = indexed
    query = Image.open(paths["shoe_02"])
    hits = search.by_image(engine, query, k=20, cut=False,
                           filters=SearchFilters(category="Cameras", max_price=30))
    assert hits and all(h.item.category == "Cameras" and h.item.price <= 30 for h in hits)
    kw = search.by_text(engine, "camera shoe", mode="keyword",
                        filters=SearchFilters(min_price=40))
    assert kw and all(h.item.price >= 40 for h in kw)


def test_more_like_this_excludes_the_item_and_stays_in_its_interest(indexed):
    store, engine, search, _ = indexed
    item = store.item_by_path("shoes/shoe_04.png")
    hits = search.more_like_this(item.id, k=5)
    assert hits and item.id not in {h.item.id for h in hits}
    assert all(h.item.category == "Shoes" for h in hits[:3])


def test_adaptive_cut_cuts_at_a_clear_drop_only():
    assert adaptive_cut([0.95, 0.93, 0.92, 0.91, 0.40, 0.39, 0.38]) == 4
    assert adaptive_cut(list(np.linspace(0.9, 0.5, 10))) == 10
    assert adaptive_cut([0.9, 0.1]) == 2


def test_index_is_rebuilt_only_when_stale(indexed):
    store, engine, search, paths = indexed
    index = search.index
    first = index.get()
    rebuilds = index.rebuilds
    assert index.get() is first and index.rebuilds == rebuilds
    item = store.item_by_path("shoes/shoe_00.png")
    with store.write() as c:  # a changed vector makes the index stale
        store.put_embeddings(c, index.model, [(item.id, item.content_hash,
                                               np.eye(64, dtype=np.float32)[0])])
    assert index.get() is not first and index.rebuilds == rebuilds + 1
    assert np.array_equal(index.get().vector(item.id), np.eye(64, dtype=np.float32)[0])
    with store.write() as c:  # put the real vector back for the other tests
        vec = engine.embed_images([Image.open(paths["shoe_00"])])[0]
        store.put_embeddings(c, index.model, [(item.id, item.content_hash, vec)])


def test_large_index_is_hnsw_cached_on_disk_and_extended_while_indexing(
        tmp_path, monkeypatch):
    from vlm_desktop.core.catalog import vector_index as vi

    monkeypatch.setattr(vi, "HNSW_THRESHOLD", 5)
    root = tmp_path / "cat"
    make_catalog(root, n_per=8)
    store = CatalogStore(tmp_path / "c.db")
    import_folder(store, root)
    engine = FakeEngine()
    indexer = Indexer(store, batch_size=8)
    indexer.next_batch(engine)
    index = vi.CatalogIndex(store, model_key(engine), cache_dir=tmp_path / "cache")
    assert index.get().kind == "exact"  # at once; the graph is built in the background
    assert index.wait_background(30)
    first = index.get()
    assert first.kind == "hnsw" and len(first) == 8
    while indexer.next_batch(engine) is not None:
        pass
    indexer.close()
    grown = index.get()
    assert len(grown) == 16 and grown.index is first.index  # extended, not rebuilt
    ids, vecs = store.load_embeddings(index.model)
    exact = vi.build_index(ids, vecs, "exact")
    q = vecs[3]
    assert [i for i, _ in grown.search(q, 5)[0]] == [i for i, _ in exact.search(q, 5)[0]]
    reopened = vi.CatalogIndex(store, index.model, cache_dir=tmp_path / "cache")
    assert len(reopened.get()) == 16 and reopened.rebuilds == 0  # loaded from the cache


def test_hnsw_recall_against_exact():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(50, 32))
    vecs = centres[rng.integers(0, 50, 3000)] + 0.3 * rng.normal(size=(3000, 32))
    vecs = (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(np.float32)
    ids = np.arange(10, 3010)
    exact, approx = build_index(ids, vecs, "exact"), build_index(ids, vecs, "hnsw")
    q = vecs[:50]
    e = exact.search(q, 10)
    a = approx.search(q, 10)
    recall = np.mean([len({i for i, _ in x} & {i for i, _ in y}) / 10 for x, y in zip(e, a)])
    assert recall >= 0.9
    assert exact.search(q[:1], 5, allowed=[11, 12, 13])[0][0][0] in (11, 12, 13)


def test_recommendations_cover_both_interests_and_exclude_bought(indexed):
    store, engine, search, _ = indexed
    store.clear_purchases()
    now = time.time()
    shoes = [store.item_by_path(f"shoes/shoe_0{i}.png") for i in (1, 2)]
    cams = [store.item_by_path(f"cameras/camera_0{i}.png") for i in (1, 3)]
    for when, item in zip((now - 2 * DAY, now - 30 * DAY, now - DAY, now - 60 * DAY),
                          shoes + cams):
        rec.mark_bought(store, item.id, when=when)
    groups = rec.interests(store, search.index, now=now)
    assert len(groups) == 2
    recs = rec.recommend(store, search.index, k=6, now=now)
    bought = {i.id for i in shoes + cams}
    assert len(recs) == 6 and not bought & {r.item.id for r in recs}
    cats = [r.item.category for r in recs]
    assert set(cats[:2]) == {"Shoes", "Cameras"}  # both interests at the top
    for r in recs:
        assert r.because and all(b.id in bought for b in r.because)
        assert {b.category for b in r.because} == {r.item.category}
        assert r.reason.startswith("Because you bought")
    store.clear_purchases()


def test_history_csv_import_reports_bad_rows(indexed, tmp_path):
    store, engine, search, _ = indexed
    store.clear_purchases()
    cam = store.item_by_path("cameras/camera_02.png")
    hist = tmp_path / "h.csv"
    hist.write_text("item_id,image,timestamp,quantity\n"
                    f"{cam.id},,2024-05-01T10:00:00,2\n"
                    ",shoes/shoe_06.png,1714557600,1\n"
                    "999999,,2024-05-01,1\n"
                    ",shoes/shoe_06.png,yesterday,1\n"
                    ",shoes/shoe_06.png,2024-05-01,-1\n")
    report = rec.import_history(store, hist)
    assert report.imported == 2
    assert [p.row for p in report.problems] == [4, 5, 6]
    assert sorted(p.quantity for p in store.purchases()) == [1, 2]
    store.clear_purchases()


def test_catalog_questions_cite_items_and_admit_doubt(indexed):
    store, engine, search, paths = indexed
    image = near_duplicate(Image.open(paths["shoe_05"]))
    item = store.item_by_path("shoes/shoe_05.png")
    price = answer_catalog_question(search, engine, image, "How much does this cost?")
    assert price.kind == "catalog" and f"{item.price:,.2f}" in price.text
    assert f"#{item.id}" in price.text and price.confidence >= 0.4
    category = answer_catalog_question(search, engine, image, "What category is this?")
    assert "Shoes" in category.text
    red = answer_catalog_question(search, engine, image, "Do you have this in red?")
    assert red.text.startswith("Yes") and "Red running shoe" in red.text
    # A plain grey picture is far from every item: the answer says so.
    far = answer_catalog_question(search, engine, Image.new("RGB", (32, 32), (128, 128, 128)),
                                  "How much is this?")
    assert far.confidence < 0.4 and "not sure" in far.text


def test_match_confidence_is_high_only_for_a_standout():
    assert match_confidence([0.99, 0.6, 0.58, 0.55]) > 0.9
    assert match_confidence([0.61, 0.6, 0.58, 0.55]) < 0.1


def test_why_similar_falls_back_to_relevance_maps(indexed):
    store, engine, search, paths = indexed
    a = Image.open(paths["shoe_01"])
    maps = why_similar(engine, a, make_image(5, WARM), "Red running shoe 1")
    assert maps.method == "relevance" and maps.query.values.shape == (8, 8)

    class Spatial(FakeEngine):
        def spatial_features(self, image):
            return np.asarray(image.convert("RGB").resize((4, 4)), np.float32)

    maps = why_similar(Spatial(), a, a, "same")
    assert maps.method == "spatial" and maps.query.values.max() == 1.0


def test_a_catalog_with_nothing_indexed_yet_searches_and_recommends_empty(tmp_path):
    # First run: the demo catalog is imported but not yet indexed when the panel first asks.
    make_catalog(tmp_path / "cat", n_per=2)
    store = CatalogStore(tmp_path / "fresh.db")
    import_folder(store, tmp_path / "cat")
    engine = FakeEngine()
    search = CatalogSearch.for_engine(store, engine)
    assert search.by_text(engine, "shoe", mode="vector") == []
    assert rec.recommend(store, search.index, k=5) == []
    assert build_index(np.zeros(0, np.int64), np.zeros((0, 64), np.float32)).search(
        np.ones(64, np.float32), 5) == [[]]


# --- a large catalog's graph is built in the background --------------------------------------
# HNSW_THRESHOLD is lowered to 50 so "large" means 200 vectors and a build takes milliseconds.

MODEL = "synthetic-16"
BIG = 200


def _vectors(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(8, 16))[rng.integers(0, 8, n)] + 0.4 * rng.normal(size=(n, 16))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _add_items(store: CatalogStore, vectors: np.ndarray) -> list[int]:
    """New items with these vectors (as indexing would store them); their ids."""
    now = time.time()
    first = store.conn().execute("SELECT coalesce(max(id), 0) FROM items").fetchone()[0] + 1
    with store.write() as c:
        c.executemany("INSERT INTO items(id, path, content_hash, title, added_at, updated_at) "
                      "VALUES (?,?,?,?,?,?)",
                      [(first + k, f"p{first + k}.png", f"h{first + k}", f"item {first + k}",
                        now, now) for k in range(len(vectors))])
        store.put_embeddings(c, MODEL, [(first + k, f"h{first + k}", v)
                                        for k, v in enumerate(vectors)])
    return list(range(first, first + len(vectors)))


def _remove_items(store: CatalogStore, ids: list[int]) -> None:
    with store.write() as c:
        c.executemany("DELETE FROM items WHERE id=?", [(i,) for i in ids])


def _brute_force(store: CatalogStore, q: np.ndarray, k: int) -> list[int]:
    ids, vecs = store.load_embeddings(MODEL)
    return ids[np.argsort(-(vecs @ q), kind="stable")[:k]].tolist()


def _builders() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "vector-index-build"]


class GatedBuilds:
    """Stands in for build_graph: records each build and holds it until `gate` opens."""

    def __init__(self, real) -> None:
        self.real = real
        self.gate = threading.Event()
        self.calls: list[np.ndarray] = []
        self.results: list = []

    def __call__(self, ids, vectors, stop):
        self.calls.append(np.array(ids))
        if not self.gate.wait(30):
            raise TimeoutError("the test never opened the gate")
        self.results.append(self.real(ids, vectors, stop))
        return self.results[-1]


@pytest.fixture()
def big(tmp_path, monkeypatch):
    """A store of BIG vectors, a CatalogIndex on it, and gated background builds."""
    from vlm_desktop.core.catalog import vector_index as vi

    monkeypatch.setattr(vi, "HNSW_THRESHOLD", 50)
    monkeypatch.setattr(vi, "BUILD_CHUNK", 32)  # several chunks: stop requests are honoured
    store = CatalogStore(tmp_path / "big.db")
    _add_items(store, _vectors(BIG, 0))
    gated = GatedBuilds(vi.build_graph)
    monkeypatch.setattr(vi, "build_graph", gated)
    index = vi.CatalogIndex(store, MODEL, cache_dir=tmp_path / "cache")
    yield store, index, gated
    gated.gate.set()
    assert index.close(30), "the background build did not stop"
    assert not _builders()
    store.close()


def test_removal_from_a_large_catalog_answers_exactly_at_once_then_swaps_in_a_graph(big):
    store, index, gated = big
    gated.gate.set()
    index.get()
    assert index.wait_background(30) and index.get().kind == "hnsw"  # the catalog as it was
    gated.gate.clear()
    queries = _vectors(6, 1)
    removed = _brute_force(store, queries[0], 3) + [5, 77]
    _remove_items(store, removed)

    during = index.get()  # returns while the build waits at the gate: not built in here
    assert during.kind == "exact" and index.building() and len(gated.calls) == 2
    assert len(during) == BIG - len(removed)
    exact = [[i for i, _ in during.search(q, 5)[0]] for q in queries]
    assert exact == [_brute_force(store, q, 5) for q in queries]
    assert not set(removed) & {i for row in exact for i in row}
    assert index.get() is during  # nothing changed: the same index, no second build

    gated.gate.set()
    assert index.wait_background(30)
    after = index.get()
    assert after.kind == "hnsw" and not index.building() and index.graph_builds == 2
    assert len(after) == BIG - len(removed) and not set(removed) & set(after.ids.tolist())
    assert [[i for i, _ in after.search(q, 5)[0]] for q in queries] == exact
    from vlm_desktop.core.catalog.vector_index import CatalogIndex

    reopened = CatalogIndex(store, MODEL, cache_dir=index._dir)  # the new graph was saved
    assert reopened.get().kind == "hnsw" and reopened.rebuilds == 0


def test_appends_during_a_background_build_extend_its_graph(big):
    store, index, gated = big
    assert index.get().kind == "exact" and index.building()
    new_vecs = _vectors(20, 2)
    new_ids = _add_items(store, new_vecs)  # indexing goes on meanwhile
    during = index.get()
    assert during.kind == "exact" and len(during) == BIG + 20
    assert during.search(new_vecs[3], 1)[0][0][0] == new_ids[3]
    assert len(gated.calls) == 1 and len(_builders()) == 1
    gated.gate.set()
    assert index.wait_background(30)
    after = index.get()
    assert after.kind == "hnsw" and len(after) == BIG + 20
    assert len(gated.calls) == 1  # the one graph was extended, not rebuilt
    for k in (0, 3, 19):
        assert after.search(new_vecs[k], 1)[0][0][0] == new_ids[k]


def test_a_removal_during_a_build_starts_no_second_build_of_old_data(big):
    store, index, gated = big
    index.get()
    gone = [10, 11, 12]
    _remove_items(store, gone)
    during = index.get()
    assert during.kind == "exact" and not set(gone) & set(during.ids.tolist())
    assert len(gated.calls) == 1 and len(_builders()) == 1
    gated.gate.set()
    assert index.wait_background(30)
    # The first build saw the change and stopped; the next one used the newest vectors.
    assert gated.results[0] is None
    assert len(gated.calls) == 2 and np.array_equal(gated.calls[1], during.ids)
    after = index.get()
    assert after.kind == "hnsw" and index.graph_builds == 1
    assert np.array_equal(after.ids, during.ids)


def test_a_failing_background_build_is_logged_and_search_stays_exact(big, monkeypatch,
                                                                      caplog):
    from vlm_desktop.core.catalog import vector_index as vi

    def broken(ids, vectors, stop):
        raise MemoryError("no room for the graph")

    store, index, _ = big
    monkeypatch.setattr(vi, "build_graph", broken)
    first = index.get()
    assert first.kind == "exact" and index.wait_background(30) and not index.building()
    assert index.get() is first  # kept, and no retry loop for the same data
    q = _vectors(1, 3)[0]
    assert [i for i, _ in index.get().search(q, 5)[0]] == _brute_force(store, q, 5)
    failures = [r for r in caplog.records if r.levelname == "ERROR"]
    assert failures and isinstance(failures[0].exc_info[1], MemoryError)


def test_a_catalog_at_the_threshold_stays_exact_without_a_thread(tmp_path, monkeypatch):
    from vlm_desktop.core.catalog import vector_index as vi

    monkeypatch.setattr(vi, "HNSW_THRESHOLD", 50)
    store = CatalogStore(tmp_path / "small.db")
    _add_items(store, _vectors(50, 0))
    index = vi.CatalogIndex(store, MODEL, cache_dir=tmp_path / "cache")
    assert index.get().kind == "exact" and not index.building() and not _builders()
    store.close()
