"""The Hugging Face architectures the app runs, what each can do, and the files each needs.

Pure Python (no torch), so the model manager and the window can read it cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass

from vlm_desktop.core.engine.types import (
    CAP_ANSWER,
    CAP_CAPTION,
    CAP_EMBED,
    CAP_RELEVANCE,
    CAP_STREAM,
)


@dataclass(frozen=True)
class Family:
    """One supported architecture: its engine, capabilities and the tokenizer files it may use."""

    kind: str  # registry kind, e.g. "hf-blip-caption"
    label: str  # what a person reads, e.g. "BLIP captioning"
    engine: str  # "blip" | "contrastive" | "chat"
    capabilities: frozenset[str]
    tokenizer_files: tuple[tuple[str, ...], ...]  # any one of these groups must be present
    needs_chat_template: bool = False
    # How a chat model's image tokens become a heat map (data, like `capabilities`):
    # "grid" - all image tokens form one square patch grid; "last_tile" - the last
    # `image_seq_len` image tokens (the whole-picture tile after the crops) form it;
    # "thw" - the grid comes from the processor's image_grid_thw (Qwen2-VL); "" - no map.
    map_from: str = ""
    prompt_style: str = "chat"  # "chat" (the processor's chat template) | "paligemma"


_BERT_TOK = (("tokenizer.json",), ("vocab.txt",))
_BPE_TOK = (("tokenizer.json",), ("vocab.json", "merges.txt"))
_SPM_TOK = (("spiece.model",), ("tokenizer.json",))
_CHAT_TOK = (("tokenizer.json",), ("tokenizer.model",), ("vocab.json", "merges.txt"))
_CHAT = frozenset({CAP_CAPTION, CAP_ANSWER, CAP_STREAM})
_CHAT_MAPS = _CHAT | {CAP_RELEVANCE}

FAMILIES: dict[str, Family] = {
    "BlipForConditionalGeneration": Family(
        "hf-blip-caption", "BLIP captioning", "blip",
        frozenset({CAP_CAPTION, CAP_STREAM}), _BERT_TOK),
    "BlipForQuestionAnswering": Family(
        "hf-blip-vqa", "BLIP question answering", "blip",
        frozenset({CAP_ANSWER, CAP_STREAM}), _BERT_TOK),
    "BlipForImageTextRetrieval": Family(
        "hf-blip-itm", "BLIP image-text matching", "blip",
        frozenset({CAP_EMBED, CAP_RELEVANCE}), _BERT_TOK),
    "CLIPModel": Family(
        "hf-clip", "CLIP", "contrastive", frozenset({CAP_EMBED, CAP_RELEVANCE}), _BPE_TOK),
    "SiglipModel": Family(
        "hf-siglip", "SigLIP", "contrastive", frozenset({CAP_EMBED, CAP_RELEVANCE}), _SPM_TOK),
    "Qwen2VLForConditionalGeneration": Family(
        "hf-qwen2-vl", "Qwen2-VL chat", "chat",
        _CHAT_MAPS, _BPE_TOK, needs_chat_template=True, map_from="thw"),
    # The generic chat backend: AutoModelForImageTextToText + the processor's chat template.
    "Idefics3ForConditionalGeneration": Family(
        "hf-idefics3", "SmolVLM / Idefics3 chat", "chat", _CHAT_MAPS, _CHAT_TOK,
        needs_chat_template=True, map_from="last_tile"),
    "LlavaForConditionalGeneration": Family(
        "hf-llava", "LLaVA chat", "chat", _CHAT_MAPS, _CHAT_TOK,
        needs_chat_template=True, map_from="grid"),
    # The base view and the "anyres" tiles (with row-end tokens) share one run of image
    # tokens; no single patch grid is mapped yet, so it claims no maps.
    "LlavaNextForConditionalGeneration": Family(
        "hf-llava-next", "LLaVA-NeXT (1.6) chat", "chat", _CHAT, _CHAT_TOK,
        needs_chat_template=True),
    "PaliGemmaForConditionalGeneration": Family(
        "hf-paligemma", "PaliGemma", "chat", _CHAT_MAPS, _CHAT_TOK,
        map_from="grid", prompt_style="paligemma"),
}

CAPABILITY_NAMES = {
    CAP_CAPTION: "captioning",
    CAP_ANSWER: "question answering",
    CAP_EMBED: "image/text embeddings",
    CAP_RELEVANCE: "relevance maps",
    CAP_STREAM: "streamed answers",
}


class UnsupportedModel(ValueError):
    """The folder holds a model whose architecture this app does not run."""


def family_for(config: dict) -> tuple[str, Family]:
    """The (architecture, Family) of a parsed config.json, or UnsupportedModel saying why."""
    archs = list(config.get("architectures") or [])
    for arch in archs:
        if arch in FAMILIES:
            return arch, FAMILIES[arch]
    what = ", ".join(archs) or f"model_type '{config.get('model_type', '?')}'"
    if config.get("auto_map"):
        raise UnsupportedModel(
            f"{what} needs trust_remote_code: its config.json (auto_map) points at Python code "
            "shipped with the model, and this app never runs a model's own code. Use a model "
            "that transformers runs natively.")
    supported = ", ".join(sorted(FAMILIES))
    raise UnsupportedModel(
        f"{what} is not a vision-language model this app runs (supported: {supported})."
    )
