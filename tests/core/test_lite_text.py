"""Text tower of the built-in model: MiniLM read offline, checked against transformers."""

from __future__ import annotations

import numpy as np
import pytest

from vlm_desktop.core.engine.lite.text import TEXT_DIM, TextTower, model_dir

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tower():
    return TextTower.load()


def test_sentence_embeddings_are_normalised_and_meaningful(tower):
    vecs = tower.encode(["a photo of a cat", "a kitten", "a cup of coffee", ""])
    assert vecs.shape == (4, TEXT_DIM) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2]


def test_matches_transformers_bert_model(tower):
    """The hand-written forward pass equals transformers' BertModel on the same weights."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    path = str(model_dir())
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    ref = AutoModel.from_pretrained(path, local_files_only=True).eval()
    texts = ["What colour is the tabby cat?", "a red sports car parked outside"]
    enc = tok(texts, padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = ref(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).float()
    expected = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    assert np.allclose(tower.encode(texts), expected.numpy(), atol=1e-4)


def test_token_states_merge_word_pieces_and_drop_punctuation(tower):
    words, states = tower.token_states("What colour is the tabby cat?")
    assert words == ["What", "colour", "is", "the", "tabby", "cat"]  # "tabby" is two pieces
    assert states.shape == (6, TEXT_DIM)
    assert np.allclose(np.linalg.norm(states, axis=1), 1.0, atol=1e-5)
