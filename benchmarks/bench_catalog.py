"""Catalog speed and size: indexing rate, search latency and recall, bytes per item.

1. Indexing items/s end to end (read + decode + encode + commit, via the Indexer) beside the
   model-only encode rate on the same images already decoded, in the same run.
2. Search p50/p99 for the app's vector index (exact below HNSW_THRESHOLD, HNSW above; the
   index kinds side by side, with other HNSW libraries, are in bench_index.py) beside
   NumPy brute force, at 10k / 100k / 1M synthetic 384-d vectors (clustered like real
   embeddings: a mixture of Gaussians, normalised), with recall@10 of the app's index
   against exact search.
3. Bytes per item: the SQLite file on disk and the index in memory.
4. The first search after 1% of a large catalog was removed: the old synchronous HNSW
   rebuild (load + build_index) beside CatalogIndex.get() now (an exact index at once, the
   graph built on a background thread), and exact-search latency while that build runs.

    python benchmarks/bench_catalog.py [--catalog demo|mixed] [--sizes 10000,100000,1000000]
    python benchmarks/bench_catalog.py --skip-indexing --skip-search --refresh-size 100000
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the app sets it (see app.main)

from vlm_desktop.core.catalog.demo import demo_folder  # noqa: E402
from vlm_desktop.core.catalog.importer import import_folder  # noqa: E402
from vlm_desktop.core.catalog.indexer import (  # noqa: E402
    DECODE_MAX_SIDE,
    DEFAULT_BATCH,
    DRAFT_MIN_SIDE,
    Indexer,
)
from vlm_desktop.core.catalog.store import CatalogStore  # noqa: E402
from vlm_desktop.core.catalog.vector_index import (  # noqa: E402
    HNSW_THRESHOLD,
    CatalogIndex,
    build_index,
)
from vlm_desktop.core.images import ImageLoadError, load_image  # noqa: E402

DIM = 384


def load_engine():
    try:
        from vlm_desktop.core.device import choose_device
        from vlm_desktop.core.engine.lite.engine import LiteEngine

        return LiteEngine.load(choose_device("cpu")), "LiteEngine"
    except Exception as exc:  # noqa: BLE001 - a benchmark reports and goes on
        from vlm_desktop.core.engine.fake import FakeEngine

        print(f"!! LiteEngine not available ({exc}); using the FakeEngine")
        return FakeEngine(), "FakeEngine"


OPENCLIPART = Path("/usr/share/openclipart/png")
PHOTO_SIZE = (2048, 1536)  # a phone camera's JPEG, which the indexer decodes in draft mode


def demo_copies(root: Path, copies: int) -> list[Path]:
    """`copies` of the demo catalog (small clip-art PNGs), each file's bytes made distinct
    (trailing bytes after IEND: same picture) so nothing dedups."""
    for c in range(copies):
        shutil.copytree(demo_folder() / "images", root / f"copy{c}")
    files = sorted(root.rglob("*.png"))
    for c, f in enumerate(files):
        with open(f, "ab") as fp:
            fp.write(c.to_bytes(4, "big"))
    return files


def mixed(root: Path, clipart: int, photos: int) -> list[Path]:
    """A shop-like mix: Open Clip Art PNGs as installed (Debian openclipart-png, every folder,
    evenly spaced) and camera-sized JPEG photos cut from scikit-image's real photos (a
    different crop, flip and size each, so every one decodes and encodes afresh)."""
    import skimage
    from PIL import Image, ImageOps

    files = sorted(OPENCLIPART.rglob("*.png"))
    if not files:
        raise SystemExit("--catalog mixed needs Debian's openclipart-png")
    picked = files[:: max(1, len(files) // clipart)][:clipart]
    for i, f in enumerate(picked):
        (root / "clipart").mkdir(parents=True, exist_ok=True)
        shutil.copy(f, root / "clipart" / f"{i:04d}-{f.name}")
    data = Path(skimage.__file__).parent / "data"
    sources = [Image.open(data / n).convert("RGB")
               for n in ("chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png",
                         "astronaut.png")]
    rng = np.random.default_rng(0)
    (root / "photos").mkdir(parents=True, exist_ok=True)
    for i in range(photos):
        im = sources[i % len(sources)]
        w, h = im.size
        cw, ch = int(w * rng.uniform(0.6, 1.0)), int(h * rng.uniform(0.6, 1.0))
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        shot = im.crop((x, y, x + cw, y + ch)).resize(PHOTO_SIZE if cw >= ch else PHOTO_SIZE[::-1])
        if i % 2:
            shot = ImageOps.mirror(shot)
        shot.save(root / "photos" / f"{i:04d}.jpg", quality=90)
    return sorted(p for p in root.rglob("*") if p.is_file())


def draft_agreement(engine, jpegs: list[Path], draft_side: int = DRAFT_MIN_SIDE) -> str:  # noqa: ANN001
    """The indexer decodes a JPEG at reduced scale (libjpeg's 1/2-1/8, long side still >=
    `draft_side`) where it used to decode whole, then shrinks both to DECODE_MAX_SIDE: the catalog vectors of both,
    compared (cosine, image->image top-10 neighbour overlap) and timed side by side."""
    def decode(f: Path, max_side: int | None):  # noqa: ANN202
        im = load_image(f.read_bytes(), max_side=max_side)
        im.thumbnail((DECODE_MAX_SIDE, DECODE_MAX_SIDE), Image.Resampling.BILINEAR)
        return im

    out = {}
    for label, side in (("whole", None), ("draft", draft_side)):
        t0 = time.perf_counter()
        images = [decode(f, side) for f in jpegs]
        out[label] = (time.perf_counter() - t0, engine.embed_catalog(images) if hasattr(
            engine, "embed_catalog") else {"joint": engine.embed_images(images)})
    lines = [f"JPEG decode, {len(jpegs)} photos {PHOTO_SIZE[0]}x{PHOTO_SIZE[1]}: whole "
             f"{out['whole'][0] * 1000 / len(jpegs):.1f} ms, reduced "
             f"{out['draft'][0] * 1000 / len(jpegs):.1f} ms a photo "
             f"({out['whole'][0] / out['draft'][0]:.1f}x)"]
    for space, a in out["whole"][1].items():
        b = out["draft"][1][space]
        cos = np.sum(a * b, axis=1)
        sa, sb = a @ a.T, b @ b.T
        np.fill_diagonal(sa, -np.inf)
        np.fill_diagonal(sb, -np.inf)
        ta, tb = np.argsort(-sa, axis=1)[:, :10], np.argsort(-sb, axis=1)[:, :10]
        overlap = np.mean([len(set(x) & set(y)) / 10 for x, y in zip(ta, tb)])
        lines.append(f"  {space:<6} vectors, reduced vs whole decode: cosine mean {cos.mean():.5f} "
                     f"min {cos.min():.5f}, top-10 neighbour overlap {overlap:.3f}")
    return "\n".join(lines)


def bench_indexing(engine, name: str, catalog: str, copies: int, limit: int) -> None:  # noqa: ANN001
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "cat"
        files = demo_copies(root, copies) if catalog == "demo" else mixed(root, 600, 185)
        for extra in files[limit:]:
            extra.unlink()
        files = files[:limit]
        store = CatalogStore(Path(tmp) / "c.db")
        import_folder(store, root)
        engine.embed_images([load_image(str(files[0]))])  # warm-up
        indexer = Indexer(store)
        t0 = time.perf_counter()
        final = indexer.run(engine)
        end_to_end = final.done / (time.perf_counter() - t0)
        indexer.close()
        images = []
        for f in files:  # what the indexer stored: a file it quarantined is left out here too
            try:
                images.append(load_image(str(f)))
            except ImageLoadError:
                continue
        for im in images:
            im.thumbnail((512, 512))
        t0 = time.perf_counter()
        for i in range(0, len(images), DEFAULT_BATCH):
            engine.embed_images(images[i:i + DEFAULT_BATCH])
        encode_only = len(images) / (time.perf_counter() - t0)
        db_bytes = sum(p.stat().st_size for p in Path(tmp).glob("c.db*"))
        jpegs = [f for f in files if f.suffix == ".jpg"]
        if jpegs:
            print(draft_agreement(engine, jpegs))
        n = store.stats().items
        print(f"\n1. Indexing ({name}, {catalog} catalog, {n} items, batch {DEFAULT_BATCH}, "
              f"load {os.getloadavg()[0]:.2f})")
        print(f"{'end to end (decode+encode+commit)':<38}{end_to_end:10.1f} items/s")
        print(f"{'model-only encode (pre-decoded)':<38}{encode_only:10.1f} items/s")
        print(f"{'ratio':<38}{end_to_end / encode_only:10.0%}")
        print(f"{'SQLite bytes per item (with WAL)':<38}{db_bytes / n:10.0f}")
        store.close()


def synthetic(n: int, seed: int = 0, clusters: int = 2000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, DIM)).astype(np.float32)
    out = np.empty((n, DIM), np.float32)
    step = 100_000
    for s in range(0, n, step):
        m = min(step, n - s)
        x = centres[rng.integers(0, clusters, m)] + 0.6 * rng.standard_normal((m, DIM),
                                                                              np.float32)
        out[s:s + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def percentiles(times: list[float]) -> tuple[float, float]:
    ms = np.asarray(times) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def _sweep(index, queries, exact: list[list[int]], efs: list[int]) -> None:
    """recall@10 and latency of the HNSW graph as efSearch grows (same graph, same queries)."""
    tuned = index.ef
    for ef in efs:
        index.ef = ef
        times, res = [], []
        for q in queries:
            t = time.perf_counter()
            res.append([i for i, _ in index.search(q, 10)[0]])
            times.append(time.perf_counter() - t)
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(res, exact)])
        p50, p99 = percentiles(times)
        print(f"{'':>10}   efSearch {ef:>4}: p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  "
              f"recall@10 {recall:.3f}")
    index.ef = tuned


def bench_search(sizes: list[int], n_queries: int, ef_sweep: list[int]) -> None:
    print(f"\n2. Search, k=10, single queries, {DIM}-d (HNSW above {HNSW_THRESHOLD:,})")
    print(f"{'vectors':>10} {'index':>6} {'build s':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'numpy p50':>10} {'numpy p99':>10} {'speed-up':>9} {'recall@10':>10} "
          f"{'mem B/item':>11}")
    rng = np.random.default_rng(1)
    for n in sizes:
        vecs = synthetic(n)
        queries = vecs[rng.choice(n, n_queries, replace=False)] + 0.05 * rng.standard_normal(
            (n_queries, DIM)).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        ids = np.arange(1, n + 1)
        t0 = time.perf_counter()
        index = build_index(ids, vecs)
        build_s = time.perf_counter() - t0
        app_t, app_res = [], []
        for q in queries:
            t = time.perf_counter()
            app_res.append([i for i, _ in index.search(q, 10)[0]])
            app_t.append(time.perf_counter() - t)
        np_t, np_res = [], []
        for q in queries:
            t = time.perf_counter()
            sims = vecs @ q
            top = np.argpartition(-sims, 10)[:10]
            top = top[np.argsort(-sims[top])]
            np_t.append(time.perf_counter() - t)
            np_res.append(ids[top].tolist())
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(app_res, np_res)])
        mem = _index_bytes(index) / n
        a50, a99 = percentiles(app_t)
        n50, n99 = percentiles(np_t)
        print(f"{n:>10,} {index.kind:>6} {build_s:8.1f} {a50:8.2f} {a99:8.2f} {n50:10.2f} "
              f"{n99:10.2f} {n50 / a50:8.1f}x {recall:10.3f} {mem:11.0f}")
        if ef_sweep and index.kind == "hnsw":
            _sweep(index, queries, np_res, ef_sweep)
        del vecs, index


def _index_bytes(index) -> int:
    import faiss

    if not hasattr(index, "index"):  # exact: the NumPy matrix and the ids
        return index.matrix.nbytes + index.ids.nbytes
    with tempfile.NamedTemporaryFile(suffix=".faiss") as fp:
        faiss.write_index(index.index, fp.name)
        return os.path.getsize(fp.name) + index.ids.nbytes


def _fill_store(store: CatalogStore, model: str, vecs: np.ndarray) -> None:
    """Items 1..n with these vectors, written as indexing would (one transaction per 10k)."""
    now = time.time()
    for s in range(0, len(vecs), 10_000):
        rows = range(s + 1, min(s + 10_000, len(vecs)) + 1)
        with store.write() as c:
            c.executemany("INSERT INTO items(id, path, content_hash, title, added_at, "
                          "updated_at) VALUES (?,?,?,?,?,?)",
                          [(i, f"p{i}.png", f"h{i}", f"item {i}", now, now) for i in rows])
            store.put_embeddings(c, model, [(i, f"h{i}", vecs[i - 1]) for i in rows])


def bench_refresh(n: int, n_queries: int) -> None:
    """First get() after removing 1% of n items: synchronous rebuild vs exact-then-background."""
    model = "synthetic-384"
    vecs = synthetic(n)
    rng = np.random.default_rng(2)
    queries = vecs[rng.choice(n, n_queries, replace=False)]
    with tempfile.TemporaryDirectory() as tmp:
        store = CatalogStore(Path(tmp) / "c.db")
        _fill_store(store, model, vecs)
        del vecs
        gone = sorted(rng.choice(np.arange(1, n + 1), n // 100, replace=False).tolist())
        with store.write() as c:
            c.executemany("DELETE FROM items WHERE id=?", [(int(i),) for i in gone])
        print(f"\n4. First search after removing {len(gone):,} of {n:,} items ({DIM}-d)")
        t0 = time.perf_counter()
        ids, mat = store.load_embeddings(model)
        t_load = time.perf_counter() - t0
        old = build_index(ids, mat)
        t_old = time.perf_counter() - t0
        print(f"{'old: load + ' + old.kind + ' build in the request':<44}{t_old:10.2f} s "
              f"(load {t_load:.2f} s)")
        del old, ids, mat
        index = CatalogIndex(store, model, cache_dir=Path(tmp) / "cache")
        t0 = time.perf_counter()
        exact = index.get()
        t_new = time.perf_counter() - t0
        print(f"{'new: get() returns ' + exact.kind:<44}{t_new:10.2f} s "
              f"({t_old / t_new:.0f}x sooner)")
        times, served = [], 0
        while index.building() and served < n_queries:
            t = time.perf_counter()
            exact.search(queries[served], 10)
            times.append(time.perf_counter() - t)
            served += 1
        if times:
            p50, p99 = percentiles(times)
            print(f"{'exact search during the build (' + str(len(times)) + ' q)':<44}"
                  f"{p50:10.2f} ms p50 {p99:8.2f} ms p99")
        index.wait_background()
        t_bg = time.perf_counter() - t0
        graph = index.get()
        print(f"{'background build until swapped in':<44}{t_bg:10.1f} s -> {graph.kind}")
        for name, vx in (("exact search, idle", exact), (graph.kind + " search, idle", graph)):
            times = []
            for q in queries:
                t = time.perf_counter()
                vx.search(q, 10)
                times.append(time.perf_counter() - t)
            p50, p99 = percentiles(times)
            print(f"{name:<44}{p50:10.2f} ms p50 {p99:8.2f} ms p99")
        index.close()
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--catalog", choices=("demo", "mixed"), default="demo",
                        help="demo: copies of the demo catalog; mixed: 600 Open Clip Art PNGs "
                             "+ 185 camera-sized JPEG photos")
    parser.add_argument("--copies", type=int, default=2, help="demo catalog copies to index")
    parser.add_argument("--limit", type=int, default=10**9, help="at most this many images")
    parser.add_argument("--skip-indexing", action="store_true")
    parser.add_argument("--skip-search", action="store_true")
    parser.add_argument("--ef-sweep", default="", help="e.g. 96,192,384: HNSW efSearch sweep")
    parser.add_argument("--refresh-size", type=int, default=100_000,
                        help="catalog size for 4. (first search after removals)")
    parser.add_argument("--skip-refresh", action="store_true")
    args = parser.parse_args()
    import faiss

    print(f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads")
    if not args.skip_indexing:
        engine, name = load_engine()
        bench_indexing(engine, name, args.catalog, args.copies, args.limit)
    if not args.skip_search:
        efs = [int(e) for e in args.ef_sweep.split(",")] if args.ef_sweep else []
        bench_search([int(s) for s in args.sizes.split(",")], args.queries, efs)
    if not args.skip_refresh:
        bench_refresh(args.refresh_size, args.queries)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
