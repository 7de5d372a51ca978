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


_BERT_TOK = (("tokenizer.json",), ("vocab.txt",))
_BPE_TOK = (("tokenizer.json",), ("vocab.json", "merges.txt"))
_SPM_TOK = (("spiece.model",), ("tokenizer.json",))

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
        frozenset({CAP_CAPTION, CAP_ANSWER, CAP_RELEVANCE, CAP_STREAM}), _BPE_TOK,
        needs_chat_template=True),
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
    supported = ", ".join(sorted(FAMILIES))
    raise UnsupportedModel(
        f"{what} is not a vision-language model this app runs (supported: {supported})."
    )
