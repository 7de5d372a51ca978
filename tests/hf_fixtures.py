"""Tiny random-weight Hugging Face models with working processors, built offline for tests.

Each builder writes a folder in the standard layout (config.json, processor and tokenizer
files, model.safetensors) exactly as `save_pretrained` does for a real model, so the app
loads it through the same path a user's download takes. Builders are cached per process:
every test module shares one folder per family.
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"

WORDS = (
    "a an the of on in with and is are what colour color red green blue white black yellow "
    "cat dog car picture photo image sky tree house person man woman shirt table cup "
    "coffee rocket two one three there how many sitting standing big small left right "
    "yes no it this that looks like mostly"
).split()

TINY_IMAGE = 32  # pixels; 8-pixel patches give a 4x4 grid
_ROOT = Path(tempfile.mkdtemp(prefix="vlm-hf-fixtures-"))


def _seed() -> None:
    import torch

    torch.manual_seed(0)


def _bert_vocab(folder: Path) -> Path:
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokens = specials + WORDS + list("abcdefghijklmnopqrstuvwxyz?.,") + ["[DEC]", "[ENC]"]
    path = folder / "vocab.txt"
    path.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return path


def _blip_processor(folder: Path):
    from transformers import BertTokenizer, BlipImageProcessor, BlipProcessor

    vocab = _bert_vocab(folder)
    tok = BertTokenizer(str(vocab), do_lower_case=True, bos_token="[DEC]",
                        additional_special_tokens=["[ENC]"], model_max_length=32)
    size = {"height": TINY_IMAGE, "width": TINY_IMAGE}
    return BlipProcessor(BlipImageProcessor(size=size), tok), tok


def _blip_config(tok, architecture: str):
    from transformers import BlipConfig

    text = dict(vocab_size=len(tok), hidden_size=32, encoder_hidden_size=32,
                intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                max_position_embeddings=40, bos_token_id=tok.convert_tokens_to_ids("[DEC]"),
                pad_token_id=tok.pad_token_id, sep_token_id=tok.sep_token_id,
                eos_token_id=tok.sep_token_id)
    # BLIP's vision default initializer_range (1e-10) would make every patch look alike.
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=2, image_size=TINY_IMAGE, patch_size=8,
                  initializer_range=0.02)
    cfg = BlipConfig(text_config=text, vision_config=vision, projection_dim=16,
                     image_text_hidden_size=16)
    cfg.architectures = [architecture]
    return cfg


def _save(model, processor, folder: Path) -> Path:
    model.save_pretrained(str(folder), safe_serialization=True)
    processor.save_pretrained(str(folder))
    return folder


def blip_folder(architecture: str = "BlipForConditionalGeneration") -> Path:
    """A tiny BLIP model of the given head (caption, question answering or retrieval)."""
    return _blip_folder(architecture)


@functools.lru_cache(maxsize=None)
def _blip_folder(architecture: str) -> Path:
    import transformers

    _seed()
    folder = _ROOT / f"blip-{architecture}"
    folder.mkdir()
    processor, tok = _blip_processor(folder)
    model = getattr(transformers, architecture)(_blip_config(tok, architecture)).eval()
    if hasattr(model, "text_decoder"):
        # Random weights may end at once; never choosing [SEP] makes every answer run to
        # max_new_tokens, which the streaming and cancel tests rely on.
        import torch

        with torch.no_grad():
            model.text_decoder.cls.predictions.bias[tok.sep_token_id] = -1e4
    return _save(model, processor, folder)


def sample_image(width: int = 48, height: int = 40):
    """A picture with structure (a bright square on a colour gradient), so maps are not flat."""
    import numpy as np
    from PIL import Image

    x = np.linspace(0, 255, width, dtype=np.float32)
    arr = np.zeros((height, width, 3), np.float32)
    arr[..., 0] = x
    arr[..., 2] = 255 - x
    arr[4:16, 6:20] = 255
    return Image.fromarray(arr.astype(np.uint8))


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte → printable character table, rebuilt for byte-level BPE vocabularies."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(
        range(ord("®"), ord("ÿ") + 1))
    chars = keep[:]
    n = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + n)
            n += 1
    return dict(zip(keep, (chr(c) for c in chars)))


def _byte_bpe(words: list[str], suffix: str = "", specials: tuple[str, ...] = ()):
    """A byte-level BPE vocabulary and merge list that spell each word as one token."""
    alphabet = sorted(set(_bytes_to_unicode().values()))
    vocab: dict[str, int] = {}
    for tok in list(specials) + alphabet + [c + suffix for c in alphabet if suffix]:
        vocab.setdefault(tok, len(vocab))
    merges: list[tuple[str, str]] = []
    for word in words:
        parts = list(word[:-1]) + [word[-1] + suffix]
        while len(parts) > 1:
            merged = parts[0] + parts[1]
            pair = (parts[0], parts[1])
            if pair not in merges:
                merges.append(pair)
            vocab.setdefault(merged, len(vocab))
            parts = [merged] + parts[2:]
    return vocab, merges


@functools.lru_cache(maxsize=None)
def clip_folder() -> Path:
    """A tiny CLIP model (ViT image tower with a CLS token) and a byte-level BPE tokenizer."""
    from transformers import (CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor,
                              CLIPTokenizer)

    _seed()
    folder = _ROOT / "clip"
    folder.mkdir()
    vocab, merges = _byte_bpe(WORDS, "</w>", ("<|startoftext|>", "<|endoftext|>"))
    tok = CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=16)
    image_proc = CLIPImageProcessor(size={"shortest_edge": TINY_IMAGE},
                                    crop_size={"height": TINY_IMAGE, "width": TINY_IMAGE})
    text = dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=2, max_position_embeddings=16,
                bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                pad_token_id=tok.pad_token_id)
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                  image_size=TINY_IMAGE, patch_size=8)
    cfg = CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)
    cfg.architectures = ["CLIPModel"]
    return _save(CLIPModel(cfg).eval(), CLIPProcessor(image_proc, tok), folder)


def _spm_model(folder: Path) -> Path:
    """Train a tiny sentencepiece model, the tokenizer format SigLIP ships with."""
    import sentencepiece as spm

    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(" ".join(WORDS[i:] + WORDS[:i]) for i in range(len(WORDS))),
                      encoding="utf-8")
    prefix = folder / "spiece"
    spm.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(prefix), vocab_size=96, model_type="unigram",
        pad_id=-1, eos_id=1, unk_id=0, bos_id=-1, eos_piece="</s>",
        minloglevel=2, hard_vocab_limit=False,
    )
    corpus.unlink()
    (folder / "spiece.vocab").unlink()
    return folder / "spiece.model"


@functools.lru_cache(maxsize=None)
def siglip_folder() -> Path:
    """A tiny SigLIP model (no CLS token, attention-pooled) with a sentencepiece tokenizer."""
    from transformers import (SiglipConfig, SiglipImageProcessor, SiglipModel, SiglipProcessor,
                              SiglipTokenizer)

    _seed()
    folder = _ROOT / "siglip"
    folder.mkdir()
    work = _ROOT / "siglip-spm"
    work.mkdir()
    tok = SiglipTokenizer(str(_spm_model(work)), model_max_length=16)
    image_proc = SiglipImageProcessor(size={"height": TINY_IMAGE, "width": TINY_IMAGE})
    text = dict(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=2, max_position_embeddings=16, bos_token_id=tok.eos_token_id,
                eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                  image_size=TINY_IMAGE, patch_size=8)
    cfg = SiglipConfig(text_config=text, vision_config=vision)
    cfg.architectures = ["SiglipModel"]
    return _save(SiglipModel(cfg).eval(), SiglipProcessor(image_proc, tok), folder)


QWEN_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>",
                 "<|vision_end|>", "<|image_pad|>", "<|video_pad|>")
QWEN_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}"
    "<|vision_start|><|image_pad|><|vision_end|>{% elif part['type'] == 'text' %}"
    "{{ part['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@functools.lru_cache(maxsize=None)
def qwen2_vl_folder() -> Path:
    """A tiny Qwen2-VL chat model with a byte-level BPE tokenizer and its chat template."""
    from transformers import (GenerationConfig, Qwen2Tokenizer, Qwen2VLConfig,
                              Qwen2VLForConditionalGeneration, Qwen2VLImageProcessor,
                              Qwen2VLProcessor, Qwen2VLVideoProcessor)

    _seed()
    folder = _ROOT / "qwen2-vl"
    folder.mkdir()
    vocab, merges = _byte_bpe(["Ġ" + w for w in WORDS] + WORDS)
    specials = {}
    for name in QWEN_SPECIALS:
        specials[name] = len(vocab)
        vocab[name] = len(vocab)
    tok = Qwen2Tokenizer(vocab=vocab, merges=merges, model_max_length=256)
    tok.add_special_tokens({"additional_special_tokens": list(QWEN_SPECIALS[1:])})
    px = 28 * 28
    image_proc = Qwen2VLImageProcessor(min_pixels=4 * px, max_pixels=4 * px)
    text = dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512,
                rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                                 "mrope_section": [2, 3, 3]},
                bos_token_id=specials["<|endoftext|>"], eos_token_id=specials["<|im_end|>"],
                pad_token_id=specials["<|endoftext|>"])
    vision = dict(depth=2, embed_dim=32, hidden_size=32, num_heads=2, patch_size=14,
                  spatial_merge_size=2, temporal_patch_size=2)
    cfg = Qwen2VLConfig(text_config=text, vision_config=vision,
                        image_token_id=specials["<|image_pad|>"],
                        video_token_id=specials["<|video_pad|>"],
                        vision_start_token_id=specials["<|vision_start|>"],
                        vision_end_token_id=specials["<|vision_end|>"])
    cfg.architectures = ["Qwen2VLForConditionalGeneration"]
    model = Qwen2VLForConditionalGeneration(cfg).eval()
    # Random weights may pick the end token at once; a floor keeps streaming tests meaningful.
    model.generation_config = GenerationConfig(
        eos_token_id=specials["<|im_end|>"], pad_token_id=specials["<|endoftext|>"],
        min_new_tokens=40, max_new_tokens=48, do_sample=False)
    processor = Qwen2VLProcessor(image_proc, tok, Qwen2VLVideoProcessor(), chat_template=QWEN_TEMPLATE)
    return _save(model, processor, folder)


def _chat_tokenizer(specials: tuple[str, ...], bos: str, eos: str, pad: str):
    """A byte-level BPE tokenizer (one token per word) with the given special tokens."""
    from transformers import Qwen2Tokenizer

    vocab, merges = _byte_bpe(["Ġ" + w for w in WORDS] + WORDS)
    for name in (bos, eos, pad) + specials:
        vocab.setdefault(name, len(vocab))
    tok = Qwen2Tokenizer(vocab=vocab, merges=merges, model_max_length=1024, bos_token=bos,
                         eos_token=eos, pad_token=pad, unk_token=None)
    tok.add_special_tokens({"additional_special_tokens": [s for s in specials]})
    return tok


def _tiny_llama(tok, **extra) -> dict:
    return dict(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=1024,
                bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                pad_token_id=tok.pad_token_id, **extra)


def _floor(model, tok) -> None:
    """Random weights may end at once; a floor keeps streaming and cancel tests meaningful."""
    from transformers import GenerationConfig

    model.generation_config = GenerationConfig(
        eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
        min_new_tokens=24, max_new_tokens=32, do_sample=False)


LLAVA_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'user' %}USER: {% else %}ASSISTANT: "
    "{% endif %}{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<image>\n"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %} ASSISTANT:{% endif %}"
)


@functools.lru_cache(maxsize=None)
def llava_folder() -> Path:
    """A tiny LLaVA (CLIP vision tower, projector, Llama language model), 4x4 patch grid."""
    from transformers import (CLIPImageProcessor, LlavaConfig, LlavaForConditionalGeneration,
                              LlavaProcessor)

    _seed()
    folder = _ROOT / "llava"
    folder.mkdir()
    tok = _chat_tokenizer(("<image>",), "<s>", "</s>", "<pad>")
    image_proc = CLIPImageProcessor(size={"shortest_edge": TINY_IMAGE},
                                    crop_size={"height": TINY_IMAGE, "width": TINY_IMAGE})
    vision = dict(model_type="clip_vision_model", hidden_size=32, intermediate_size=64,
                  num_hidden_layers=2, num_attention_heads=2, image_size=TINY_IMAGE,
                  patch_size=8, projection_dim=16)
    cfg = LlavaConfig(vision_config=vision, text_config=dict(model_type="llama", **_tiny_llama(tok)),
                      image_token_id=tok.convert_tokens_to_ids("<image>"),
                      vision_feature_layer=-1, vision_feature_select_strategy="default",
                      image_seq_length=16)
    cfg.architectures = ["LlavaForConditionalGeneration"]
    model = LlavaForConditionalGeneration(cfg).eval()
    _floor(model, tok)
    processor = LlavaProcessor(image_proc, tok, patch_size=8,
                               vision_feature_select_strategy="default",
                               num_additional_image_tokens=1, chat_template=LLAVA_TEMPLATE)
    return _save(model, processor, folder)


IDEFICS3_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{ message['role'] | capitalize }}:"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<image>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}"
    "<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}"
)


@functools.lru_cache(maxsize=None)
def idefics3_folder() -> Path:
    """A tiny SmolVLM/Idefics3 (SigLIP tower, pixel shuffle, Llama), one 32 px tile, 2x2 grid."""
    from transformers import (Idefics3Config, Idefics3ForConditionalGeneration,
                              Idefics3ImageProcessor, Idefics3Processor)

    _seed()
    folder = _ROOT / "idefics3"
    folder.mkdir()
    tok = _chat_tokenizer(("<fake_token_around_image>", "<image>", "<end_of_utterance>",
                           "<global-img>", "<|im_start|>"), "<|im_start|>", "<end_of_utterance>",
                          "<|endoftext|>")
    image_proc = Idefics3ImageProcessor(
        do_image_splitting=False, size={"longest_edge": TINY_IMAGE},
        max_image_size={"longest_edge": TINY_IMAGE})
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=2, image_size=TINY_IMAGE, patch_size=8)
    cfg = Idefics3Config(vision_config=vision, text_config=dict(model_type="llama", **_tiny_llama(tok)),
                         image_token_id=tok.convert_tokens_to_ids("<image>"), scale_factor=2)
    cfg.architectures = ["Idefics3ForConditionalGeneration"]
    model = Idefics3ForConditionalGeneration(cfg).eval()
    _floor(model, tok)
    # (32 / 8) ** 2 patches, pixel-shuffled by 2: 4 image tokens per tile.
    processor = Idefics3Processor(image_proc, tok, image_seq_len=4, chat_template=IDEFICS3_TEMPLATE)
    return _save(model, processor, folder)


@functools.lru_cache(maxsize=None)
def paligemma_folder() -> Path:
    """A tiny PaliGemma (SigLIP tower, Gemma language model): no chat template, 4x4 grid."""
    from transformers import (PaliGemmaConfig, PaliGemmaForConditionalGeneration,
                              PaliGemmaProcessor, SiglipImageProcessor)

    _seed()
    folder = _ROOT / "paligemma"
    folder.mkdir()
    tok = _chat_tokenizer((), "<bos>", "<eos>", "<pad>")
    image_proc = SiglipImageProcessor(size={"height": TINY_IMAGE, "width": TINY_IMAGE})
    image_proc.image_seq_length = 16
    processor = PaliGemmaProcessor(image_proc, tok)  # adds <image> and the location tokens
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=2, image_size=TINY_IMAGE, patch_size=8,
                  projection_dim=32)
    # Tied embeddings with random weights echo the last prompt token (a newline) forever.
    text = dict(model_type="gemma", head_dim=16, tie_word_embeddings=False, **_tiny_llama(tok))
    cfg = PaliGemmaConfig(vision_config=vision, text_config=text, projection_dim=32,
                          tie_word_embeddings=False,
                          image_token_id=tok.convert_tokens_to_ids("<image>"))
    cfg.architectures = ["PaliGemmaForConditionalGeneration"]
    model = PaliGemmaForConditionalGeneration(cfg).eval()
    _floor(model, tok)
    return _save(model, processor, folder)


@functools.lru_cache(maxsize=None)
def llava_next_folder() -> Path:
    """A tiny LLaVA-NeXT (1.6): the picture as a base view plus "anyres" tiles."""
    from transformers import (LlavaNextConfig, LlavaNextForConditionalGeneration,
                              LlavaNextImageProcessor, LlavaNextProcessor)

    _seed()
    folder = _ROOT / "llava-next"
    folder.mkdir()
    tok = _chat_tokenizer(("<image>",), "<s>", "</s>", "<pad>")
    pinpoints = [[TINY_IMAGE, TINY_IMAGE], [TINY_IMAGE, 2 * TINY_IMAGE], [2 * TINY_IMAGE, TINY_IMAGE]]
    image_proc = LlavaNextImageProcessor(
        size={"shortest_edge": TINY_IMAGE}, crop_size={"height": TINY_IMAGE, "width": TINY_IMAGE},
        image_grid_pinpoints=pinpoints)
    vision = dict(model_type="clip_vision_model", hidden_size=32, intermediate_size=64,
                  num_hidden_layers=2, num_attention_heads=2, image_size=TINY_IMAGE,
                  patch_size=8, projection_dim=16)
    cfg = LlavaNextConfig(vision_config=vision,
                          text_config=dict(model_type="llama", **_tiny_llama(tok)),
                          image_token_id=tok.convert_tokens_to_ids("<image>"),
                          image_grid_pinpoints=pinpoints, vision_feature_layer=-1,
                          vision_feature_select_strategy="default")
    cfg.architectures = ["LlavaNextForConditionalGeneration"]
    model = LlavaNextForConditionalGeneration(cfg).eval()
    _floor(model, tok)
    processor = LlavaNextProcessor(image_proc, tok, patch_size=8,
                                   vision_feature_select_strategy="default",
                                   num_additional_image_tokens=1, chat_template=LLAVA_TEMPLATE)
    return _save(model, processor, folder)
