"""The ImageNet concept table: readable, unique names and a sound WordNet hierarchy."""

from __future__ import annotations

import numpy as np
import pytest

from vlm_desktop.core.engine.lite.concepts import ROOT_WNID, Concepts

DOMESTIC_CAT = "n02121808"
DOG = "n02084071"


@pytest.fixture(scope="module")
def concepts() -> Concepts:
    return Concepts.load()


def test_thousand_classes_with_unique_readable_names(concepts):
    assert len(concepts.names) == 1000 == len(set(concepts.wnids))
    lowered = [n.lower() for n in concepts.names]
    assert len(set(lowered)) == 1000
    assert all(n and "_" not in n and n == n.strip() for n in concepts.names)
    # The two ImageNet "crane"s stay apart and both still say "crane".
    cranes = [n for n in concepts.names if n.startswith("crane")]
    assert len(cranes) == 2


def test_names_are_what_a_caption_can_say(concepts):
    assert concepts.names[concepts.index_of["n02123045"]] == "tabby cat"
    assert concepts.names[concepts.index_of["n07920052"]] == "espresso"


def test_every_chain_ends_at_entity_and_depths_count_down(concepts):
    for i in range(len(concepts)):
        chain = concepts.hypernyms(i)
        assert chain[-1] == ROOT_WNID
        depths = [concepts.node_depth(w) for w in (concepts.wnids[i], *chain)]
        assert depths == list(range(len(chain), -1, -1))


def test_cat_breeds_are_domestic_cats(concepts):
    breeds = [i for i, n in enumerate(concepts.names)
              if n in ("tabby cat", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat")]
    assert len(breeds) == 5
    assert all(DOMESTIC_CAT in concepts.hypernyms(i) for i in breeds)
    assert concepts.node_name(DOMESTIC_CAT) == "domestic cat"
    # Big cats are cats but not domestic ones.
    lion = concepts.names.index("lion")
    assert DOMESTIC_CAT not in concepts.hypernyms(lion)


def test_dog_breeds_are_dogs(concepts):
    # ImageNet's dog breeds are the contiguous block from Chihuahua to Mexican hairless.
    first, last = concepts.names.index("Chihuahua"), concepts.names.index("Mexican hairless")
    assert last - first + 1 == 118
    assert all(DOG in concepts.hypernyms(i) for i in range(first, last + 1))
    wolf = concepts.names.index("timber wolf")
    assert DOG not in concepts.hypernyms(wolf)


def test_aggregate_sums_mass_up_the_tree(concepts):
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(1000))
    mass = concepts.aggregate(probs)
    assert mass[ROOT_WNID] == pytest.approx(1.0)
    cats = [i for i in range(1000) if DOMESTIC_CAT in concepts.hypernyms(i)]
    assert mass[DOMESTIC_CAT] == pytest.approx(probs[cats].sum())
    leaf = concepts.wnids[7]
    assert mass[leaf] == pytest.approx(probs[7])
    with pytest.raises(ValueError):
        concepts.aggregate(probs[:10])


def test_load_is_cached(concepts):
    assert Concepts.load() is concepts
