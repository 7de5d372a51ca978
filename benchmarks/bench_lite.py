"""Speed of the built-in model: load, encode (batch 1 and 16), caption, answer.

Prints measured figures beside the targets of issue 3 (2-core CPU, after warm-up) and the
ratio of an end-to-end caption to the vision tower's bare forward pass in the same run.
With --profile, also prints where a fresh caption and the answers spend their time (cProfile).
Run: python benchmarks/bench_lite.py [--device cpu|cuda] [--repeats N] [--threads N] [--profile]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from PIL import Image


def _ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _profile(fn) -> None:
    """cProfile of `fn`, top entries by cumulative time."""
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    for _ in range(3):
        fn()
    prof.disable()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(25)


def _photos() -> list[Image.Image]:
    import skimage.data as sd

    return [Image.fromarray(getattr(sd, n)()).convert("RGB") for n in ("chelsea", "coffee", "rocket")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0,
                        help="CPU threads (default: what the device module picks)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the hot paths")
    args = parser.parse_args()

    import torch

    from vlm_desktop.core.device import choose_device
    from vlm_desktop.core.engine.lite import vision
    from vlm_desktop.core.engine.lite.engine import LiteEngine

    device = choose_device(args.device)
    if args.threads:
        from dataclasses import replace

        device = replace(device, threads=args.threads)
    LiteEngine.load(device).close()  # first load builds the on-disk label cache
    start = time.perf_counter()
    engine = LiteEngine.load(device)
    load_s = time.perf_counter() - start

    photos = _photos()
    cat = photos[0]
    rng = np.random.default_rng(0)
    fresh = iter(Image.fromarray(rng.integers(0, 255, (480, 640, 3), np.uint8))
                 for _ in range(10_000))
    batch16 = [cat.resize((640, 480))] * 16

    def encode_one() -> None:
        engine.evidence([next(fresh)])

    def encode_16() -> None:
        from vlm_desktop.core.engine.lite.evidence import encode_evidence

        encode_evidence(engine.tower, batch16)

    x = vision.preprocess(cat, 448).to(next(engine.tower.parameters()))

    def bare_forward() -> None:
        with torch.inference_mode():
            engine.tower(x)
        if device.is_cuda:
            torch.cuda.synchronize()

    def caption_fresh() -> None:
        engine.caption(next(fresh))

    engine.caption(cat)  # warm-up, and encodes the cat once
    for _ in range(2):
        encode_one(), bare_forward()
    forward_ms = _ms(bare_forward, args.repeats)
    encode1_ms = _ms(encode_one, args.repeats)
    encode16_ms = _ms(encode_16, max(1, args.repeats // 2)) / 16
    caption_e2e_ms = _ms(caption_fresh, args.repeats)
    caption_ms = _ms(lambda: engine.caption(cat), args.repeats)
    from vlm_desktop.core.engine.lite.captioner import _compose_caption

    cat_ev = engine.evidence([cat])[0]
    compose_ms = _ms(lambda: _compose_caption(engine.hier, cat_ev), args.repeats)
    questions = ["what is this?", "what colour is the cat?", "is there a dog?",
                 "where is the cat?", "how many cats are there?", "what is the price?"]
    for q in questions:
        engine.answer(cat, q)  # warm the phrase cache as a session would
    answer_ms = {q: _ms(lambda q=q: engine.answer(cat, q), args.repeats) for q in questions}

    print(f"VLM Lite benchmark on {device.device} ({device.dtype}, {torch.get_num_threads()} threads)")
    print(f"{'measure':44} {'measured':>10}  target")
    rows = [
        ("model load (label cache warm)", f"{load_s:.2f} s", "< 3 s"),
        ("vision tower bare forward, 448 px", f"{forward_ms:.0f} ms", ""),
        ("image encode, batch 1 (both views)", f"{encode1_ms:.0f} ms", ""),
        ("image encode, batch 16, per image", f"{encode16_ms:.0f} ms", ""),
        ("caption, already encoded image (memoised)", f"{caption_ms:.0f} ms", ""),
        ("caption composition, not memoised", f"{compose_ms:.0f} ms", ""),
        ("caption end to end (new image)", f"{caption_e2e_ms:.0f} ms", "< 300 ms"),
        ("ratio caption end to end / bare forward", f"{caption_e2e_ms / forward_ms:.2f}", ""),
    ]
    rows += [(f"answer '{q}' (encoded)", f"{ms:.0f} ms", "< 100 ms") for q, ms in answer_ms.items()]
    for name, value, target in rows:
        print(f"{name:44} {value:>10}  {target}")
    if args.profile:
        _profile(lambda: [caption_fresh()] + [engine.answer(cat, q) for q in questions])
    engine.close()


if __name__ == "__main__":
    main()
