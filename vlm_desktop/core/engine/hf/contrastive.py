"""CLIP and SigLIP: joint image/text embeddings, zero-shot tags, relevance by attention rollout."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
from PIL import Image

from vlm_desktop.core.cancel import JobState
from vlm_desktop.core.engine.hf.base import HFEngine, normalised
from vlm_desktop.core.engine.hf.common import grid_shape, to_heatmap
from vlm_desktop.core.engine.hf.loading import eager_attention
from vlm_desktop.core.engine.types import HeatMap

BATCH = 16


def _features(out: Any) -> Any:
    """transformers 5 returns an output object from get_*_features; older versions a tensor."""
    return out if hasattr(out, "shape") else out.pooler_output


class ContrastiveEngine(HFEngine):
    """A two-tower model (`CLIPModel` or `SiglipModel`) behind the Engine protocol."""

    @property
    def is_siglip(self) -> bool:
        return self.architecture == "SiglipModel"

    def _text_inputs(self, texts: Sequence[str]) -> Any:
        # SigLIP was trained on max-length padded text; CLIP pads to the longest.
        padding = "max_length" if self.is_siglip else True
        return self.tokenizer(list(texts), padding=padding, truncation=True,
                              return_tensors="pt").to(self.device.device)

    def _image_features(self, image: Image.Image) -> Any:
        import torch

        def compute() -> Any:
            with torch.no_grad(), self.guard("embedding an image"):
                return _features(self.model.get_image_features(pixel_values=self.pixels(image)))

        return self.cache.get(image, compute)

    def embed_images(self, images: Sequence[Image.Image],
                     state: Optional[JobState] = None) -> np.ndarray:
        import torch

        if not images:
            return np.zeros((0, self._dim()), np.float32)
        rows = []
        for start in range(0, len(images), BATCH):
            if state is not None:
                state.check()
                state.progress(start / len(images), "embedding images")
            batch = [im.convert("RGB") for im in images[start:start + BATCH]]
            pixels = self.processor.image_processor(images=batch, return_tensors="pt")[
                "pixel_values"].to(self.device.device, self.device.torch_dtype())
            with torch.no_grad(), self.guard("embedding images"):
                rows.append(_features(self.model.get_image_features(pixel_values=pixels)))
        return normalised(torch.cat(rows))

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        if not texts:
            return np.zeros((0, self._dim()), np.float32)
        with torch.no_grad(), self.guard("embedding text"):
            feats = self.model.get_text_features(**self._text_inputs(texts))
        return normalised(_features(feats))

    def _dim(self) -> int:
        cfg = self.model.config
        return int(getattr(cfg, "projection_dim", 0) or cfg.vision_config.hidden_size)

    def tags(self, image: Image.Image, labels: Sequence[str], top_k: int = 5
             ) -> list[tuple[str, float]]:
        """Zero-shot tags: the labels that best match the image, with probabilities."""
        import torch

        if not labels:
            return []
        img = torch.from_numpy(normalised(self._image_features(image)))
        txt = torch.from_numpy(self.embed_texts([f"a photo of {lab}" for lab in labels]))
        logits = (img @ txt.T)[0] * float(self.model.logit_scale.exp())
        if self.is_siglip:  # independent sigmoid per label
            probs = torch.sigmoid(logits + float(self.model.logit_bias))
        else:
            probs = torch.softmax(logits, -1)
        order = torch.argsort(probs, descending=True)[:top_k].tolist()
        return [(labels[i], float(probs[i])) for i in order]

    def relevance(self, image: Image.Image, text: str) -> HeatMap:
        """Gradient-weighted attention rollout (Chefer et al. 2021) of image-text similarity."""
        import torch

        pixels = self.pixels(image).requires_grad_(True)
        with torch.no_grad():
            txt = _features(self.model.get_text_features(**self._text_inputs([text])))
            txt = torch.nn.functional.normalize(txt.float(), dim=-1)
        with eager_attention(self.model), torch.enable_grad(), self.guard("computing relevance"):
            out = self.model.vision_model(pixel_values=pixels, output_attentions=True,
                                          return_dict=True)
            pooled = out.pooler_output
            if not self.is_siglip:
                pooled = self.model.visual_projection(pooled)
            score = (torch.nn.functional.normalize(pooled.float(), dim=-1) * txt).sum()
            grads = torch.autograd.grad(score, list(out.attentions))
        rel = self._rollout([a.detach() for a in out.attentions], grads)
        if self.is_siglip:
            cam = self._pool_weights(out.last_hidden_state.detach()) @ rel
        else:
            cam = rel[0, 1:]  # the CLS row, over patches
        return to_heatmap(text, cam.reshape(grid_shape(cam.shape[0])), "relevance")

    @staticmethod
    def _rollout(atts: Sequence[Any], grads: Sequence[Any]) -> Any:
        import torch

        n = atts[0].shape[-1]
        rel = torch.eye(n)
        for att, grad in zip(atts, grads):
            cam = (grad[0].float() * att[0].float()).clamp(min=0).mean(0).cpu()
            rel = rel + cam @ rel
        return rel

    def _pool_weights(self, hidden: Any) -> Any:
        """How SigLIP's attention-pooling head weighs each patch (it has no CLS token)."""
        import torch

        head = self.model.vision_model.head
        probe = head.probe.repeat(hidden.shape[0], 1, 1)
        with torch.no_grad():
            _, weights = head.attention(probe, hidden, hidden, need_weights=True)
        return weights[0, 0].float().cpu()
