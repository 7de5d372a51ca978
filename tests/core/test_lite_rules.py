"""Rules of the built-in model that need no model run: hypernym back-off, related concepts and
counting separate peaks (on the real shipped concept table and label embeddings)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from vlm_desktop.core.engine.lite import chinese
from vlm_desktop.core.engine.lite.attention import separate_peaks
from vlm_desktop.core.engine.lite.captioner import choose_node, describe_split
from vlm_desktop.core.engine.lite.concepts import Concepts
from vlm_desktop.core.engine.lite.hierarchy import Hierarchy


@pytest.fixture(scope="module")
def hier():
    return Hierarchy(Concepts.load())


def _probs(hier, **named) -> np.ndarray:
    p = np.zeros(hier.num_classes, np.float32)
    for name, value in named.items():
        p[hier.node_names.index(name.replace("_", " "))] = value
    rest = 1.0 - p.sum()
    p[p == 0] += rest / np.count_nonzero(p == 0)  # the remainder spread thinly
    return p


def _caption_name(hier, probs) -> tuple[str, bool, str]:
    masses = hier.masses(probs)
    node, hedged = choose_node(hier, masses)
    name = hier.name(node)
    return name, hedged, describe_split(hier, probs, node, name).text("en")


def test_breeds_splitting_the_vote_back_off_to_cat(hier):
    name, hedged, evidence = _caption_name(
        hier, _probs(hier, tiger_cat=0.39, Egyptian_cat=0.36, tabby_cat=0.17))
    assert (name, hedged) == ("cat", False)
    assert evidence == "tiger cat 39%, Egyptian cat 36%, tabby cat 17% → cat"


def test_the_split_is_said_in_chinese_from_the_same_structure(hier):
    probs = _probs(hier, tiger_cat=0.39, Egyptian_cat=0.36, tabby_cat=0.17)
    node, _ = choose_node(hier, hier.masses(probs))
    said = describe_split(hier, probs, node, hier.name(node)).text("zh_CN")
    names = [chinese.node_name(hier, hier.node_names.index(n))
             for n in ("tiger cat", "Egyptian cat", "tabby cat")]
    assert said == f"{names[0]}（39%）、{names[1]}（36%）、{names[2]}（17%） → 归为{chinese.node_name(hier, node)}"
    assert not re.search("[A-Za-z]", said), said


def test_a_clear_breed_is_named(hier):
    name, hedged, evidence = _caption_name(
        hier, _probs(hier, Egyptian_cat=0.88, tiger_cat=0.05, tabby_cat=0.03))
    assert (name, hedged) == ("Egyptian cat", False)
    assert evidence.startswith("Egyptian cat 88%")


def test_a_lone_weak_class_is_hedged(hier):
    name, hedged, _ = _caption_name(hier, _probs(hier, espresso=0.35))
    assert (name, hedged) == ("espresso", True)


def test_masses_add_up_the_hierarchy(hier):
    p = _probs(hier, tiger_cat=0.39, Egyptian_cat=0.36, tabby_cat=0.17)
    masses = hier.masses(p)
    cat = hier.node_names.index("domestic cat")
    assert masses[cat] == pytest.approx(p[hier.classes_of(cat)].sum(), abs=1e-5)
    assert np.allclose(hier.masses(np.stack([p, p])), masses[None], atol=1e-6)


def _blob(shape, centre, radius, height=1.0):
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    return height * np.exp(-((rows - centre[0]) ** 2 + (cols - centre[1]) ** 2) / (2 * radius ** 2))


def test_two_objects_with_a_gap_are_two_peaks():
    m = _blob((9, 14), (4, 3), 1.2) + _blob((9, 14), (4, 10), 1.2, 0.8)
    assert separate_peaks(m) == [(4, 3), (4, 10)]


def test_one_object_with_two_hot_parts_is_one():
    # A head and a body: two maxima joined by a ridge well above half the lower one.
    m = _blob((9, 14), (2, 3), 1.5) + _blob((9, 14), (6, 8), 1.5, 0.85) + 0.45 * _blob((9, 14), (4, 5), 2.5)
    assert len(separate_peaks(m)) == 1


def test_scale_of_the_map_does_not_matter():
    m = _blob((9, 14), (4, 3), 1.2) + _blob((9, 14), (4, 10), 1.2, 0.8)
    assert separate_peaks(m * 37.0 - 5.0) == separate_peaks(m)
    assert separate_peaks(np.zeros((4, 4))) == []


@pytest.fixture(scope="module")
def node_vecs(hier):
    """The shipped label embeddings of every node (no text model run)."""
    from vlm_desktop.core.engine.lite import joint
    from vlm_desktop.core.engine.lite.engine import class_terms
    from vlm_desktop.core.engine.lite.text import fingerprint

    def must_not_encode(texts):
        raise AssertionError("expected the shipped label embeddings")

    labels, nodes = joint.label_embeddings(must_not_encode, fingerprint(), class_terms(hier.concepts),
                                           hier.node_names[hier.num_classes:], Path("/nonexistent"))
    return np.concatenate([labels, nodes])


def _related(hier, node_vecs, phrase):
    (node,) = [n for n in hier.exact_nodes(phrase) if hier.node_names[n] == phrase][:1]
    m = hier.match(phrase, node_vecs[node], node_vecs)
    return m, {hier.node_names[n] for n, _, _ in m.related}


def test_a_cup_relates_to_mugs_and_coffee(hier, node_vecs):
    m, related = _related(hier, node_vecs, "cup")
    assert m.exact
    assert {"coffee mug", "measuring cup", "coffee"} <= related


def test_related_concepts_are_never_hypernyms(hier, node_vecs):
    _, related = _related(hier, node_vecs, "dog")
    assert not related & {"canine", "animal", "carnivore", "domestic animal"}
    assert "dog" not in related
