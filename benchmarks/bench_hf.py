"""Engine overhead on real-size architectures with random weights (no download).

BLIP base captioning latency and CLIP ViT-B/32 image-embedding throughput, each measured
through the app's engine and by calling transformers directly in the same run, in turns.
The engine's caption always carries per-word maps, so it is compared with both a bare direct
caption and a direct caption that also computes the per-token cross-attention.
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


def _time_pair(first, second, reps: int) -> tuple[float, float]:
    """Median seconds of two callables run in turns (ABBA...), so load spikes hit both alike."""
    times: tuple[list[float], list[float]] = ([], [])
    for i in range(reps):
        order = ((0, first), (1, second)) if i % 2 == 0 else ((1, second), (0, first))
        for slot, fn in order:
            t0 = time.perf_counter()
            fn(i)
            times[slot].append(time.perf_counter() - t0)
    return statistics.median(times[0]), statistics.median(times[1])


def bench_caption(folder: Path, reps: int) -> tuple[float, float, float, float]:
    """(direct text only, engine, direct text + word maps, engine) median seconds per caption.

    The engine always returns word maps, confidence and streamed text, so it is set beside
    two direct baselines: the bare caption, and the least plain transformers needs for the
    same output (BLIP's generate returns no cross-attention, so a teacher-forced second pass).
    """
    from transformers import AutoProcessor, BlipForConditionalGeneration

    from vlm_desktop.core.cancel import JobState
    from vlm_desktop.core.device import choose_device
    from vlm_desktop.core.engine.hf import load_engine

    imgs = _images(4 * reps + 2, 0)  # a new picture every call: no cached image features
    engine = load_engine(folder, choose_device("cpu"))
    engine.max_new_tokens = TOKENS
    proc = AutoProcessor.from_pretrained(str(folder), local_files_only=True)
    model = BlipForConditionalGeneration.from_pretrained(str(folder), local_files_only=True).eval()

    def direct(image: Image.Image) -> None:
        with torch.no_grad():
            inputs = proc(images=image, return_tensors="pt")
            out = model.generate(**inputs, max_new_tokens=TOKENS, do_sample=False, num_beams=1)
            proc.decode(out[0], skip_special_tokens=True)

    def direct_with_maps(image: Image.Image) -> None:
        text_cfg = model.config.text_config
        with torch.no_grad():
            pixels = proc(images=image, return_tensors="pt")["pixel_values"]
            embeds = model.vision_model(pixel_values=pixels).last_hidden_state
            start = torch.tensor([[text_cfg.bos_token_id]])
            out = model.text_decoder.generate(
                input_ids=start, encoder_hidden_states=embeds, eos_token_id=text_cfg.sep_token_id,
                pad_token_id=text_cfg.pad_token_id, max_new_tokens=TOKENS, do_sample=False,
                num_beams=1, output_scores=True, return_dict_in_generate=True)
            proc.decode(out.sequences[0], skip_special_tokens=True)
            dec = model.text_decoder(input_ids=out.sequences[:, :-1], encoder_hidden_states=embeds,
                                     output_attentions=True, use_cache=False)
            torch.stack([a[0, :, :, 1:] for a in dec.cross_attentions]).mean((0, 1))

    def through_engine(image: Image.Image) -> None:
        engine.caption(image, JobState(on_partial=lambda text: None))  # streams, as the app does

    through_engine(imgs[-1])  # warm-up every path
    direct(imgs[-2])
    direct_with_maps(imgs[-2])
    d_text, e_text = _time_pair(lambda i: direct(imgs[4 * i]),
                                lambda i: through_engine(imgs[4 * i + 1]), reps)
    d_maps, e_maps = _time_pair(lambda i: direct_with_maps(imgs[4 * i + 2]),
                                lambda i: through_engine(imgs[4 * i + 3]), reps)
    return d_text, e_text, d_maps, e_maps


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
    d, e = _time_pair(direct, through_engine, reps)
    return batch / d, batch / e


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU, float32, "
          f"load average before {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        blip, clip = Path(tmp) / "blip", Path(tmp) / "clip"
        blip.mkdir()
        clip.mkdir()
        build_blip(blip)
        d_text, e_text, d_maps, e_maps = bench_caption(blip, args.reps)
        rows = [("BLIP base caption, text only (s, 20 tokens, 384 px)", d_text, e_text,
                 e_text / d_text - 1),
                ("BLIP base caption + word maps (s, same)", d_maps, e_maps, e_maps / d_maps - 1)]
        build_clip(clip)
        d, e = bench_embed(clip, args.reps)
        rows.append(("CLIP ViT-B/32 image embedding (images/s, batch 16)", d, e, d / e - 1))
    print(f"{'measure':<53} {'direct':>9} {'engine':>9} {'overhead':>9}")
    for name, d, e, over in rows:
        print(f"{name:<53} {d:>9.3f} {e:>9.3f} {over:>+8.1%}")
    print(f"load average after {os.getloadavg()[0]:.2f} (other work here slows both columns)")
    print("target: engine overhead under +10% (engine captions always include word maps,")
    print("confidence and streamed text; each pair ran in turns, medians of --reps)")


if __name__ == "__main__":
    main()
