"""A small generative chat VLM (Qwen2-VL): streamed answers and captions, attention heat maps."""

from __future__ import annotations

import time
from typing import Any, Optional

from PIL import Image

from vlm_desktop.core.cancel import Cancelled, JobState
from vlm_desktop.core.engine.hf.base import HFEngine
from vlm_desktop.core.engine.hf.cancel_hooks import cancellable
from vlm_desktop.core.engine.hf.common import (
    StreamingCriteria,
    question_kind,
    stopping_list,
    to_heatmap,
    token_word_maps,
)
from vlm_desktop.core.engine.hf.loading import eager_attention
from vlm_desktop.core.engine.types import Answer, Caption, HeatMap

CAPTION_PROMPT = "Describe this image in one sentence."
MAX_NEW_TOKENS = 128


class ChatEngine(HFEngine):
    """An image-text-to-text model driven through its processor's chat template."""

    @property
    def max_new_tokens(self) -> int:
        return int(getattr(self.model.generation_config, "max_new_tokens", None) or MAX_NEW_TOKENS)

    def _inputs(self, image: Image.Image, text: str) -> Any:
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}]
        prompt = self.processor.apply_chat_template(messages, add_generation_prompt=True,
                                                    tokenize=False)
        inputs = self.processor(text=[prompt], images=[image.convert("RGB")], return_tensors="pt")
        inputs = inputs.to(self.device.device)
        inputs["pixel_values"] = inputs["pixel_values"].to(self.device.torch_dtype())
        return inputs

    def _grid(self, inputs: Any) -> tuple[int, int]:
        merge = int(self.model.config.vision_config.spatial_merge_size)
        _, h, w = (int(v) for v in inputs["image_grid_thw"][0])
        return h // merge, w // merge

    def _attention_to_image(self, inputs: Any, seq: Any, state: Optional[JobState] = None
                            ) -> Any:
        """Mean attention (layers, heads) of every position over the image tokens: (T, rows, cols)."""
        import torch

        extra = {k: v for k, v in inputs.items() if k in ("pixel_values", "image_grid_thw")}
        if "mm_token_type_ids" in inputs:  # M-RoPE needs to know which positions are image
            types = torch.zeros_like(seq)
            prompt = inputs["mm_token_type_ids"]
            types[:, : prompt.shape[1]] = prompt[:, : seq.shape[1]]
            extra["mm_token_type_ids"] = types
        with eager_attention(self.model), torch.no_grad(), self.guard("mapping the answer"), \
                cancellable(self.model, state):
            out = self.model(input_ids=seq, attention_mask=torch.ones_like(seq),
                             output_attentions=True, return_dict=True, **extra)
        image_pos = (seq[0] == self.model.config.image_token_id).nonzero()[:, 0]
        att = torch.stack([a[0].float() for a in out.attentions]).mean((0, 1))[:, image_pos]
        return att.reshape(att.shape[0], *self._grid(inputs))

    def _run(self, image: Image.Image, text: str, state: Optional[JobState]) -> tuple[str, Any, float, Any]:
        """Generate a reply to `text` about `image`, streaming; (reply, ids, confidence, maps)."""
        import torch

        if state is not None:
            state.check()
        inputs = self._inputs(image, text)
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
        # Row p of the attention predicts token p + 1: the rows that produced the reply.
        att = self._attention_to_image(
            inputs, out.sequences[:, :-1] if len(ids) else out.sequences, state)
        return reply, ids, confidence, att[start - 1:]

    def caption(self, image: Image.Image, state: Optional[JobState] = None) -> Caption:
        t0 = time.perf_counter()
        text, ids, conf, maps = self._run(image, CAPTION_PROMPT, state)
        words = token_word_maps(self.tokenizer, ids.tolist(), list(maps), text, "attention")
        return Caption(text, conf, words, evidence=f"{self.name}: attention to image tokens",
                       timings_ms={"caption": (time.perf_counter() - t0) * 1000})

    def answer(self, image: Image.Image, question: str,
               state: Optional[JobState] = None) -> Answer:
        t0 = time.perf_counter()
        text, ids, conf, maps = self._run(image, question, state)
        words = token_word_maps(self.tokenizer, ids.tolist(), list(maps), text, "attention")
        heat = to_heatmap(question, maps.mean(0), "attention") if len(maps) else None
        return Answer(question, text, conf, question_kind(question), heatmap=heat, words=words,
                      evidence=f"{self.name}: answer tokens' attention to the image",
                      timings_ms={"answer": (time.perf_counter() - t0) * 1000})

    def relevance(self, image: Image.Image, text: str) -> HeatMap:
        """Attention from the tokens of `text` (placed after the image) to the image tokens."""
        inputs = self._inputs(image, text)
        seq = inputs["input_ids"]
        att = self._attention_to_image(inputs, seq)
        end_id = self.model.config.vision_end_token_id
        after = int((seq[0] == end_id).nonzero()[-1, 0]) + 1
        ids = seq[0].tolist()
        text_pos = [i for i in range(after, len(ids))
                    if ids[i] not in self.tokenizer.all_special_ids][: max(1, len(ids) - after)]
        rows = att[text_pos] if text_pos else att[after:]
        return to_heatmap(text, rows.mean(0), "attention")
