"""Engine overhead on real-size architectures with random weights (no download).

BLIP base captioning latency and CLIP ViT-B/32 image-embedding throughput, each measured
through the app's engine and by calling transformers directly in the same run.
Run: python benchmarks/bench_hf.py [--reps N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

TOKENS = 20


def _images(n: int, seed: int) -> list[Image.Image]:
    rng = np.random.RandomState(seed)
    return [Image.fromarray((rng.rand(300, 400, 3) * 255).astype(np.uint8)) for _ in range(n)]


def build_blip(folder: Path) -> None:
    """BLIP base captioning at its published sizes (BlipConfig defaults), random weights."""
    from transformers import (BertTokenizer, BlipConfig, BlipForConditionalGeneration,
                              BlipImageProcessor, BlipProcessor)

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(30517)]
    (folder / "vocab.txt").write_text("\n".join(vocab + ["[DEC]", "[ENC]"]) + "\n")
    tok = BertTokenizer(str(folder / "vocab.txt"), bos_token="[DEC]",
                        additional_special_tokens=["[ENC]"])
    cfg = BlipConfig(text_config={"sep_token_id": 3, "pad_token_id": 0, "bos_token_id": 30522},
                     vision_config={"image_size": 384, "initializer_range": 0.02})
    cfg.architectures = ["BlipForConditionalGeneration"]
    model = BlipForConditionalGeneration(cfg).eval()
    with torch.no_grad():  # random weights: never stop early, so both paths make TOKENS tokens
        model.text_decoder.cls.predictions.bias[3] = -1e4
    model.save_pretrained(str(folder))
    proc = BlipProcessor(BlipImageProcessor(size={"height": 384, "width": 384}), tok)
    proc.save_pretrained(str(folder))


def build_clip(folder: Path) -> None:
    """CLIP ViT-B/32 at its published sizes (CLIPConfig defaults), random weights."""
    from transformers import (CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor,
                              CLIPTokenizer)

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    vocab.update({chr(c) + "</w>": len(vocab) + i for i, c in enumerate(range(97, 123))})
    vocab.update({chr(c): len(vocab) + i for i, c in enumerate(range(97, 123))})
    tok = CLIPTokenizer(vocab=vocab, merges=[])
    cfg = CLIPConfig(vision_config={"patch_size": 32})
    cfg.architectures = ["CLIPModel"]
    CLIPModel(cfg).eval().save_pretrained(str(folder))
    CLIPProcessor(CLIPImageProcessor(), tok).save_pretrained(str(folder))


def _time(fn, reps: int) -> float:
    times = []
    for i in range(reps):
        t0 = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_caption(folder: Path, reps: int) -> tuple[float, float]:
    from transformers import AutoProcessor, BlipForConditionalGeneration

    from vlm_desktop.core.device import choose_device
    from vlm_desktop.core.engine.hf import load_engine

    imgs = _images(2 * reps + 1, 0)
    engine = load_engine(folder, choose_device("cpu"))
    engine.max_new_tokens = TOKENS
    proc = AutoProcessor.from_pretrained(str(folder), local_files_only=True)
    model = BlipForConditionalGeneration.from_pretrained(str(folder), local_files_only=True).eval()

    def direct(i: int) -> None:
        with torch.no_grad():
            inputs = proc(images=imgs[2 * i], return_tensors="pt")
            out = model.generate(**inputs, max_new_tokens=TOKENS, do_sample=False, num_beams=1)
            proc.decode(out[0], skip_special_tokens=True)

    def through_engine(i: int) -> None:
        engine.caption(imgs[2 * i + 1])

    engine.caption(imgs[-1])  # warm-up both paths
    direct(0)
    return _time(direct, reps), _time(through_engine, reps)


def bench_embed(folder: Path, reps: int, batch: int = 16) -> tuple[float, float]:
    from transformers import AutoProcessor, CLIPModel

    from vlm_desktop.core.device import choose_device
    from vlm_desktop.core.engine.hf import load_engine

    engine = load_engine(folder, choose_device("cpu"))
    proc = AutoProcessor.from_pretrained(str(folder), local_files_only=True)
    model = CLIPModel.from_pretrained(str(folder), local_files_only=True).eval()
    sets = [_images(batch, 10 + i) for i in range(2 * reps + 1)]

    def direct(i: int) -> None:
        with torch.no_grad():
            px = proc(images=sets[2 * i], return_tensors="pt")["pixel_values"]
            feats = model.get_image_features(pixel_values=px)
            feats = feats if hasattr(feats, "shape") else feats.pooler_output
            torch.nn.functional.normalize(feats, dim=-1).numpy()

    def through_engine(i: int) -> None:
        engine.embed_images(sets[2 * i + 1])

    engine.embed_images(sets[-1])
    direct(0)
    d, e = _time(direct, reps), _time(through_engine, reps)
    return batch / d, batch / e


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU, float32")
    with tempfile.TemporaryDirectory() as tmp:
        blip, clip = Path(tmp) / "blip", Path(tmp) / "clip"
        blip.mkdir()
        clip.mkdir()
        build_blip(blip)
        d, e = bench_caption(blip, args.reps)
        rows = [("BLIP base caption latency (s, 20 tokens, 384 px)", d, e, e / d - 1)]
        build_clip(clip)
        d, e = bench_embed(clip, args.reps)
        rows.append(("CLIP ViT-B/32 image embedding (images/s, batch 16)", d, e, d / e - 1))
    print(f"{'measure':<52} {'direct':>9} {'engine':>9} {'overhead':>9}")
    for name, d, e, over in rows:
        print(f"{name:<52} {d:>9.3f} {e:>9.3f} {over:>+8.1%}")
    print("target: engine overhead under +10%")


if __name__ == "__main__":
    main()
