"""Question parsing of the built-in model: kinds and targets from varied phrasings (no model)."""

from __future__ import annotations

import pytest

from vlm_desktop.core.engine.lite.questions import parse_question, singular


@pytest.mark.parametrize("question", [
    "What's in the picture?", "what is this?", "What is it", "what do you see",
    "Describe the image", "Can you tell me what this is?", "what are these?",
])
def test_what_questions(question):
    q = parse_question(question)
    assert (q.kind, q.target) == ("what", "")


@pytest.mark.parametrize("question, target", [
    ("what colour is the cat", "cat"), ("What color is it?", ""), ("what color is the shape?", ""),
    ("Which colour is the car", "car"), ("What is the colour of the mug?", "mug"),
])
def test_colour_questions(question, target):
    q = parse_question(question)
    assert (q.kind, q.target) == ("color", target)


@pytest.mark.parametrize("question, target, colour", [
    ("Is there a dog?", "dog", ""), ("is this a cat", "cat", ""), ("Do you see any cars?", "car", ""),
    ("Can you see a bird?", "bird", ""), ("is it a motorcycle?", "motorcycle", ""),
    ("Is the cat orange?", "cat", "orange"), ("does the image contain a red car?", "car", "red"),
    ("are there any people in the photo?", "person", ""),
])
def test_yes_no_questions(question, target, colour):
    q = parse_question(question)
    assert (q.kind, q.target, q.colour) == ("yesno", target, colour)


@pytest.mark.parametrize("question, kind, target", [
    ("where is the cat?", "where", "cat"), ("Where's the dog located?", "where", "dog"),
    ("which side is the cup on?", "where", "cup"), ("how many cats are there", "count", "cat"),
    ("How many dogs can you see in the image?", "count", "dog"), ("count the birds", "count", "bird"),
    ("what kind of dog is this?", "what", "dog"),
])
def test_where_count_and_kind_of(question, kind, target):
    q = parse_question(question)
    assert (q.kind, q.target) == (kind, target)


@pytest.mark.parametrize("question", [
    "How much does this cost?", "what is the price", "What category is this in?",
    "is this in stock?", "do you have this in red?",
])
def test_catalog_questions(question):
    assert parse_question(question).kind == "catalog"


@pytest.mark.parametrize("question", [
    "why is the sky blue?", "what is the meaning of life", "who painted this?", "hello", "",
    "How does a jet engine work?",
])
def test_unsupported_questions(question):
    assert parse_question(question).kind == "unsupported"


def test_a_ship_is_not_a_catalog_question():
    assert parse_question("Is that a ship?").kind == "yesno"


@pytest.mark.parametrize("plural, one", [
    ("cats", "cat"), ("buses", "bus"), ("boxes", "box"), ("puppies", "puppy"),
    ("people", "person"), ("glass", "glass"), ("bus", "bus"),
])
def test_singular(plural, one):
    assert singular(plural) == one
