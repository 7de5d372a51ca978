"""Time to first token and tokens/s of the generic chat backend (a LLaVA with random weights).

The same folder answers through the app's engine (streamed, cancellable, with its per-word
attention maps) and through transformers directly (processor + `generate` with a streamer),
in turns, in one run,
so the ratio holds under whatever load the machine has. No download: the model is built here.
Run: python benchmarks/bench_chat.py [--reps N] [--hidden H] [--layers L]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import torch  # noqa: E402
from hf_fixtures import LLAVA_TEMPLATE, _chat_tokenizer, sample_image  # noqa: E402

TOKENS = 32


def build_llava(folder: Path, hidden: int, layers: int) -> None:
    """A LLaVA: CLIP ViT (224 px, 16 px patches: 196 image tokens) and a Llama of `layers`."""
    from transformers import (CLIPImageProcessor, GenerationConfig, LlavaConfig,
                              LlavaForConditionalGeneration, LlavaProcessor)

    torch.manual_seed(0)
    tok = _chat_tokenizer(("<image>",), "<s>", "</s>", "<pad>")
    vision = dict(model_type="clip_vision_model", hidden_size=hidden, intermediate_size=4 * hidden,
                  num_hidden_layers=layers, num_attention_heads=max(1, hidden // 64),
                  image_size=224, patch_size=16)
    text = dict(model_type="llama", vocab_size=len(tok), hidden_size=hidden,
                intermediate_size=4 * hidden, num_hidden_layers=layers,
                num_attention_heads=max(1, hidden // 64), max_position_embeddings=1024,
                bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                pad_token_id=tok.pad_token_id)
    cfg = LlavaConfig(vision_config=vision, text_config=text, image_seq_length=196,
                      image_token_id=tok.convert_tokens_to_ids("<image>"))
    cfg.architectures = ["LlavaForConditionalGeneration"]
    model = LlavaForConditionalGeneration(cfg).eval()
    # Both paths must make exactly TOKENS tokens: never stop early.
    model.generation_config = GenerationConfig(
        eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
        min_new_tokens=TOKENS, max_new_tokens=TOKENS, do_sample=False)
    model.save_pretrained(str(folder))
    image_proc = CLIPImageProcessor(size={"shortest_edge": 224},
                                    crop_size={"height": 224, "width": 224})
    LlavaProcessor(image_proc, tok, patch_size=16, vision_feature_select_strategy="default",
                   num_additional_image_tokens=1, chat_template=LLAVA_TEMPLATE
                   ).save_pretrained(str(folder))


class _FirstToken:
    """A transformers streamer that notes when the first generated token arrives."""

    def __init__(self) -> None:
        self.calls = 0
        self.first = 0.0

    def put(self, value: torch.Tensor) -> None:
        self.calls += 1
        if self.calls == 2:  # the first put is the prompt
            self.first = time.perf_counter()

    def end(self) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    args = parser.parse_args()
    from vlm_desktop.core.cancel import JobState
    from vlm_desktop.core.device import choose_device
    from vlm_desktop.core.engine.hf import load_engine

    folder = Path(tempfile.mkdtemp(prefix="bench-chat-"))
    build_llava(folder, args.hidden, args.layers)
    engine = load_engine(folder, choose_device("cpu"))
    image, question = sample_image(224, 224), "what colour is the car?"

    def via_engine() -> tuple[float, float]:
        first: list[float] = []
        t0 = time.perf_counter()
        engine.answer(image, question, JobState(
            on_partial=lambda _t: first.append(time.perf_counter()) if not first else None))
        return first[0] - t0, time.perf_counter() - t0

    def direct() -> tuple[float, float]:
        streamer = _FirstToken()
        t0 = time.perf_counter()
        inputs = engine._inputs(image, question)  # the same processor call and chat template
        with torch.no_grad():
            engine.model.generate(**inputs, do_sample=False, streamer=streamer)
        return streamer.first - t0, time.perf_counter() - t0

    via_engine(), direct()  # warm-up
    runs: dict[str, list[tuple[float, float]]] = {"engine": [], "direct": []}
    for i in range(args.reps):
        order = (("engine", via_engine), ("direct", direct))
        for name, fn in order if i % 2 == 0 else order[::-1]:
            runs[name].append(fn())
    params = sum(p.numel() for p in engine.model.parameters()) / 1e6
    print(f"LLaVA, {params:.1f} M parameters, 196 image tokens, {TOKENS} tokens, CPU, "
          f"{torch.get_num_threads()} threads, load {open('/proc/loadavg').read().split()[0]}")
    for name, rows in runs.items():
        ttft = statistics.median(r[0] for r in rows)
        total = statistics.median(r[1] for r in rows)
        rate = (TOKENS - 1) / max(statistics.median(r[1] - r[0] for r in rows), 1e-9)
        print(f"{name:>7}: time to first token {ttft * 1000:7.1f} ms, "
              f"{rate:6.1f} tokens/s after it, whole answer {total * 1000:7.1f} ms")
    print("(the engine's whole answer includes the attention pass that maps each word)")


if __name__ == "__main__":
    main()
