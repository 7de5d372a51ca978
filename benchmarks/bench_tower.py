"""Vision tower runtimes on the CPU, float32: fused eager, fused oneDNN and ONNX Runtime.

"eager" is the fused tower (`VisionTower.fuse`: batch norms folded, channels-last, 1x1
convolutions as one GEMM); "onednn" runs the same weights as oneDNN convolutions with bias,
ReLU6 and the residual add as post-ops and weights packed once (core/engine/lite/onednn.py);
"ort" runs them as an ONNX graph in ONNX Runtime (core/engine/lite/ort_tower.py). All are
timed alternately (A/B/C/A/B/C) in one process, so load from other processes hits them
alike; the load average is printed beside each row. Compare ratios more than rates on a
shared machine.

1. Squares: batches of 224x224 images (one shape per forward).
2. Catalog forwards: the demo catalog's images through `evidence.summarise` (the two 224 px
   views the catalog stores, grouped by size as indexing groups them), items/s per path.
3. One thread, CPU time per image (the work each path does, least moved by load).
4. Agreement with eager on the demo catalog's images at 224 px: pooled-feature cosine,
   image->image top-10 neighbour overlap, top-1 labels, max grid difference.
5. The runtime probe the app runs once per machine (runtime.probe) and how long it took.

    nice python benchmarks/bench_tower.py [--threads 2] [--rounds 4] [--batches 4,8,16,32]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vlm_desktop.core.engine.lite import evidence, onednn, ort_tower, runtime, vision

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo_catalog" / "images"


def load() -> str:
    return "/".join(f"{v:.2f}" for v in os.getloadavg())


def batch_of(images: list[Image.Image], batch: int) -> torch.Tensor:
    """`batch` real images squashed to 224x224 (one shape, so one forward)."""
    tensors = [vision.preprocess(im.resize((224, 224)), 224) for im in images[:batch]]
    while len(tensors) < batch:
        tensors += tensors[: batch - len(tensors)]
    return torch.cat(tensors).contiguous(memory_format=torch.channels_last)


def rates(paths: dict, x: torch.Tensor, rounds: int,  # noqa: ANN001
          clock=time.perf_counter) -> dict[str, list[float]]:  # noqa: ANN001
    """img/s of each path per round, alternating, after one warm-up each."""
    out: dict[str, list[float]] = {name: [] for name in paths}
    with torch.inference_mode():
        for fn in paths.values():
            fn(x)
        for _ in range(rounds):
            for name, fn in paths.items():
                start = clock()
                fn(x)
                out[name].append(len(x) / max(clock() - start, 1e-9))
    return out


def catalog_rates(tower: vision.VisionTower, paths: dict, images: list[Image.Image],  # noqa: ANN001
                  rounds: int) -> dict[str, list[float]]:
    """items/s of the catalog's two-view forwards per path and round, alternating."""
    out: dict[str, list[float]] = {name: [] for name in paths}
    for round_ in range(rounds + 1):
        for name, runner in paths.items():
            tower.runner = None if name == "eager" else runner
            start = time.perf_counter()
            evidence.summarise(tower, images)
            if round_:  # the first round warms every path up at these sizes
                out[name].append(len(images) / (time.perf_counter() - start))
    tower.runner = None
    return out


def agreement(tower: vision.VisionTower, images: list[Image.Image], name: str) -> dict[str, float]:
    runtime.apply(tower, "eager")
    eager = vision.encode(tower, images, long_side=224)
    runtime.apply(tower, name)
    fast = vision.encode(tower, images, long_side=224)
    runtime.apply(tower, "eager")
    a = np.stack([f.pooled for f in eager]).astype(np.float64)
    b = np.stack([f.pooled for f in fast]).astype(np.float64)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)

    def top10(p: np.ndarray) -> np.ndarray:
        u = p / np.linalg.norm(p, axis=1, keepdims=True)
        s = u @ u.T
        np.fill_diagonal(s, -np.inf)
        return np.argsort(-s, axis=1)[:, :10]

    overlap = np.mean([len(set(x) & set(y)) / 10 for x, y in zip(top10(a), top10(b))])
    same_top1 = np.mean([e.top(1)[0][0] == f.top(1)[0][0] for e, f in zip(eager, fast)])
    rel = max(float(np.abs(f.grid - e.grid).max() / max(np.abs(e.grid).max(), 1e-6))
              for e, f in zip(eager, fast))
    return {"images": len(images), "pooled cosine min": float(cos.min()),
            "1 - cosine max": float(1 - cos.min()),
            "top-10 overlap": float(overlap), "same top-1": float(same_top1),
            "max grid rel diff": rel}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=4, help="timed rounds per path and batch")
    parser.add_argument("--batches", default="4,8,16,32")
    parser.add_argument("--images", type=int, default=120, help="demo images for agreement")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tower = vision.load_vision_tower()
    paths: dict = {"eager": tower}
    built = []
    for name, make in (("onednn", onednn.OneDnnRunner), ("ort", ort_tower.OrtRunner)):
        if not (onednn.available() if name == "onednn" else ort_tower.available()):
            print(f"{name}: not available here")
            continue
        start = time.perf_counter()
        paths[name] = make(tower)
        built.append(f"{name} runner built in {(time.perf_counter() - start) * 1000:.0f} ms")
    files = sorted(DEMO.glob("*/*"))
    photos = [Image.open(f).convert("RGB") for f in files[:: max(1, len(files) // args.images)]]
    names = list(paths)
    print(f"torch {torch.__version__}, threads {args.threads}, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}; " + "; ".join(built))

    def table(got: dict[str, list[float]]) -> str:
        best = {n: max(v) for n, v in got.items()}
        cells = [f"{best[n]:>9.1f}" for n in names]
        ratios = [f"{best[n] / best['eager']:>5.2f}x" for n in names[1:]]
        return " ".join(cells + ratios)

    header = " ".join(f"{n:>9}" for n in names) + " " + " ".join(f"{n + '/e':>6}" for n in names[1:])
    print(f"\n1. squares at 224 px, img/s (best round)\n{'batch':>5} {header} {'load avg':>16}")
    for batch in (int(b) for b in args.batches.split(",")):
        print(f"{batch:>5} {table(rates(paths, batch_of(photos, batch), args.rounds))} {load():>16}")
    print(f"\n2. catalog forwards ({len(photos)} demo images, both 224 px views), items/s")
    print(f"{'':>5} {header} {'load avg':>16}")
    print(f"{'':>5} {table(catalog_rates(tower, paths, photos, max(2, args.rounds // 2)))} {load():>16}")
    # CPU time of one thread: the work each path does per image, little moved by other
    # processes (wall time on a busy 2-core machine is mostly waiting).
    torch.set_num_threads(1)
    single = dict(paths)
    if "ort" in single:
        single["ort"] = ort_tower.OrtRunner(tower, threads=1)
    print(f"\n3. one thread, CPU ms/img\n{'batch':>5} " + " ".join(f"{n:>9}" for n in names))
    for batch in (int(b) for b in args.batches.split(",")):
        got = rates(single, batch_of(photos, batch), args.rounds, time.process_time)
        print(f"{batch:>5} " + " ".join(f"{1000 / max(got[n]):>9.1f}" for n in names))
    torch.set_num_threads(args.threads)
    print()
    for name in names[1:]:
        fig = agreement(tower, photos, name)
        print(f"4. agreement {name} vs eager, demo catalog at 224 px: " + ", ".join(
            f"{k} {v:.6g}" for k, v in fig.items()))
    start = time.perf_counter()
    choice = runtime.probe(tower)
    print(f"\n5. probe: {time.perf_counter() - start:.2f} s -> {choice.describe()} {choice.rates} "
          f"(load {load()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
