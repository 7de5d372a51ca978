"""BLIP: captioning, question answering and image-text matching with Grad-CAM relevance."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any, Optional, Sequence

import numpy as np
from PIL import Image

from vlm_desktop.core.cancel import Cancelled, JobState
from vlm_desktop.core.engine.hf.base import HFEngine, normalised
from vlm_desktop.core.engine.hf.cancel_hooks import cancellable
from vlm_desktop.core.engine.hf.common import (
    StreamingCriteria,
    grid_shape,
    question_kind,
    stopping_list,
    to_heatmap,
    token_word_maps,
)
from vlm_desktop.core.engine.types import Answer, Caption, HeatMap, WordSpan, word_spans

MAX_NEW_TOKENS = 30
GRADCAM_LAYER = 7  # LAVIS explains BLIP's 12-layer text encoder at block 8 (index 7)


class CrossAttentionRecorder:
    """Keeps the BLIP text decoder's cross-attention of every generation step as it is computed.

    BLIP's attention modules always compute their probabilities and return them as their second
    output, so a forward hook reads them for free; recomputing them in a teacher-forced pass
    after generation cost about a tenth of a caption on the CPU.
    """

    def __init__(self, decoder: Any) -> None:
        self._targets = [m for name, m in decoder.named_modules()
                         if name.endswith("crossattention.self")]
        self._rows: list[Any] = []
        self._handles: list[Any] = []
        self._thread = 0

    def __enter__(self) -> CrossAttentionRecorder:
        self._rows.clear()
        self._thread = threading.get_ident()
        self._handles = [m.register_forward_hook(self._hook) for m in self._targets]
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _hook(self, module: Any, args: Any, output: Any) -> None:
        if threading.get_ident() != self._thread:  # another job running the same model
            return
        probs = output[1] if isinstance(output, tuple) and len(output) > 1 else None
        if probs is None or getattr(probs, "ndim", 0) != 4:
            return
        # The last query row is the one that produced this step's token; CLS patch dropped.
        self._rows.append(probs[0, :, -1, 1:].float().mean(0))

    def step_maps(self, steps: int) -> Any:
        """(steps, patches): layers and heads averaged; None unless every layer of every step
        was seen (a transformers version that returns no probabilities, or an early stop)."""
        import torch

        layers = len(self._targets)
        if not layers or steps < 1 or len(self._rows) != layers * steps:
            return None
        return torch.stack(self._rows).reshape(steps, layers, -1).mean(1)


class BlipEngine(HFEngine):
    """One BLIP head: `BlipForConditionalGeneration`, `...QuestionAnswering` or `...ImageTextRetrieval`."""

    max_new_tokens = MAX_NEW_TOKENS

    @property
    def _text_cfg(self) -> Any:
        return self.model.config.text_config

    def image_embeds(self, image: Image.Image, state: Optional[JobState] = None) -> Any:
        """The vision tower's token states for `image`, cached by content hash."""
        import torch

        def compute() -> Any:
            with torch.no_grad(), self.guard("encoding the image"), \
                    cancellable(self.model.vision_model, state):
                return self.model.vision_model(pixel_values=self.pixels(image)).last_hidden_state

        return self.cache.get(image, compute)

    def _generate(self, start: Any, context: Any, state: Optional[JobState],
                  recorder: Optional[CrossAttentionRecorder] = None) -> tuple[Any, Any]:
        """Greedy decoding over `context`, streaming text; returns (sequence, generate output).

        With a `recorder`, each step's cross-attention is kept as it is computed.
        """
        import torch

        crit = StreamingCriteria(self.tokenizer, start.shape[1], state)
        mask = torch.ones(context.shape[:-1], dtype=torch.long, device=context.device)
        recording = recorder if recorder is not None else contextlib.nullcontext()
        with torch.no_grad(), self.guard("generating text"), recording, \
                cancellable(self.model.text_decoder, state):
            out = self.model.text_decoder.generate(
                input_ids=start, encoder_hidden_states=context, encoder_attention_mask=mask,
                eos_token_id=self._text_cfg.sep_token_id, pad_token_id=self._text_cfg.pad_token_id,
                max_new_tokens=self.max_new_tokens, do_sample=False, num_beams=1,
                stopping_criteria=stopping_list(crit), output_scores=True,
                return_dict_in_generate=True,
            )
        if state is not None and state.cancelled:
            raise Cancelled()
        return out.sequences[0, start.shape[1]:], out

    def _confidence(self, ids: Any, scores: Sequence[Any]) -> float:
        import torch

        logps = [torch.log_softmax(s[0].float(), -1)[int(t)] for s, t in zip(scores, ids)]
        return float(torch.exp(torch.stack(logps).mean())) if logps else 0.0

    def caption(self, image: Image.Image, state: Optional[JobState] = None) -> Caption:
        import torch

        if self.architecture != "BlipForConditionalGeneration":
            raise self._missing("caption")
        t0 = time.perf_counter()
        if state is not None:
            state.check()
        embeds = self.image_embeds(image, state)
        start = torch.tensor([[self._text_cfg.bos_token_id]], device=embeds.device)
        recorder = CrossAttentionRecorder(self.model.text_decoder)
        ids, out = self._generate(start, embeds, state, recorder)
        text = self.tokenizer.decode(ids, skip_special_tokens=True).strip()
        att = recorder.step_maps(len(ids))
        if att is None:  # hooks saw nothing usable (another transformers version): one more pass
            att = self._teacher_forced_maps(out.sequences[:, :-1], embeds)
        rows, cols = grid_shape(att.shape[1])
        maps = [att[i].reshape(rows, cols) for i in range(att.shape[0])]
        words = token_word_maps(self.tokenizer, ids.tolist(), maps, text, "attention")
        return Caption(text, self._confidence(ids, out.scores), words,
                       evidence=f"{self.name}: BLIP decoder cross-attention per word",
                       timings_ms={"caption": (time.perf_counter() - t0) * 1000})

    def _teacher_forced_maps(self, seq: Any, embeds: Any) -> Any:
        """Cross-attention of every step from one pass over `seq` (bos + tokens but the last).

        Row i is the query that produced token i: (tokens, patches), layers and heads averaged,
        CLS dropped. Used only when the generation hooks captured nothing.
        """
        import torch

        with torch.no_grad(), self.guard("mapping words to the image"):
            dec = self.model.text_decoder(
                input_ids=seq, encoder_hidden_states=embeds, output_attentions=True,
                return_dict=True, use_cache=False)
        return torch.stack([a[0, :, :, 1:].float() for a in dec.cross_attentions]).mean((0, 1))

    def answer(self, image: Image.Image, question: str,
               state: Optional[JobState] = None) -> Answer:
        import torch

        if self.architecture != "BlipForQuestionAnswering":
            raise self._missing("answer")
        t0 = time.perf_counter()
        if state is not None:
            state.check()
        embeds = self.image_embeds(image, state)
        q = self.tokenizer(question, return_tensors="pt").to(embeds.device)
        with torch.no_grad(), self.guard("reading the question"):
            enc = self.model.text_encoder(
                input_ids=q.input_ids, attention_mask=q.attention_mask,
                encoder_hidden_states=embeds, output_attentions=True, return_dict=True)
        start = torch.full((1, 1), self.model.decoder_start_token_id, device=embeds.device)
        ids, out = self._generate(start, enc.last_hidden_state, state)
        text = self.tokenizer.decode(ids, skip_special_tokens=True).strip()
        att = torch.stack([a[0, :, :, 1:].float() for a in enc.cross_attentions]).mean((0, 1, 2))
        heat = to_heatmap(question, att.reshape(grid_shape(att.shape[0])), "attention")
        return Answer(question, text, self._confidence(ids, out.scores), question_kind(question),
                      heatmap=heat, words=word_spans(text, {w: heat for w in text.split()}),
                      evidence=f"{self.name}: question-to-image cross-attention",
                      timings_ms={"answer": (time.perf_counter() - t0) * 1000})

    # --- image-text matching head -------------------------------------------------------

    def _itm_only(self, capability: str) -> None:
        if self.architecture != "BlipForImageTextRetrieval":
            raise self._missing(capability)

    def embed_images(self, images: Sequence[Image.Image],
                     state: Optional[JobState] = None) -> np.ndarray:
        import torch

        self._itm_only("embed")
        rows = []
        for i, img in enumerate(images):
            if state is not None:
                state.check()
                state.progress(i / max(1, len(images)), "embedding images")
            cls = self.image_embeds(img, state)[:, 0, :]
            with torch.no_grad():
                rows.append(self.model.vision_proj(cls))
        if not rows:
            return np.zeros((0, self.model.config.image_text_hidden_size), np.float32)
        return normalised(torch.cat(rows))

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        self._itm_only("embed")
        if not texts:
            return np.zeros((0, self.model.config.image_text_hidden_size), np.float32)
        tok = self.tokenizer(list(texts), padding=True, truncation=True, max_length=35,
                             return_tensors="pt").to(self.device.device)
        with torch.no_grad(), self.guard("embedding text"):
            states = self.model.text_encoder(input_ids=tok.input_ids,
                                             attention_mask=tok.attention_mask).last_hidden_state
            return normalised(self.model.text_proj(states[:, 0, :]))

    def _gradcam(self, image: Image.Image, text: str) -> tuple[Any, list[int]]:
        """Per-token Grad-CAM maps (tokens, rows, cols) of the ITM score, and the token ids."""
        import torch

        embeds = self.image_embeds(image).detach().clone().requires_grad_(True)
        tok = self.tokenizer(text, return_tensors="pt", truncation=True,
                             max_length=35).to(embeds.device)
        # Not the last layer: there only the [CLS] row reaches the ITM head, words get no gradient.
        layer = min(GRADCAM_LAYER, max(0, self._text_cfg.num_hidden_layers - 2))
        with torch.enable_grad(), self.guard("computing relevance"):
            enc = self.model.text_encoder(
                input_ids=tok.input_ids, attention_mask=tok.attention_mask,
                encoder_hidden_states=embeds, output_attentions=True, return_dict=True)
            match = self.model.itm_head(enc.last_hidden_state[:, 0, :])[:, 1].sum()
            att = enc.cross_attentions[layer]
            (grad,) = torch.autograd.grad(match, att)
        # Grad-CAM: maps weighted by their positive gradients, mean over heads, CLS dropped.
        cam = (att.detach() * grad.clamp(min=0)).float()[0].mean(0)[:, 1:]
        rows, cols = grid_shape(cam.shape[1])
        return cam.reshape(-1, rows, cols), tok.input_ids[0].tolist()

    def relevance(self, image: Image.Image, text: str) -> HeatMap:
        self._itm_only("relevance")
        cam, ids = self._gradcam(image, text)
        keep = [i for i, t in enumerate(ids) if t not in self.tokenizer.all_special_ids]
        return to_heatmap(text, cam[keep].mean(0) if keep else cam.mean(0), "relevance")

    def relevance_words(self, image: Image.Image, text: str) -> tuple[WordSpan, ...]:
        """One Grad-CAM relevance map per word of `text`."""
        self._itm_only("relevance")
        cam, ids = self._gradcam(image, text)
        keep = [i for i, t in enumerate(ids) if t not in self.tokenizer.all_special_ids]
        return token_word_maps(self.tokenizer, [ids[i] for i in keep], [cam[i] for i in keep],
                               text, "relevance")
