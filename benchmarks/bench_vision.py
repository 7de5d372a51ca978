"""Vision tower forward on the CPU: checkpoint layout (baseline) against the fused tower.

Baseline is `load_vision_tower(fuse=False)`: batch norms as separate layers, contiguous
(NCHW) tensors, TF padding by a padded copy. Optimised is the default fused tower: batch
norms folded into the convolutions, channels-last tensors, 1x1 convolutions as one GEMM,
strided TF padding by a shifted kernel. The two are timed alternately (A/B/A/B) in one
process, so load from other processes on a shared machine hits both alike; compare the
ratios more than the milliseconds.

    python benchmarks/bench_vision.py [--threads 2] [--runs 5] [--long-side 448]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from PIL import Image
from skimage import data

from vlm_desktop.core.engine.lite.vision import load_vision_tower, preprocess


def timed_load(fuse: bool) -> tuple[torch.nn.Module, float]:
    start = time.perf_counter()
    tower = load_vision_tower(fuse=fuse)
    return tower, time.perf_counter() - start


def alternate(towers: dict[str, torch.nn.Module], x: torch.Tensor, runs: int) -> dict[str, float]:
    """Median ms per forward of each tower, runs interleaved, after one warm-up each."""
    times: dict[str, list[float]] = {name: [] for name in towers}
    with torch.inference_mode():
        for tower in towers.values():
            tower(x)
        for _ in range(runs):
            for name, tower in towers.items():
                start = time.perf_counter()
                tower(x)
                times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per tower at batch 1")
    parser.add_argument("--long-side", type=int, default=448)
    parser.add_argument("--batches", default="1,16")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    baseline, baseline_load = timed_load(fuse=False)
    fused, fused_load = timed_load(fuse=True)
    towers = {"baseline": baseline, "optimised": fused}
    side = args.long_side
    photo = Image.fromarray(data.chelsea()).resize((side, side))
    start = time.perf_counter()
    one = preprocess(photo, side)
    prep_ms = (time.perf_counter() - start) * 1000

    print(f"threads {args.threads}, input {side}x{side}, load baseline {baseline_load:.2f} s, "
          f"load optimised (incl. fusion) {fused_load:.2f} s, preprocess {prep_ms:.1f} ms")
    print(f"{'batch':>5} {'baseline ms':>12} {'optimised ms':>13} {'opt ms/img':>11} "
          f"{'speedup':>8} {'max |diff|':>11}")
    for batch in (int(b) for b in args.batches.split(",")):
        x = one.expand(batch, -1, -1, -1).contiguous()
        with torch.inference_mode():
            diff = (fused(x) - baseline(x)).abs().max().item()
        # Big batches take seconds each; fewer runs keep the whole script near a minute.
        runs = args.runs if batch <= 4 else max(2, args.runs // 2)
        ms = alternate(towers, x, runs)
        print(f"{batch:>5} {ms['baseline']:>12.1f} {ms['optimised']:>13.1f} "
              f"{ms['optimised'] / batch:>11.1f} {ms['baseline'] / ms['optimised']:>7.2f}x "
              f"{diff:>11.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
