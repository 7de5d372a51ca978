"""The generic chat backend: any image-text-to-text model transformers runs natively.

One engine for Qwen2-VL, SmolVLM/Idefics3, LLaVA and PaliGemma: `AutoProcessor` +
`AutoModelForImageTextToText`, the prompt from the processor's chat template, answers
streamed token by token. Heat maps come from the attention of each generated token to the
image tokens, reshaped to the patch grid as the family's `map_from` says; a family without
a grid offers no maps (and does not claim the relevance capability).
"""

from __future__ import annotations

import time
from typing import Any, Optional

from PIL import Image

from vlm_desktop.core.cancel import Cancelled, JobState
from vlm_desktop.core.engine.hf.base import HFEngine
from vlm_desktop.core.engine.hf.cancel_hooks import cancellable
from vlm_desktop.core.engine.hf.common import (
    StreamingCriteria,
    grid_shape,
    question_kind,
    stopping_list,
    to_heatmap,
    token_word_maps,
)
from vlm_desktop.core.engine.hf.loading import eager_attention
from vlm_desktop.core.engine.types import Answer, Caption, HeatMap

CAPTION_PROMPT = "Describe this image in one sentence."
MAX_NEW_TOKENS = 128
# Inputs a processor returns per prompt position; the mapping pass needs them for the reply
# too. PaliGemma's token_type_ids mark the reply as "suffix" (1); the rest mark it as text (0).
_PER_POSITION_PAD = {"token_type_ids": 1}


class ChatEngine(HFEngine):
    """An image-text-to-text model driven through its processor's chat template."""

    @property
    def max_new_tokens(self) -> int:
        return int(getattr(self.model.generation_config, "max_new_tokens", None) or MAX_NEW_TOKENS)

    @property
    def image_token_id(self) -> int:
        cfg = self.model.config
        value = getattr(cfg, "image_token_id", None)
        return int(value if value is not None else cfg.image_token_index)

    @property
    def has_maps(self) -> bool:
        return bool(self.family.map_from)

    def _prompt(self, text: str, caption: bool = False) -> str:
        if self.family.prompt_style == "paligemma":
            # PaliGemma is not a chat model: it takes task prefixes after the image tokens.
            task = "caption en" if caption else f"answer en {text}"
            return f"{self.processor.image_token}{task}\n"
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}]
        return self.processor.apply_chat_template(messages, add_generation_prompt=True,
                                                  tokenize=False)

    def _inputs(self, image: Image.Image, text: str, caption: bool = False) -> Any:
        prompt = self._prompt(text, caption)
        inputs = self.processor(text=[prompt], images=[image.convert("RGB")], return_tensors="pt")
        inputs.pop("labels", None)  # PaliGemma's processor adds training labels
        inputs = inputs.to(self.device.device)
        inputs["pixel_values"] = inputs["pixel_values"].to(self.device.torch_dtype())
        return inputs

    def _image_positions(self, seq: Any, inputs: Any) -> tuple[Any, tuple[int, int]]:
        """The positions of the image tokens that form the map, and its (rows, cols)."""
        pos = (seq[0] == self.image_token_id).nonzero()[:, 0]
        if self.family.map_from == "thw":
            merge = int(self.model.config.vision_config.spatial_merge_size)
            _, h, w = (int(v) for v in inputs["image_grid_thw"][0])
            return pos, (h // merge, w // merge)
        if self.family.map_from == "last_tile":
            pos = pos[-int(self.processor.image_seq_len):]
        return pos, grid_shape(int(pos.shape[0]))

    def _extra(self, inputs: Any, seq: Any) -> dict[str, Any]:
        """The processor's image inputs, with per-position ones stretched over `seq`."""
        import torch

        prompt_len = int(inputs["input_ids"].shape[1])
        extra = {}
        for key, value in inputs.items():
            if key in ("input_ids", "attention_mask"):
                continue
            if torch.is_tensor(value) and value.dim() == 2 and value.shape[1] == prompt_len \
                    and not key.startswith("pixel"):
                full = torch.full_like(seq, _PER_POSITION_PAD.get(key, 0))
                full[:, :prompt_len] = value[:, : seq.shape[1]]
                value = full[:, : seq.shape[1]]
            extra[key] = value
        return extra

    def _attention_to_image(self, inputs: Any, seq: Any, state: Optional[JobState] = None
                            ) -> Any:
        """Mean attention (layers, heads) of every position over the image tokens: (T, rows, cols)."""
        import torch

        with eager_attention(self.model), torch.no_grad(), self.guard("mapping the answer"), \
                cancellable(self.model, state):
            out = self.model(input_ids=seq, attention_mask=torch.ones_like(seq),
                             output_attentions=True, return_dict=True, **self._extra(inputs, seq))
        pos, grid = self._image_positions(seq, inputs)
        att = torch.stack([a[0].float() for a in out.attentions]).mean((0, 1))[:, pos]
        return att.reshape(att.shape[0], *grid)

    def _run(self, image: Image.Image, text: str, state: Optional[JobState],
             caption: bool = False) -> tuple[str, Any, float, Any]:
        """Generate a reply to `text` about `image`, streaming; (reply, ids, confidence, maps)."""
        import torch

        if state is not None:
            state.check()
        inputs = self._inputs(image, text, caption)
        start = inputs["input_ids"].shape[1]
        crit = StreamingCriteria(self.tokenizer, start, state)
        # The prefill runs every image token through every layer: cancellable per block.
        with torch.no_grad(), self.guard("generating text"), cancellable(self.model, state):
            out = self.model.generate(
                **inputs, max_new_tokens=self.max_new_tokens, do_sample=False,
                stopping_criteria=stopping_list(crit), output_scores=True,
                return_dict_in_generate=True)
        if state is not None and state.cancelled:
            raise Cancelled()
        ids = out.sequences[0, start:]
        reply = self.tokenizer.decode(ids, skip_special_tokens=True).strip()
        logps = [torch.log_softmax(s[0].float(), -1)[int(t)] for s, t in zip(out.scores, ids)]
        confidence = float(torch.exp(torch.stack(logps).mean())) if logps else 0.0
        if not self.has_maps:
            return reply, ids, confidence, None
        # Row p of the attention predicts token p + 1: the rows that produced the reply.
        att = self._attention_to_image(
            inputs, out.sequences[:, :-1] if len(ids) else out.sequences, state)
        return reply, ids, confidence, att[start - 1:]

    def _words(self, ids: Any, maps: Any, text: str) -> Any:
        if maps is None:
            return token_word_maps(self.tokenizer, ids.tolist(), [], text, "attention")
        return token_word_maps(self.tokenizer, ids.tolist(), list(maps), text, "attention")

    def _evidence(self, what: str) -> str:
        if self.has_maps:
            return f"{self.name}: {what} attention to the image"
        return f"{self.name}: no map for this model ({self.family.label})"

    def caption(self, image: Image.Image, state: Optional[JobState] = None) -> Caption:
        t0 = time.perf_counter()
        text, ids, conf, maps = self._run(image, CAPTION_PROMPT, state, caption=True)
        return Caption(text, conf, self._words(ids, maps, text),
                       evidence=self._evidence("caption tokens'"),
                       timings_ms={"caption": (time.perf_counter() - t0) * 1000})

    def answer(self, image: Image.Image, question: str,
               state: Optional[JobState] = None) -> Answer:
        t0 = time.perf_counter()
        text, ids, conf, maps = self._run(image, question, state)
        heat = to_heatmap(question, maps.mean(0), "attention") \
            if maps is not None and len(maps) else None
        return Answer(question, text, conf, question_kind(question), heatmap=heat,
                      words=self._words(ids, maps, text),
                      evidence=self._evidence("answer tokens'"),
                      timings_ms={"answer": (time.perf_counter() - t0) * 1000})

    def relevance(self, image: Image.Image, text: str) -> HeatMap:
        """Attention from the tokens of `text` (placed after the image) to the image tokens."""
        if not self.has_maps:
            raise self._missing("relevance")
        inputs = self._inputs(image, text)
        seq = inputs["input_ids"]
        att = self._attention_to_image(inputs, seq)
        ids = seq[0].tolist()
        after = max(i for i, t in enumerate(ids) if t == self.image_token_id) + 1
        special = set(self.tokenizer.all_special_ids)
        text_pos = [i for i in range(after, len(ids)) if ids[i] not in special]
        rows = att[text_pos] if text_pos else att[after:]
        return to_heatmap(text, rows.mean(0), "attention")
