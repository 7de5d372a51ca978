"""The 1000 ImageNet concepts of the vision tower: readable names and WordNet hypernym chains.

Loaded from the derived resource `concepts/imagenet_concepts.json` (see tools/derive_concepts.py),
so nothing at run time needs WordNet.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files

import numpy as np

RESOURCE_DIR = "concepts"
RESOURCE_FILE = "imagenet_concepts.json"
ROOT_WNID = "n00001740"  # entity


class Concepts:
    """Class names, WordNet ids and the hypernym tree over them."""

    def __init__(self, data: dict) -> None:
        classes = data["classes"]
        if [c["index"] for c in classes] != list(range(len(classes))):
            raise ValueError("concept classes are not in model class order")
        self.names: list[str] = [c["name"] for c in classes]
        self.wnids: list[str] = [c["wnid"] for c in classes]
        self.synonyms: list[list[str]] = [list(c.get("synonyms", ())) for c in classes]
        self.definitions: list[str] = [c.get("definition", "") for c in classes]
        self._hypernyms: list[tuple[str, ...]] = [tuple(c["hypernyms"]) for c in classes]
        self._nodes: dict[str, dict] = data["nodes"]
        self.index_of: dict[str, int] = {w: i for i, w in enumerate(self.wnids)}
        # Sparse class -> node membership (each class counts for itself and every ancestor),
        # so aggregate() is one scatter-add.
        order = {w: i for i, w in enumerate(self._nodes)}
        self.node_wnids: list[str] = list(self._nodes)
        rows, cols = [], []
        for i, (wnid, chain) in enumerate(zip(self.wnids, self._hypernyms)):
            for node in (wnid, *chain):
                rows.append(i)
                cols.append(order[node])
        self._member_class = np.asarray(rows, dtype=np.int64)
        self._member_node = np.asarray(cols, dtype=np.int64)

    @classmethod
    def load(cls) -> Concepts:
        """The built-in concept table (parsed once per process)."""
        return _load_builtin()

    def __len__(self) -> int:
        return len(self.names)

    def hypernyms(self, index: int) -> list[str]:
        """WordNet ids of class `index`'s ancestors, parent first, ending at entity."""
        return list(self._hypernyms[index])

    def node_name(self, wnid: str) -> str:
        """Readable name of any class or ancestor node."""
        try:
            return str(self._nodes[wnid]["name"])
        except KeyError:
            raise KeyError(f"unknown concept node {wnid!r}") from None

    def node_depth(self, wnid: str) -> int:
        """Steps from entity (depth 0) down to the node."""
        return int(self._nodes[wnid]["depth"])

    def aggregate(self, probs: np.ndarray) -> dict[str, float]:
        """Probability mass of every node: a class's own probability plus all its descendants'."""
        p = np.asarray(probs, dtype=np.float64).ravel()
        if p.shape[0] != len(self.names):
            raise ValueError(f"expected {len(self.names)} class probabilities, got {p.shape[0]}")
        mass = np.zeros(len(self.node_wnids), dtype=np.float64)
        np.add.at(mass, self._member_node, p[self._member_class])
        return {w: float(m) for w, m in zip(self.node_wnids, mass)}


@lru_cache(maxsize=1)
def _load_builtin() -> Concepts:
    resource = files("vlm_desktop.resources") / RESOURCE_DIR / RESOURCE_FILE
    return Concepts(json.loads(resource.read_text(encoding="utf-8")))
