"""`vision.encode` of 32 PIL images beside the bare tower on the same inputs, in one run.

encode = resize + normalise (preprocess), grouping by input size, the tower's forwards
through the runtime this machine chose (runtime.py), pooling and the classifier, per image.
bare = only the tower's forwards, on the very batches encode builds, prepared beforehand.
Rounds alternate (encode, bare, encode, ...) so load drift hits both; prints the medians
and bare/encode (issue 12's target: encode at least 0.9x the bare tower).

    python benchmarks/bench_encode.py [--rounds 7] [--long-side 224] [--images 32]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

# As the app sets it (app.main) before torch loads: without it torch's OpenMP threads spin
# after each torch op (the batch's torch.cat) and take a core from ONNX Runtime's next
# forward; measured here, encode fell from 0.77x to 0.45-0.57x of the bare tower.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from vlm_desktop.core.catalog.indexer import DECODE_MAX_SIDE  # noqa: E402
from vlm_desktop.core.device import choose_device  # noqa: E402
from vlm_desktop.core.engine.lite import vision  # noqa: E402
from vlm_desktop.core.engine.lite.engine import LiteEngine  # noqa: E402
from vlm_desktop.core.images import load_image  # noqa: E402

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo_catalog" / "images"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--long-side", type=int, default=224)
    parser.add_argument("--images", type=int, default=32)
    args = parser.parse_args()
    engine = LiteEngine.load(choose_device("cpu"))
    tower = engine.tower
    files = sorted(DEMO.glob("*/*"))
    files = files[:: max(1, len(files) // args.images)][:args.images]
    images = [load_image(str(f), max_side=DECODE_MAX_SIDE) for f in files]
    # The batches encode builds: the same grouping by input size and batch limit.
    inputs = [vision.preprocess(im, args.long_side) for im in images]
    groups: dict[tuple[int, ...], list[torch.Tensor]] = {}
    for x in inputs:
        groups.setdefault(tuple(x.shape), []).append(x)
    batches = []
    for shape, xs in groups.items():
        step = vision._batch_limit(shape, getattr(tower, "batch_pixels", vision._BATCH_PIXELS))
        batches += [torch.cat(xs[i:i + step]) for i in range(0, len(xs), step)]

    def encode() -> None:
        vision.encode(tower, images, long_side=args.long_side)

    def bare() -> None:
        with torch.inference_mode():
            for b in batches:
                tower(b)

    encode(), bare()  # warm-up
    times: dict[str, list[float]] = {"encode": [], "bare": []}
    for i in range(args.rounds):
        order = [("encode", encode), ("bare", bare)]
        for name, fn in (order if i % 2 == 0 else order[::-1]):
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    e, b = statistics.median(times["encode"]), statistics.median(times["bare"])
    print(f"tower runtime: {engine.runtime.describe()}; {len(images)} demo images at "
          f"{args.long_side} px in {len(batches)} forwards; load {os.getloadavg()[0]:.2f}")
    print(f"vision.encode (preprocess + forwards + pooling): median {e * 1000:.0f} ms "
          f"({len(images) / e:.1f} img/s)")
    print(f"bare tower forwards, same batches:            median {b * 1000:.0f} ms "
          f"({len(images) / b:.1f} img/s)")
    print(f"encode rate / bare rate: {b / e:.2f}x (target >= 0.90x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
