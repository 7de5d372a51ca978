"""How fast Cancel stops a chat model that is still reading the image (the prefill).

Builds Qwen2-VL at its 2B sizes with random weights (no download; the vocabulary is the
tiny test tokenizer's, which only shrinks the embedding table), then, through the app's
engine, starts an answer, cancels it while the language model is in the prefill, and
times cancel → `Cancelled`. The same is measured with the per-block checks switched off
(what the engine did before: a cancel waited for the prefill and the first token).
Run: python benchmarks/bench_cancel.py [--side PX] [--reps N]   (needs ~14 GB of RAM)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def build(folder: Path, side: int) -> None:
    """The tiny test model's tokenizer and processor around a 2B-sized Qwen2-VL."""
    import torch
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    import hf_fixtures

    tiny = hf_fixtures.qwen2_vl_folder()
    small = Qwen2VLConfig.from_pretrained(tiny)
    text = small.text_config.to_dict()
    text.update(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                num_attention_heads=12, num_key_value_heads=2, layer_types=None,
                rope_parameters={"rope_type": "default", "rope_theta": 1000000.0,
                                 "mrope_section": [16, 24, 24]})
    vision = small.vision_config.to_dict()
    vision.update(depth=32, embed_dim=1280, num_heads=16, hidden_size=1536)
    cfg = Qwen2VLConfig(text_config=text, vision_config=vision,
                        **{k: getattr(small, k) for k in (
                            "image_token_id", "video_token_id", "vision_start_token_id",
                            "vision_end_token_id")})
    cfg.architectures = ["Qwen2VLForConditionalGeneration"]
    with torch.device("cpu"):
        model = Qwen2VLForConditionalGeneration(cfg).eval()
    model.generation_config.min_new_tokens = 1
    model.generation_config.max_new_tokens = 4
    model.save_pretrained(str(folder))
    del model
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(tiny, local_files_only=True)
    px = side * side
    processor.image_processor.min_pixels = processor.image_processor.max_pixels = px
    processor.save_pretrained(str(folder))


def cancel_latency(engine, image, hooks_on: bool) -> tuple[float, float]:
    """(seconds from cancel to Cancelled, seconds the vision tower took)."""
    from vlm_desktop.core.cancel import Cancelled, JobState
    from vlm_desktop.core.engine.hf import chat

    state = JobState()
    vision_done = threading.Event()
    started = time.perf_counter()
    vision_s: list[float] = []

    def on_vision(*_args) -> None:
        if not vision_done.is_set():
            vision_s.append(time.perf_counter() - started)
            vision_done.set()

    hook = engine.model.model.visual.register_forward_hook(on_vision)
    real = chat.cancellable
    if not hooks_on:
        chat.cancellable = lambda model, state: contextlib.nullcontext()
    ended: list[float] = []

    def run() -> None:
        try:
            engine.answer(image, "What is in the picture?", state)
        except Cancelled:
            pass
        ended.append(time.perf_counter())

    worker = threading.Thread(target=run)
    worker.start()
    vision_done.wait()
    time.sleep(0.2)  # well inside the language model's prefill
    cancelled_at = time.perf_counter()
    state.token.cancel()
    worker.join()
    hook.remove()
    chat.cancellable = real
    return ended[0] - cancelled_at, vision_s[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--side", type=int, default=448, help="image side in pixels")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    import numpy as np
    import torch
    from PIL import Image

    from vlm_desktop.core.device import choose_device
    from vlm_desktop.core.engine.hf import load_engine

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        build(Path(tmp), args.side)
        print(f"built Qwen2-VL at 2B sizes in {time.perf_counter() - t0:.0f} s", flush=True)
        engine = load_engine(tmp, choose_device("cpu"))
    rng = np.random.RandomState(0)
    image = Image.fromarray((rng.rand(args.side, args.side, 3) * 255).astype(np.uint8))
    params = sum(p.numel() for p in engine.model.parameters()) / 1e9
    t0 = time.perf_counter()
    engine.answer(image, "What is in the picture?")
    full = time.perf_counter() - t0
    print(f"{params:.2f} B parameters, {args.side}x{args.side} image, "
          f"{torch.get_num_threads()} threads: one answer (4 tokens) {full:.1f} s", flush=True)
    rows = {True: [], False: []}
    for _ in range(args.reps):
        for hooks_on in (True, False):
            latency, vision = cancel_latency(engine, image, hooks_on)
            rows[hooks_on].append(latency)
            print(f"  cancel with per-block checks {'on ' if hooks_on else 'off'}: "
                  f"{latency * 1000:7.0f} ms (vision tower took {vision:.1f} s)", flush=True)
    on, off = statistics.median(rows[True]), statistics.median(rows[False])
    print(f"median cancel → stopped: {on * 1000:.0f} ms with per-block checks, "
          f"{off * 1000:.0f} ms without ({off / on:.0f}x); target < 200 ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
