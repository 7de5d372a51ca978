"""Vision tower runtimes on the CPU, float32: the fused eager module against fused oneDNN.

"eager" is today's fused tower (`VisionTower.fuse`: batch norms folded, channels-last, 1x1
convolutions as one GEMM); "onednn" runs the same weights as oneDNN convolutions with bias,
ReLU6 and the residual add as post-ops and weights packed once (core/engine/lite/onednn.py).
Both are timed alternately (A/B/A/B) in one process at each batch size, at 224 px (the
catalog's scale), so load from other processes hits both alike; the load average is
printed beside each row. Compare the ratios more than the rates on a shared machine.

Agreement: the demo catalog's images (plus a few synthetic ones) encoded at 224 px by both:
pooled-feature cosine, image->image top-10 neighbour overlap, top-1 labels, max grid diff.
Then the runtime probe the app runs once per machine (runtime.probe) and how long it took.

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

from vlm_desktop.core.engine.lite import onednn, runtime, vision

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo_catalog" / "images"


def load() -> str:
    return "/".join(f"{v:.2f}" for v in os.getloadavg())


def batch_of(images: list[Image.Image], batch: int) -> torch.Tensor:
    """`batch` real images squashed to 224x224 (one shape, so one forward)."""
    tensors = [vision.preprocess(im.resize((224, 224)), 224) for im in images[:batch]]
    while len(tensors) < batch:
        tensors += tensors[: batch - len(tensors)]
    return torch.cat(tensors).contiguous(memory_format=torch.channels_last)


def rates(tower: vision.VisionTower, runner: onednn.OneDnnRunner, x: torch.Tensor,
          rounds: int, clock=time.perf_counter) -> dict[str, list[float]]:  # noqa: ANN001
    """img/s of each path per round, alternating, after one warm-up each."""
    paths = {"eager": tower, "onednn": runner}
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


def agreement(tower: vision.VisionTower, images: list[Image.Image]) -> dict[str, float]:
    runtime.apply(tower, "eager")
    eager = vision.encode(tower, images, long_side=224)
    runtime.apply(tower, "onednn")
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
    if not onednn.available():
        print("this PyTorch build has no oneDNN fused convolutions: eager only")
        return 0
    tower = vision.load_vision_tower()
    start = time.perf_counter()
    runner = onednn.OneDnnRunner(tower)
    build = time.perf_counter() - start
    files = sorted(DEMO.glob("*/*"))
    photos = [Image.open(f).convert("RGB") for f in files[:: max(1, len(files) // args.images)]]
    print(f"torch {torch.__version__}, threads {args.threads}, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}, oneDNN runner built in {build * 1000:.0f} ms")
    print(f"{'batch':>5} {'eager img/s':>12} {'onednn img/s':>13} {'ratio':>6} "
          f"{'(median e/o)':>14} {'load avg':>16}")
    for batch in (int(b) for b in args.batches.split(",")):
        got = rates(tower, runner, batch_of(photos, batch), args.rounds)
        e, o = max(got["eager"]), max(got["onednn"])
        me, mo = statistics.median(got["eager"]), statistics.median(got["onednn"])
        print(f"{batch:>5} {e:>12.1f} {o:>13.1f} {o / e:>5.2f}x {me:>6.1f}/{mo:<7.1f} {load():>16}")
    print("best round per path; the median shows how much load moved the figures")
    # CPU time of one thread: the work each path does per image, little moved by other
    # processes (wall time on a busy 2-core machine is mostly waiting).
    torch.set_num_threads(1)
    print(f"one thread, CPU time: {'batch':>5} {'eager ms/img':>13} {'onednn ms/img':>14} {'ratio':>6}")
    for batch in (int(b) for b in args.batches.split(",")):
        got = rates(tower, runner, batch_of(photos, batch), args.rounds, time.process_time)
        e, o = 1000 / max(got["eager"]), 1000 / max(got["onednn"])
        print(f"{'':>21} {batch:>5} {e:>13.1f} {o:>14.1f} {e / o:>5.2f}x")
    torch.set_num_threads(args.threads)

    fig = agreement(tower, photos)
    print("agreement, demo catalog at 224 px: " + ", ".join(
        f"{k} {v:.6g}" for k, v in fig.items()))
    start = time.perf_counter()
    choice = runtime.probe(tower)
    print(f"probe: {time.perf_counter() - start:.2f} s -> {choice.describe()} {choice.rates} "
          f"(load {load()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
