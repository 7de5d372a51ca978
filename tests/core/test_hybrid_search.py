"""Hybrid text search: words and picture fused so both together win; one score in all modes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from vlm_desktop.core.catalog import search as search_mod
from vlm_desktop.core.catalog.importer import import_folder
from vlm_desktop.core.catalog.indexer import Indexer
from vlm_desktop.core.catalog.search import CatalogSearch, adaptive_cut
from vlm_desktop.core.catalog.store import CatalogStore
from vlm_desktop.core.engine.fake import DIM, FakeEngine

RED, GREY, BLUE, GREEN = (224, 32, 32), (160, 160, 160), (32, 32, 224), (32, 224, 32)


def _bin(rgb: tuple[int, int, int]) -> int:
    """The FakeEngine's histogram bin of a colour (4 levels per channel)."""
    r, g, b = (c // 64 for c in rgb)
    return r * 16 + g * 4 + b


class WordColourEngine(FakeEngine):
    """FakeEngine pictures (colour histograms) with texts that name colours: "red" is the
    red bin, "car" the grey of a car body; a text matches a picture that has its colours."""

    WORDS = {"red": RED, "car": GREY, "blue": BLUE, "green": GREEN}

    def embed_texts(self, texts):
        rows = []
        for text in texts:
            vec = np.zeros(DIM, np.float32)
            for word in text.lower().split():
                if word in self.WORDS:
                    vec[_bin(self.WORDS[word])] += 1.0
            rows.append(vec / (np.linalg.norm(vec) + 1e-9))
        return np.stack(rows)


# title, tags, left and right colour of the picture
ITEMS = [
    ("Sportcar", "sports;transport", RED, GREY),       # the red car, no word matches "car"
    ("Car", "hot rod;transport", BLUE, GREY),         # the blue car: the word, not the colour
    ("Apple", "fruit", RED, GREEN),
    ("Rock", "stone", GREY, GREY),
    ("Leaf", "plant", GREEN, GREEN),
    ("Ball", "toy", BLUE, BLUE),
    ("Blue car sticker", "decal", GREEN, GREEN),       # both words, a picture of neither
    ("Blue roadster", "car", BLUE, GREY),             # both words and the picture
]


def _picture(left, right) -> Image.Image:
    arr = np.zeros((32, 32, 3), np.uint8)
    arr[:, :16], arr[:, 16:] = left, right
    return Image.fromarray(arr)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hybrid")
    (tmp / "img").mkdir()
    lines = ["image,title,tags"]
    for n, (title, tags, left, right) in enumerate(ITEMS):
        _picture(left, right).save(tmp / "img" / f"item{n}.png")
        lines.append(f"item{n}.png,{title},{tags}")
    (tmp / "m.csv").write_text("\n".join(lines) + "\n")
    store = CatalogStore(tmp / "c.db")
    import_folder(store, tmp / "img", metadata=tmp / "m.csv")
    engine = WordColourEngine()
    indexer = Indexer(store)
    indexer.run(engine)
    indexer.close()
    yield engine, CatalogSearch.for_engine(store, engine)
    store.close()


def _titles(hits):
    return [h.item.title for h in hits]


def test_red_car_puts_the_red_car_first_not_the_blue_car_named_car(catalog):
    engine, search = catalog
    hits = search.by_text(engine, "red car", mode="hybrid", k=8, cut=False)
    titles = _titles(hits)
    assert titles[0] == "Sportcar"
    assert titles.index("Sportcar") < titles.index("Car")


def test_words_and_picture_together_outrank_words_alone(catalog):
    engine, search = catalog
    titles = _titles(search.by_text(engine, "blue car", mode="hybrid", k=8, cut=False))
    assert titles[0] == "Blue roadster"
    assert titles.index("Blue roadster") < titles.index("Blue car sticker")
    # the words still count: the sticker (no picture match) beats a picture-less non-match
    assert titles.index("Blue car sticker") < titles.index("Leaf")


def test_the_score_shown_is_the_same_cosine_in_every_mode(catalog):
    engine, search = catalog
    by_mode = {m: {h.item.title: h.similarity for h in
                   search.by_text(engine, "red car", mode=m, k=8, cut=False)}
               for m in ("hybrid", "vector", "keyword")}
    assert by_mode["hybrid"]["Sportcar"] == pytest.approx(by_mode["vector"]["Sportcar"])
    assert by_mode["hybrid"]["Sportcar"] > 0.9  # a real cosine, not a rank-fusion 0.03
    assert by_mode["keyword"]["Car"] == pytest.approx(by_mode["vector"]["Car"])
    assert by_mode["hybrid"]["Car"] == pytest.approx(by_mode["vector"]["Car"])


def test_hybrid_results_are_cut_where_the_scores_drop(catalog):
    engine, search = catalog
    titles = _titles(search.by_text(engine, "green", mode="hybrid", k=8))
    assert set(titles) == {"Leaf", "Blue car sticker", "Apple"}  # the green pictures only


def test_a_text_query_with_one_standout_answer_keeps_only_it():
    dog = [0.51, 0.34, 0.335, 0.33, 0.33, 0.325, 0.32, 0.32, 0.315, 0.31, 0.31, 0.30]
    assert adaptive_cut(dog, min_count=search_mod.TEXT_MIN_COUNT) == 1
