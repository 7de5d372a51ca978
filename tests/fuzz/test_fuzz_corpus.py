"""Every input that once broke a fuzz target (tests/fuzz/corpus/<target>/), and every seed,
replayed on each test run: none may raise anything but the project's own worded error."""

from __future__ import annotations

import pytest

from tests.fuzz.targets import TARGETS, corpus_files, failure, target

KEPT = [(name, path) for name in TARGETS for path in corpus_files(name)]


@pytest.mark.parametrize("name, path", KEPT, ids=[f"{n}/{p.name}" for n, p in KEPT])
def test_a_kept_input_meets_its_targets_contract(name, path):
    found = failure(target(name), path.read_bytes())
    assert found is None, found.key + ": " + found.message


@pytest.mark.parametrize("name", list(TARGETS))
def test_the_seeds_are_accepted_or_refused_plainly(name):
    t = target(name)
    found = [f.key for f in (failure(t, data) for data in t.seeds()) if f is not None]
    assert found == []


def test_the_corpus_is_not_empty():
    # The kept failures are the regression cases; losing them silently would void this file.
    assert len(KEPT) >= 2
