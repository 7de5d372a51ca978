"""The concept hierarchy as the captioner and answerer use it: node masses, caption-ready
names, and matching a phrase ("cats", "a vehicle") to concept nodes.

Built over `concepts.Concepts` (classes with their hypernym chains). Mass of a node is the
probability of all classes under it, computed as one matrix product per image.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from vlm_desktop.core.messages import Phrase, say_later

# Hypernyms too abstract for a caption ("a whole", "an instrumentality"): never named.
ABSTRACT = frozenset({
    "entity", "physical entity", "object", "whole", "artifact", "artefact", "instrumentality",
    "living thing", "organism", "being", "abstraction", "matter", "substance", "causal agent",
    "structure", "covering", "commodity", "device", "implement", "equipment", "conveyance",
    "container", "chordate", "vertebrate", "placental", "eutherian mammal", "carnivore",
    "mammal", "craniate", "invertebrate", "arthropod", "solid", "foodstuff", "food", "nutriment",
    "natural object", "geological formation", "part", "relation", "attribute", "psychological feature",
    "group", "communication", "measure", "system", "creation", "decoration", "protective covering",
    "surface", "article", "ware", "consumer goods", "durables", "merchandise", "product",
    "production", "plant part", "plant organ", "reproductive structure", "vascular plant",
    "herb", "woody plant", "odd-toed ungulate", "even-toed ungulate", "ungulate", "hoofed mammal",
    "primate", "diapsid", "reptile", "aquatic vertebrate", "mollusk", "gastropod", "bovid",
    "ruminant", "wheeled vehicle", "self-propelled vehicle", "craft", "vessel", "mechanism",
    "mechanical device", "electronic equipment", "electrical device", "furnishing", "furniture",
    "home appliance", "appliance", "clothing", "garment", "headdress", "footwear", "tableware",
    "crockery", "cooking utensil", "utensil", "kitchen utensil", "tool", "hand tool",
    "edge tool", "instrument", "measuring instrument", "musical instrument", "toiletry",
    "piece of cloth", "fabric", "material", "person", "adult", "worker", "animal",
    "domestic animal", "canine", "feline", "bird", "fish", "vehicle", "motor vehicle", "dish",
    "beverage", "fruit", "vegetable",
})
# Of the names above, those a caption may still use because people say them.
SAYABLE = frozenset({
    "animal", "bird", "fish", "vehicle", "dish", "beverage", "fruit", "vegetable", "furniture",
    "reptile", "primate", "musical instrument", "tool", "clothing", "garment", "footwear",
    "container", "food", "person", "mammal", "canine", "feline", "motor vehicle",
})
# Caption-friendly names of common hypernyms (WordNet's first lemma is often formal).
EVERYDAY = {
    "domestic cat": "cat", "domestic dog": "dog", "motor vehicle": "vehicle", "canine": "dog-like animal",
    "feline": "cat-like animal", "big cat": "big cat", "motorcar": "car", "auto": "car",
    "automobile": "car", "wading bird": "wading bird", "cup": "cup", "hog": "pig",
    "bovid": "cattle-like animal", "anthropoid ape": "ape", "timepiece": "clock",
}


def everyday_name(name: str) -> str:
    """The name a person would say for a node (overrides for formal WordNet lemmas)."""
    return EVERYDAY.get(name.lower(), name)


@dataclass(frozen=True)
class Match:
    """Concept nodes matched to a phrase, with how well (cosine of the best, 0..1)."""

    phrase: str
    nodes: tuple[int, ...]
    similarity: float
    exact: bool
    # Other concepts the phrase may refer to ("cup" -> coffee mug, coffee): (node, score, why),
    # best first; never a hypernym of `nodes` (asked for a dog, "an animal" is no answer).
    related: tuple[tuple[int, float, Phrase], ...] = field(default=(), compare=False)


ASSOCIATED_SIM = 0.7  # label-embedding cosine from which a concept counts as related
NAME_SCORE = 0.9  # the phrase is a word of the concept's name, synonym or hypernym's name
DEFINITION_SCORE = 0.75  # the phrase is a word of the concept's definition


class Hierarchy:
    """Nodes (classes and their hypernyms) with membership, parents, depth and names."""

    def __init__(self, concepts: object) -> None:
        self.concepts = concepts
        names: list[str] = list(concepts.names)  # type: ignore[attr-defined]
        wnids: list[str] = list(concepts.wnids)  # type: ignore[attr-defined]
        self.num_classes = len(wnids)
        index: dict[str, int] = {}
        self.node_wnids: list[str] = []
        self.node_names: list[str] = []
        parent: dict[int, int] = {}
        depth: dict[int, int] = {}
        members: dict[int, list[int]] = {}

        def node(wnid: str, name: str) -> int:
            if wnid not in index:
                index[wnid] = len(self.node_wnids)
                self.node_wnids.append(wnid)
                self.node_names.append(name)
            return index[wnid]

        for wnid, name in zip(wnids, names):
            node(wnid, name)  # classes first, so node c is class c
        for c, (wnid, name) in enumerate(zip(wnids, names)):
            chain = [w for w in concepts.hypernyms(c) if w != wnid]  # type: ignore[attr-defined]
            ids = [node(wnid, name)] + [node(w, concepts.node_name(w)) for w in chain]  # type: ignore[attr-defined]
            for a, b in zip(ids, ids[1:]):
                parent.setdefault(a, b)
            for pos, n in enumerate(ids):
                depth[n] = len(ids) - 1 - pos
                members.setdefault(n, []).append(c)
        self.wnid_index = index
        self.parent = np.array([parent.get(i, -1) for i in range(len(self.node_wnids))])
        self.depth = np.array([depth[i] for i in range(len(self.node_wnids))])
        self.membership = np.zeros((len(self.node_wnids), self.num_classes), np.float32)
        for n, cs in members.items():
            self.membership[n, cs] = 1.0
        # The same membership as (node, class) pairs: one bincount gives all node masses.
        self._member_node, self._member_class = np.nonzero(self.membership)  # sorted by node
        self._node_starts = np.searchsorted(self._member_node, np.arange(len(self.node_wnids)))
        self._ancestor_sets: list[frozenset[int]] = []
        self.children: dict[int, list[int]] = {}
        for child, p in enumerate(self.parent):
            if p >= 0:
                self.children.setdefault(int(p), []).append(child)
        self._lexicon = self._build_lexicon(concepts)
        self._ancestor_sets = [frozenset(self.ancestors(n)) for n in range(len(self.node_names))]
        self.sayable_mask = np.array([self.sayable(n) for n in range(len(self.node_names))])
        self._names_text = ["\n".join([self.node_names[n], everyday_name(self.node_names[n]),
                                        *(getattr(concepts, "synonyms", [[]] * self.num_classes)[n]
                                          if self.is_class(n) else [])]).lower()
                            for n in range(len(self.node_names))]
        self._definitions = [d.lower() for d in getattr(concepts, "definitions", [])]

    def _build_lexicon(self, concepts: object) -> dict[str, list[int]]:
        lex: dict[str, list[int]] = {}
        for n, name in enumerate(self.node_names):
            for term in {name.lower(), everyday_name(name).lower()}:
                lex.setdefault(term, []).append(n)
        synonyms = getattr(concepts, "synonyms", None)
        for c in range(self.num_classes):
            terms = synonyms(c) if callable(synonyms) else (synonyms[c] if synonyms else [])
            for term in terms:
                lex.setdefault(term.lower(), []).append(c)  # class c is node c (added first)
        return lex

    # --- masses and names ---------------------------------------------------------------
    def masses(self, probs: np.ndarray) -> np.ndarray:
        """Probability mass of every node (class or hypernym): [N], or [K, N] for [K, 1000]."""
        # A gather and a segmented sum over (node, class) pairs: ~15 pairs a class, so far
        # cheaper than the dense [N, 1000] product (every node has at least one class).
        p = np.asarray(probs, np.float32)
        return np.add.reduceat(p[..., self._member_class], self._node_starts, axis=-1)

    def is_class(self, n: int) -> bool:
        return n < self.num_classes

    def classes_of(self, n: int) -> np.ndarray:
        """Class indices under node n (n itself when it is a class)."""
        return np.flatnonzero(self.membership[n])

    def name(self, n: int) -> str:
        return everyday_name(self.node_names[n])

    def sayable(self, n: int) -> bool:
        """Whether a caption may name node n (classes always; hypernyms unless too abstract)."""
        raw = self.node_names[n].lower()
        if self.is_class(n):
            return True
        return raw not in ABSTRACT or raw in SAYABLE

    def ancestors(self, n: int) -> list[int]:
        out = []
        p = int(self.parent[n])
        while p >= 0:
            out.append(p)
            p = int(self.parent[p])
        return out

    def related(self, a: int, b: int) -> bool:
        """True when one node is the other or its hypernym."""
        return a == b or a in self._ancestor_sets[b] or b in self._ancestor_sets[a]

    # --- phrase matching ----------------------------------------------------------------
    def exact_nodes(self, phrase: str) -> list[int]:
        """Nodes whose name or synonym is the phrase (case-insensitive)."""
        return list(dict.fromkeys(self._lexicon.get(phrase.lower().strip(), [])))

    def match(self, phrase: str, phrase_vec: np.ndarray, node_vecs: np.ndarray,
              margin: float = 0.04) -> Match:
        """Nodes matching `phrase`: exact name hits, else the nodes whose label embedding is
        within `margin` of the best cosine similarity."""
        exact = self.exact_nodes(phrase)
        sims = node_vecs @ phrase_vec
        if exact:
            return Match(phrase, tuple(exact), 1.0, True, self.related_nodes(phrase, sims, exact))
        best = float(sims.max())
        chosen = np.flatnonzero(sims >= best - margin)
        chosen = chosen[np.argsort(-sims[chosen])][:8]
        nodes = tuple(int(i) for i in chosen)
        return Match(phrase, nodes, best, False, self.related_nodes(phrase, sims, nodes))

    def related_nodes(self, phrase: str, sims: np.ndarray, matched: Sequence[int],
                      limit: int = 24) -> tuple[tuple[int, float, Phrase], ...]:
        """Concepts a phrase may mean besides its matches: the phrase as a word of a name,
        synonym or hypernym name, or of a definition, or a close label embedding.
        Matches, their hypernyms and abstract nodes are left out."""
        key = phrase.lower().strip()
        if not key:
            return ()
        excluded = set(matched)
        for n in matched:
            excluded.update(self.ancestors(n))
        word = re.compile(rf"\b{re.escape(key)}s?\b")
        found: dict[int, tuple[float, Phrase]] = {}

        def add(n: int, score: float, why: Phrase) -> None:
            if n not in excluded and self.sayable(n) and score > (found[n][0] if n in found else 0.0):
                found[n] = (score, why)

        for n, text in enumerate(self._names_text):
            if word.search(text):
                add(n, NAME_SCORE, say_later("'{key}' in its name", key=key))
        for c, text in enumerate(self._definitions):
            if word.search(text):
                add(c, DEFINITION_SCORE, say_later("'{key}' in its definition", key=key))
        for close in np.flatnonzero(sims[: len(self.node_names)] >= ASSOCIATED_SIM):
            add(int(close), float(sims[close]),
                say_later("close in meaning ({sim:.2f})", sim=float(sims[close])))
        ranked = sorted(found.items(), key=lambda kv: -kv[1][0])[:limit]
        return tuple((n, score, why) for n, (score, why) in ranked)

    def union_classes(self, nodes: Sequence[int]) -> np.ndarray:
        """Class indices under any of `nodes`."""
        if not nodes:
            return np.zeros(0, int)
        return np.flatnonzero(self.membership[list(nodes)].max(axis=0))
