"""The catalog's own category for an image, from its nearest items (core/catalog/naming.py)."""

from __future__ import annotations

from PIL import Image

from _catalog_helpers import make_store, near_duplicate
from vlm_desktop.core.catalog.naming import MIN_SHARE, guess_category
from vlm_desktop.core.catalog.search import SearchHit
from vlm_desktop.core.catalog.session import CatalogSession
from vlm_desktop.core.catalog.store import CatalogItem
from vlm_desktop.core.engine.fake import FakeEngine


def hits(*pairs: tuple[str, float]) -> list[SearchHit]:
    return [SearchHit(CatalogItem(id=i, path=f"{i}.png", title=f"item {i}", category=c), s, s,
                      "vector") for i, (c, s) in enumerate(pairs)]


def test_the_neighbours_agreeing_name_the_category():
    guess = guess_category(hits(*[("Footwear", 0.8)] * 8, ("Bags", 0.5), ("Tops", 0.4)))
    assert guess is not None
    assert (guess.category, guess.agreeing, guess.considered) == ("Footwear", 8, 10)
    assert MIN_SHARE <= guess.share < 1.0


def test_split_neighbours_name_nothing():
    assert guess_category(hits(*[("Footwear", 0.6)] * 5, *[("Bags", 0.6)] * 5)) is None
    # The vote is by similarity: six weak ones do not outvote four near-duplicates.
    near = guess_category(hits(*[("Bags", 0.95)] * 4, *[("Footwear", 0.1)] * 6), min_share=0.5)
    assert near is not None and near.category == "Bags"


def test_items_without_a_category_do_not_vote_and_too_few_name_nothing():
    mixed = hits(*[("", 0.9)] * 6, *[("Footwear", 0.5)] * 4)
    assert guess_category(mixed) is None  # only four categorised neighbours
    assert guess_category(hits(*[("Footwear", 0.5)] * 5)).category == "Footwear"
    assert guess_category([]) is None


def test_similar_items_carry_the_catalogs_name_for_the_image(tmp_path):
    store, paths = make_store(tmp_path, "image,title,category\n", n_per=12)
    assert set(store.categories()) == {"Shoes", "Cameras"}
    session = CatalogSession(store)
    engine = FakeEngine()
    result = session.similar_to_image(engine, near_duplicate(Image.open(paths["shoe_02"])), 5)
    assert result.category is not None and result.category.category == "Shoes"
    assert result.category.considered == 10
    camera = session.similar_to_image(engine, near_duplicate(Image.open(paths["camera_03"])), 5)
    assert camera.category is not None and camera.category.category == "Cameras"


def test_a_catalog_of_one_category_names_nothing(tmp_path):
    rows = "".join(f"{folder}/{stem}_{i:02d}.png,x,All\n"
                   for folder, stem in (("shoes", "shoe"), ("cameras", "camera")) for i in range(6))
    store, paths = make_store(tmp_path, "image,title,category\n" + rows, n_per=6)
    assert store.categories() == ["All"]
    result = CatalogSession(store).similar_to_image(
        FakeEngine(), near_duplicate(Image.open(paths["shoe_02"])), 5)
    assert result.hits and result.category is None
