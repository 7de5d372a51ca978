"""Vector index kinds side by side: exact NumPy vs HNSW (FAISS, hnswlib, usearch) vs IVF-PQ.

For each size and data kind (`clustered`: a mixture of Gaussians like real embeddings;
`random`: unstructured noise, the hard case for graphs and inverted lists), 384-d, k=10,
single queries: build time, RAM, p50 latency and recall@10 against exact search, with the
load average beside each row (the machine is shared: compare rows of one run, not runs).

FAISS HNSW and IVF-PQ are built as the app builds them (efSearch / nprobe tuned by the
build-time recall check); hnswlib and usearch get the same M, efConstruction and the
efSearch FAISS was tuned to, so their rows compare the libraries at equal settings.
10 M is not built: its RAM is projected from the measured bytes per vector (IVF-PQ from
its code size; exact and HNSW hold the float vectors).

    python benchmarks/bench_index.py                      # 20k, both data kinds (~5 min here)
    python benchmarks/bench_index.py --sizes 100000,1000000 --libs faiss
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the app sets it (see app.main)

from vlm_desktop.core.catalog import hnsw_index, index_recall, ivfpq_index  # noqa: E402
from vlm_desktop.core.catalog.index_base import ExactIndex  # noqa: E402

DIM = 384
TEN_M = 10_000_000


def data(kind: str, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "random":
        x = rng.standard_normal((n, DIM), np.float32)
    else:
        centres = rng.standard_normal((2000, DIM)).astype(np.float32)
        x = centres[rng.integers(0, 2000, n)] + 0.6 * rng.standard_normal((n, DIM), np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def load() -> str:
    return Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() \
        else "?"


def measure(search: Callable[[np.ndarray], np.ndarray], queries: np.ndarray,
            truth: np.ndarray) -> tuple[float, float]:
    """(p50 ms, recall@10) of single-query searches returning positions."""
    times, hits = [], 0
    for q, want in zip(queries, truth):
        t = time.perf_counter()
        got = search(q)
        times.append(time.perf_counter() - t)
        hits += len(set(want.tolist()) & set(np.asarray(got).tolist()))
    return float(np.median(times) * 1000), hits / truth.size


def file_bytes(write: Callable[[str], object]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "index")
        write(path)
        return os.path.getsize(path)


def row(name: str, build_s: float, ram: float, p50: float, recall: float, note: str,
        exact_p50: float) -> None:
    print(f"  {name:<16}{build_s:9.1f}{ram / 1e6:10.1f}{p50:9.2f}{exact_p50 / p50:8.1f}x"
          f"{recall:10.3f}   {load():>5}  {note}", flush=True)


def _have(module: str) -> bool:
    """Whether a comparison library is installed (they are not app dependencies)."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        print(f"  ({module} not installed: pip install {module} to compare it)")
        return False
    return True


def bench(kind: str, n: int, libs: list[str], n_queries: int, tmp: Path) -> None:
    vecs = data(kind, n)
    rng = np.random.default_rng(1)
    queries = vecs[rng.choice(n, n_queries, replace=False)] + 0.05 * rng.standard_normal(
        (n_queries, DIM)).astype(np.float32)
    queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
    truth = np.argsort(-(queries @ vecs.T), axis=1)[:, :10]
    print(f"\n{n:,} {kind} vectors, {DIM}-d, {n_queries} queries (load {load()})")
    print(f"  {'index':<16}{'build s':>9}{'RAM MB':>10}{'p50 ms':>9}{'vs exact':>9}"
          f"{'recall@10':>10}   {'load':>5}  settings / 10 M projection")
    exact = ExactIndex(np.arange(n), vecs)
    e50, erec = measure(lambda q: exact.raw_search(q[None], 10)[1][0], queries, truth)
    row("exact (numpy)", 0.0, vecs.nbytes, e50, erec,
        f"10 M: {TEN_M * DIM * 4 / 1e9:.1f} GB", e50)
    ef = 96
    if "faiss" in libs:
        import faiss

        t = time.perf_counter()
        graph = hnsw_index.build_hnsw(np.arange(n), vecs)
        build = time.perf_counter() - t
        assert graph is not None
        ef = graph.ef
        p50, rec = measure(lambda q: graph.raw_search(q[None], 10)[1][0], queries, truth)
        ram = file_bytes(lambda p: faiss.write_index(graph.index, p))
        row("faiss HNSW", build, ram, p50, rec,
            f"efSearch {ef} (build-time recall {graph.recall:.3f}, visits "
            f"{graph.visited:.0%}; app uses it: {graph.worth_it()}); "
            f"10 M: {ram / n * TEN_M / 1e9:.1f} GB", e50)
    if "hnswlib" in libs and _have("hnswlib"):
        import hnswlib

        t = time.perf_counter()
        h = hnswlib.Index(space="ip", dim=DIM)
        h.init_index(max_elements=n, M=hnsw_index.HNSW_M,
                     ef_construction=hnsw_index.HNSW_EF_CONSTRUCTION)
        h.add_items(vecs, num_threads=os.cpu_count() or 1)
        build = time.perf_counter() - t
        h.set_ef(ef)
        p50, rec = measure(lambda q: h.knn_query(q[None], k=10)[0][0], queries, truth)
        ram = file_bytes(h.save_index)
        row("hnswlib HNSW", build, ram, p50, rec, f"efSearch {ef}", e50)
    if "usearch" in libs and _have("usearch"):
        from usearch.index import Index

        t = time.perf_counter()
        u = Index(ndim=DIM, metric="ip", dtype="f32", connectivity=hnsw_index.HNSW_M,
                  expansion_add=hnsw_index.HNSW_EF_CONSTRUCTION, expansion_search=ef)
        u.add(np.arange(n), vecs, threads=os.cpu_count() or 1)
        build = time.perf_counter() - t
        p50, rec = measure(lambda q: u.search(q, 10).keys, queries, truth)
        ram = file_bytes(lambda p: u.save(p))
        row("usearch HNSW", build, ram, p50, rec, f"efSearch {ef}", e50)
    t = time.perf_counter()
    ivf = ivfpq_index.build_ivfpq(np.arange(n), vecs, tmp / f"{kind}-{n}.f32")
    build = time.perf_counter() - t
    assert ivf is not None
    p50, rec = measure(lambda q: ivf.raw_search(q[None], 10)[1][0], queries, truth)
    ten_m = ivfpq_index.ram_estimate(TEN_M, DIM, int(ivf.index.code_size))
    row("faiss IVF-PQ", build, ivf.ram_bytes(), p50, rec,
        f"nlist {ivf.index.nlist} nprobe {ivf.tuning.nprobe} rerank {ivf.tuning.rerank} "
        f"(build-time recall {ivf.recall:.3f}); 10 M: {ten_m / 1e9:.2f} GB RAM "
        f"(codes {ivf.index.code_size} B/vector; floats memory-mapped)", e50)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="20000")
    parser.add_argument("--data", default="clustered,random")
    parser.add_argument("--libs", default="faiss,hnswlib,usearch")
    parser.add_argument("--queries", type=int, default=index_recall.SAMPLE_QUERIES // 2)
    args = parser.parse_args()
    import faiss

    print(f"faiss {faiss.__version__} ({faiss.omp_get_max_threads()} threads), "
          f"{os.cpu_count()} CPUs, load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            for kind in args.data.split(","):
                bench(kind, n, args.libs.split(","), args.queries, Path(tmp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
