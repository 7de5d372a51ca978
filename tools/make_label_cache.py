"""Precompute the built-in model's label embeddings and ridge map W, shipped as resources.

Without them every fresh install (and every test session) spends a minute or more running
~2,500 prompts through MiniLM and choosing the ridge strength. Writes, at half precision:
  resources/lite/label_embeddings.npz  labels [1000, 384], nodes [N, 384], key
  resources/lite/ridge_map.npz         w [1280, 384], weight_mean, label_mean, region_scale, key
Each `key` is the hash the engine computes at load (text model, prompts, names; for W also
the classifier weights): a stale file is ignored and the engine computes and caches on disk.
Run after changing prompts, concepts or either tower:  python tools/make_label_cache.py
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "resources" / "lite"


def main() -> None:
    from vlm_desktop.core.engine.lite import joint, vision
    from vlm_desktop.core.engine.lite.concepts import Concepts
    from vlm_desktop.core.engine.lite.engine import class_terms
    from vlm_desktop.core.engine.lite.hierarchy import Hierarchy
    from vlm_desktop.core.engine.lite.text import TextTower, fingerprint

    start = time.perf_counter()
    concepts = Concepts.load()
    hier = Hierarchy(concepts)
    terms = class_terms(concepts)
    node_names = hier.node_names[hier.num_classes:]
    text = TextTower.load()
    model_id = fingerprint()
    key = joint.label_key(model_id, terms, node_names)
    # Rounded to half precision first, so W is fit on exactly what the engine will load.
    labels = joint.embed_terms(text.encode, terms).astype(np.float16)
    nodes = joint.embed_terms(text.encode, [[n] for n in node_names]).astype(np.float16)
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez(OUT / joint.LABELS_FILE, key=np.str_(key), labels=labels, nodes=nodes)

    weight = vision.load_vision_tower().classifier.weight.detach().float().numpy()
    fitted = joint.fit_map(joint._normalise(labels.astype(np.float32)), weight)
    np.savez(OUT / joint.MAP_FILE, key=np.str_(joint.map_key(key, weight)),
             **{k: np.asarray(v).astype(np.float16 if np.ndim(v) else np.float32)
                for k, v in fitted.items()})
    for name in (joint.LABELS_FILE, joint.MAP_FILE):
        print(f"wrote {OUT / name} ({(OUT / name).stat().st_size / 1e6:.2f} MB)")
    print(f"done in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
