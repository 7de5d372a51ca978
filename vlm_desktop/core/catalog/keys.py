"""The names a catalog stores vectors under (a leaf module: the indexer, search and the
adapter store all need them)."""

from __future__ import annotations

from vlm_desktop.core.engine.protocol import Engine


def model_key(engine: Engine) -> str:
    """The name embeddings are stored under: one set of vectors per model and version."""
    info = engine.info()
    return f"{info.name}@{info.version}"


def visual_key(model: str) -> str:
    """The name a model's image-to-image vectors are stored under, beside its joint ones
    (the indexer writes every space `embed_catalog` returns as "model#space")."""
    return f"{model}#visual"
