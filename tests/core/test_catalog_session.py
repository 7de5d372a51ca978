"""One open catalog's operations with no Qt: what the panel shows comes from these."""

from __future__ import annotations

from PIL import Image

from _catalog_helpers import make_store, near_duplicate
from vlm_desktop.core.cancel import JobState
from vlm_desktop.core.catalog.opening import find_metadata
from vlm_desktop.core.catalog.session import STILL_INDEXING, CatalogSession
from vlm_desktop.core.engine.fake import FakeEngine

META = "image,title,category,price\ncameras/camera_01.png,Pocket zoom camera,Cameras,120\n"


def test_keywords_find_items_with_no_model_at_all(tmp_path):
    store, _ = make_store(tmp_path, META, n_per=2, index=False)
    session = CatalogSession(store)
    try:
        found = session.text_search(None, "zoom", "hybrid", 5)
        assert [h.item.title for h in found.hits] == ["Pocket zoom camera"]
        assert found.hits[0].similarity is None and found.indexed == 0
        assert found.total == store.stats().items
    finally:
        session.close()


def test_the_same_image_is_found_first_once_indexed(tmp_path):
    store, paths = make_store(tmp_path, META, n_per=3)
    session, engine = CatalogSession(store), FakeEngine()
    try:
        with Image.open(paths["shoe_01"]) as picture:
            query = near_duplicate(picture)
        similar = session.similar_to_image(engine, query, 4)
        assert similar.hits[0].item.path == "shoes/shoe_01.png"
        assert similar.indexed == similar.total == store.stats().items
        assert session.search(engine) is session.search(engine)  # one search per model
    finally:
        session.close()


def test_before_indexing_pictures_match_nothing_and_questions_say_why(tmp_path):
    store, paths = make_store(tmp_path, META, n_per=2, index=False)
    session, engine = CatalogSession(store), FakeEngine()
    try:
        with Image.open(paths["shoe_00"]) as picture:
            image = picture.convert("RGB")
        assert session.similar_to_image(engine, image, 4).hits == ()
        answer = session.answer(engine, JobState(), image, "How much does this cost?")
        assert answer.text == STILL_INDEXING and answer.confidence == 0.0
        assert session.recommendations(engine, 3).items == ()
    finally:
        session.close()


def test_a_usual_metadata_file_in_the_folder_is_found(tmp_path):
    assert find_metadata(tmp_path) is None
    (tmp_path / "products.csv").write_text("image,title\n")
    assert find_metadata(tmp_path) == str(tmp_path / "products.csv")
