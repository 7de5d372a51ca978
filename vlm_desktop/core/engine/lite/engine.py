"""LiteEngine: the built-in offline vision-language model behind the `Engine` protocol.

EfficientNet-Lite0 (vision) and all-MiniLM-L6-v2 (text) joined in MiniLM's 384-d space;
captions and answers are composed from grounded evidence (see captioner.py, answerer.py).
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import replace
from typing import Optional, Sequence

import numpy as np
import torch
from PIL import Image

from vlm_desktop import __version__
from vlm_desktop.core.cancel import JobState
from vlm_desktop.core.device import DeviceChoice
from vlm_desktop.core.engine.lite import answerer, chinese, runtime, vision
from vlm_desktop.core.engine.lite.attention import attention, unit_range
from vlm_desktop.core.engine.lite.captioner import compose_caption, compose_caption_zh, main_object
from vlm_desktop.core.engine.lite.concepts import Concepts
from vlm_desktop.core.engine.lite.evidence import ImageEvidence, encode_evidence, summarise
from vlm_desktop.core.engine.lite.hierarchy import Hierarchy, Match
from vlm_desktop.core.engine.lite.joint import PROMPT, JointSpace, build_joint_space, load_projection
from vlm_desktop.core.engine.lite.projection import Projection
from vlm_desktop.core.engine.lite.questions import parse_question
from vlm_desktop.core.engine.lite.text import TextTower, fingerprint, model_dir
from vlm_desktop.core.engine.types import Answer, Caption, HeatMap, ModelInfo
from vlm_desktop.core.images import image_content_hash as content_hash
from vlm_desktop.core.paths import cache_dir

log = logging.getLogger(__name__)

NAME = "VLM Lite (built-in)"
LICENCE = ("EfficientNet-Lite0 ImageNet weights: Apache-2.0; all-MiniLM-L6-v2: Apache-2.0; "
           "concept names and hierarchy derived from WordNet 3.0 (WordNet licence, Princeton "
           "University)")
CACHE_SIZE = 32
RELEVANCE_MATCH = 0.8  # a phrase this close to known concepts gets their CAM, else attention
# embed_images encodes in chunks sized to take about this long, so a cancel (closing the
# window mid-index) is seen within about a second even on a slow CPU; a GPU keeps whole
# chunks of MAX_CHUNK, where batching pays most.
CHUNK_SECONDS = 0.8
MAX_CHUNK = 16
LANGUAGE_ENV = "VLM_DESKTOP_LANGUAGE"  # "zh_CN": captions and answers in Chinese


def language_from(value: Optional[str]) -> str:
    """"zh_CN" for any Chinese setting ("zh", "zh_CN", "zh-Hans"), else "en"."""
    return chinese.LANGUAGE if (value or "").lower().startswith("zh") else chinese.ENGLISH


def class_terms(concepts: Concepts) -> list[list[str]]:
    """Each class's name then synonyms: the terms its label embedding is made from."""
    return [[n, *s] for n, s in zip(concepts.names, concepts.synonyms)]


def _check(state: Optional[JobState]) -> None:
    if state is not None:
        state.check()


class LiteEngine:
    """The built-in model; thread-confined to the worker that loaded it (one call at a time)."""

    def __init__(self, tower: vision.VisionTower, text: TextTower, concepts: Concepts,
                 joint: JointSpace, device: DeviceChoice,
                 hier: Optional[Hierarchy] = None) -> None:
        self.tower = tower
        self.text = text
        self.concepts = concepts
        self.hier = hier if hier is not None else Hierarchy(concepts)
        self.joint = joint
        self.device = device
        self.node_vecs = np.concatenate([joint.labels, joint.nodes]).astype(np.float32)
        self._cache: OrderedDict[str, ImageEvidence] = OrderedDict()
        self._phrases: OrderedDict[str, np.ndarray] = OrderedDict()
        self._matches: OrderedDict[str, Match] = OrderedDict()
        # Keyed weakly by the cached evidence, so they go when it leaves the LRU.
        self._regions: weakref.WeakKeyDictionary[ImageEvidence, np.ndarray] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self.encode_count = 0
        self.load_seconds = 0.0
        # How the vision tower runs here (runtime.py); set by `load`.
        self.runtime = runtime.RuntimeChoice("eager", runtime.DEFAULT_BATCH, "default")
        self.variant = ""  # set on a catalog-adapted view (with_projection)
        self._views: dict[str, LiteEngine] = {}
        # The language captions are said in and questions answered in; a question typed in
        # Chinese is answered in Chinese whatever this says.
        self.language = language_from(os.environ.get(LANGUAGE_ENV))

    @classmethod
    def load(cls, device: DeviceChoice, use_projection: bool = True) -> LiteEngine:
        """Load both towers on `device` (CUDA half precision, else CPU float32).

        `use_projection=False` keeps the first generation's joint space (no trained
        projection, no visual space): for comparisons in the tools and benchmarks.
        """
        start = time.perf_counter()
        if device.is_cuda:
            dev, dtype = device.device, torch.float16
        else:
            dev, dtype = "cpu", torch.float32
            torch.set_num_threads(max(1, device.threads))
        tower = vision.load_vision_tower(dev, dtype)
        if device.is_cuda:  # the GPU keeps the module's own half-precision path
            tower_runtime = runtime.RuntimeChoice("eager", runtime.DEFAULT_BATCH, "GPU",
                                                  dtype="float16")
        else:  # measured once per machine (about a second), then read from the cache
            tower_runtime = runtime.choose(tower, max(1, device.threads))
        text = TextTower.load(dev, dtype)
        concepts = Concepts.load()
        hier = Hierarchy(concepts)
        weight = tower.classifier.weight.detach().float().cpu().numpy()
        joint = build_joint_space(text.encode, fingerprint(), class_terms(concepts),
                                  hier.node_names[hier.num_classes:], weight,
                                  cache_dir() / "lite")
        if use_projection:
            joint = replace(joint, projection=load_projection(joint.labels))
        engine = cls(tower, text, concepts, joint,
                     replace(device, device=dev, dtype="float16" if device.is_cuda else "float32"),
                     hier)
        engine.runtime = tower_runtime
        engine.load_seconds = time.perf_counter() - start
        return engine

    # --- features -------------------------------------------------------------------------
    def evidence(self, images: Sequence[Image.Image],
                 state: Optional[JobState] = None) -> list[ImageEvidence]:
        """Cached evidence per image; only images not in the cache are encoded (one batch)."""
        keys = [content_hash(im) for im in images]
        found: dict[str, ImageEvidence] = {}
        with self._lock:
            for k in keys:
                if k in self._cache:
                    self._cache.move_to_end(k)
                    found[k] = self._cache[k]
        missing = [i for i, k in enumerate(keys) if k not in found]
        _check(state)
        if missing:
            new = [self._with_naming(ev) for ev in
                   encode_evidence(self.tower, [images[i] for i in missing])]
            with self._lock:
                self.encode_count += len(missing)
                for i, ev in zip(missing, new):
                    found[keys[i]] = ev
                    self._cache[keys[i]] = ev
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
            _check(state)
        return [found[k] for k in keys]

    def _with_naming(self, ev: ImageEvidence) -> ImageEvidence:
        """The evidence with the distribution captions name from: the classifier's
        probabilities fused with the trained joint space's reading of the image (how close
        the image's vector is to each class's label embedding). Clip art and product shots,
        which the ImageNet classifier reads poorly, gain most."""
        proj = self.joint.projection
        if proj is None:
            return ev
        beta, temperature = proj.naming
        if beta <= 0:
            return ev
        z = self.joint.image_embedding(ev.probs, ev.pooled)
        reading = np.exp((self.joint.labels @ z - 1.0) / temperature, dtype=np.float64)
        fused = np.power(np.maximum(ev.probs, 1e-12), 1 - beta) * np.power(reading / reading.sum(), beta)
        return replace(ev, naming_probs=(fused / fused.sum()).astype(np.float32))

    def _one(self, image: Image.Image, state: Optional[JobState]
             ) -> tuple[ImageEvidence, float, tuple[str, ...]]:
        """The image's evidence, the milliseconds it took and ("encode",) when it came from
        the cache (an earlier caption or question about the same image)."""
        start, encoded = time.perf_counter(), self.encode_count
        ev = self.evidence([image], state)[0]
        cached = ("encode",) if self.encode_count == encoded else ()
        return ev, (time.perf_counter() - start) * 1000, cached

    # --- text side ------------------------------------------------------------------------
    def phrase_vector(self, phrase: str) -> np.ndarray:
        """The phrase prompted like the labels ("a photo of a …"), embedded; small LRU."""
        key = phrase.lower().strip()
        if key not in self._phrases:
            known = self._known_vector(key)
            self._phrases[key] = (known if known is not None
                                  else self.text.encode([PROMPT.format(key)])[0])
            while len(self._phrases) > 256:
                self._phrases.popitem(last=False)
        return self._phrases[key]

    def _known_vector(self, key: str) -> Optional[np.ndarray]:
        """The cached label embedding when a concept was embedded from exactly this prompt
        (a hypernym such as "cat", or a class without synonyms): no text-tower run."""
        for n in self.hier.exact_nodes(key):
            single = not self.hier.is_class(n) or not self.concepts.synonyms[n]
            if single and self.hier.node_names[n].lower() == key:
                return self.node_vecs[n]
        return None

    def regions(self, ev: ImageEvidence) -> np.ndarray:
        """Region embeddings of an image's grid (grid @ W), computed once per image."""
        found = self._regions.get(ev)
        if found is None:
            found = self._regions[ev] = self.joint.regions(ev.grid)
        return found

    def match(self, phrase: str) -> Match:
        """Concepts a phrase names (and related ones); cached, it does not depend on the image."""
        key = phrase.lower().strip()
        found = self._matches.get(key)
        if found is None:
            found = self.hier.match(phrase, self.phrase_vector(phrase), self.node_vecs)
            self._matches[key] = found
            while len(self._matches) > 256:
                self._matches.popitem(last=False)
        return found

    def attention_rows(self, ev: ImageEvidence, text: str) -> tuple[list[str], np.ndarray]:
        """Words of `text` and their attention rows A = softmax(R·Tᵀ/τ): ([T], [T, h, w])."""
        words, states = self.text.token_states(text)
        if not words:
            return [], np.zeros((0, *ev.grid_shape), np.float32)
        return words, attention(self.regions(ev), self.joint.centre_text(states))

    def phrase_attention(self, ev: ImageEvidence, phrase: str) -> np.ndarray:
        """One attention map for a whole phrase (its sentence embedding as the query)."""
        vec = self.joint.centre_text(self.text.encode([phrase]))
        return attention(self.regions(ev), vec)[0]

    # --- Engine protocol ------------------------------------------------------------------
    def info(self) -> ModelInfo:
        memory = sum(p.numel() * p.element_size() for p in self.tower.parameters())
        memory += self.text.parameter_bytes
        return ModelInfo(
            name=NAME, version=__version__ + (f"+{self.variant}" if self.variant else ""),
            device=self.device.device, dtype=self.device.dtype,
            memory_bytes=int(memory), licence=LICENCE,
            source=f"{vision.weights_path()}; {model_dir()}",
            description="EfficientNet-Lite0 + all-MiniLM-L6-v2 joined in one 384-d space; "
                        "captions and answers composed from grounded evidence.",
            runtime=self.runtime.describe())

    def caption(self, image: Image.Image, state: Optional[JobState] = None) -> Caption:
        ev, encode_ms, cached = self._one(image, state)
        start = time.perf_counter()
        zh = self.language == chinese.LANGUAGE
        cap = (compose_caption_zh if zh else compose_caption)(self.hier, ev)
        _check(state)
        return replace(cap, timings_ms={"encode": round(encode_ms, 1),
                                        "caption": round((time.perf_counter() - start) * 1000, 1)},
                       cached=cached)

    def answer(self, image: Image.Image, question: str,
               state: Optional[JobState] = None) -> Answer:
        ev, encode_ms, cached = self._one(image, state)
        start = time.perf_counter()
        q = parse_question(question)
        if self.language == chinese.LANGUAGE and q.language != chinese.LANGUAGE:
            q = replace(q, language=chinese.LANGUAGE)
        result = self._answer(ev, q)
        _check(state)
        return replace(result, timings_ms={"encode": round(encode_ms, 1),
                                           "answer": round((time.perf_counter() - start) * 1000, 1)},
                       cached=cached)

    def _answer(self, ev: ImageEvidence, q) -> Answer:  # noqa: ANN001 - ParsedQuestion
        def attend(phrase: str) -> np.ndarray:
            return self.phrase_attention(ev, phrase)

        args = (q, self.hier, ev, self.match, attend)
        if q.kind == "what":
            return answerer.answer_what(*args)
        if q.kind == "color":
            return answerer.answer_color(*args)
        if q.kind == "yesno":
            return answerer.answer_yesno(*args, lambda p: self._joint_similarity(ev, p))
        if q.kind == "where":
            return answerer.answer_where(*args)
        if q.kind == "count":
            return answerer.answer_count(*args)
        # A refusal still shows what the model sees (the main object's evidence map); cheaper
        # than attending over the question, which has nothing to ground here.
        first = main_object(self.hier, ev)
        heat = HeatMap(first.name, unit_range(first.cam), kind="cam")
        return answerer.answer_refusal(q, heat, catalog=q.kind == "catalog")

    def _joint_similarity(self, ev: ImageEvidence, phrase: str) -> float:
        img = self.joint.image_embedding(ev.probs, ev.pooled)
        return float(img @ self.phrase_vector(phrase))

    def embed_images(self, images: Sequence[Image.Image],
                     state: Optional[JobState] = None) -> np.ndarray:
        return self.embed_catalog(images, state)["joint"]

    def embed_visual(self, images: Sequence[Image.Image],
                     state: Optional[JobState] = None) -> np.ndarray:
        """Image-to-image similarity vectors (the vision tower's own space, whitened);
        the joint-space vectors when no trained projection is loaded."""
        spaces = self.embed_catalog(images, state)
        return spaces.get("visual", spaces["joint"])

    def embed_catalog(self, images: Sequence[Image.Image],
                      state: Optional[JobState] = None) -> dict[str, np.ndarray]:
        """Every vector a catalog stores for each image, from one pass of the two 224 px
        views (no 448 px map view: maps are computed when one is shown):
        {"joint": [N, 384], "visual": [N, K]} (no "visual" without a trained projection)."""
        return self.spaces(*self.image_features(images, state))

    def image_features(self, images: Sequence[Image.Image], state: Optional[JobState] = None
                       ) -> tuple[np.ndarray, np.ndarray]:
        """(probs [N, 1000], pooled [N, 1280]) of the two 224 px views: what the catalog's
        vectors are computed from (`spaces`), and what catalog adaptation caches."""
        probs: list[np.ndarray] = []
        pooled: list[np.ndarray] = []
        chunk, start = 1 if state is not None else MAX_CHUNK, 0
        while start < len(images):
            _check(state)
            began = time.perf_counter()
            part = list(images[start:start + chunk])
            check = state.check if state is not None else None  # also between the two views
            for s in summarise(self.tower, part, check=check):
                probs.append(s.probs)
                pooled.append(s.pooled)
            with self._lock:
                self.encode_count += len(part)
            start += len(part)
            if state is not None:
                state.progress(start / max(1, len(images)))
                per_image = (time.perf_counter() - began) / len(part)
                chunk = int(max(1, min(MAX_CHUNK, CHUNK_SECONDS / max(per_image, 1e-6))))
        if not probs:
            return (np.zeros((0, len(self.concepts.names)), np.float32),
                    np.zeros((0, self.joint.weight_mean.shape[0]), np.float32))
        return np.stack(probs), np.stack(pooled)

    def spaces(self, probs: np.ndarray, pooled: np.ndarray) -> dict[str, np.ndarray]:
        """The catalog vectors ({"joint"[, "visual"]}) of images given by their features."""
        out = {"joint": np.zeros((0, self.node_vecs.shape[1]), np.float32) if not len(probs)
               else self.joint.image_embeddings(probs, pooled).astype(np.float32)}
        if self.joint.projection is not None:
            out["visual"] = self.joint.projection.visual(pooled).astype(np.float32) if len(probs) \
                else np.zeros((0, self.joint.projection.visual_basis.shape[1]), np.float32)
        return out

    def with_projection(self, projection: Projection, variant: str) -> LiteEngine:
        """A view of this engine (same towers, same thread) whose joint space uses another
        trained projection: a catalog's adapter (core/catalog/adapt.py). Its model key
        carries `variant`, so its vectors are stored beside, never over, the base model's."""
        found = self._views.get(variant)
        if found is not None and found.joint.projection is projection:
            return found  # one view per adapter, so its evidence cache lasts between requests
        view = copy.copy(self)
        view.joint = replace(self.joint, projection=projection)
        view.variant = variant
        # Evidence holds naming probabilities from the projection: not shared with the base.
        view._cache = OrderedDict()
        view._regions = weakref.WeakKeyDictionary()
        view._views = {}
        self._views[variant] = view
        return view

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self.text.encode(list(texts))

    def relevance(self, image: Image.Image, text: str) -> HeatMap:
        ev = self.evidence([image])[0]
        phrase = text.strip()
        if not phrase:
            first = main_object(self.hier, ev)
            return HeatMap(first.name, unit_range(first.cam), kind="cam")
        m = self.match(phrase)
        if m.exact or m.similarity >= RELEVANCE_MATCH:
            classes = self.hier.union_classes(m.nodes)
            glob, local = ev.presence(classes)
            if max(glob, local) >= 0.05:
                return HeatMap(phrase, unit_range(ev.concept_map(classes)), kind="cam")
        return HeatMap(phrase, unit_range(self.phrase_attention(ev, phrase)), kind="attention")

    def spatial_features(self, image: Image.Image) -> np.ndarray:
        """The image's feature grid (rows, cols, 1280) float32, row 0 = top ("why similar")."""
        return np.asarray(self.evidence([image])[0].grid, np.float32)

    def word_maps(self, image: Image.Image, text: str) -> dict[str, HeatMap]:
        """Per-word attention heat maps of any text over the image (rows of A)."""
        ev = self.evidence([image])[0]
        words, rows = self.attention_rows(ev, text)
        return {w.lower(): HeatMap(w, unit_range(r), kind="attention") for w, r in zip(words, rows)}

    def close(self) -> None:
        self._views.clear()
        with self._lock:
            self._cache.clear()
        self._phrases.clear()
        self._matches.clear()
        self.tower = None  # type: ignore[assignment]
        self.text = None  # type: ignore[assignment]
        if self.device.is_cuda:
            torch.cuda.empty_cache()
