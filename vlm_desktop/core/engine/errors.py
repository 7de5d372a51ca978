"""The errors any engine or the model list may raise: a leaf module that imports nothing.

Backends, the registry, the model manager and the workers all name these, so they live
where importing them pulls in no backend (before, `hf/common.py` reached them through the
registry, which reaches the model manager, which reaches `hf`: an import loop).
"""

from __future__ import annotations


class ModelUnavailable(Exception):
    """The requested model is not installed or cannot be loaded; the message says why."""


class GpuOutOfMemory(ModelUnavailable):
    """The GPU ran out of memory; memory was freed, and the window offers the CPU instead."""


class CapabilityUnavailable(ModelUnavailable):
    """The active model cannot do this (e.g. a captioning model asked for embeddings)."""
