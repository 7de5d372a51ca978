"""A short, deterministic fuzz run of every target (seeded mutations of the seeds and the
kept corpus); the long, coverage-guided run is `python -m tests.fuzz.fuzz TARGET --atheris`."""

from __future__ import annotations

import pytest

from tests.fuzz.fuzz import inputs, mutate, run_deterministic
from tests.fuzz.targets import TARGETS, target

RUNS = 120  # per target: a few seconds for all of them on one core


@pytest.mark.parametrize("name", list(TARGETS))
def test_a_short_fuzz_run_finds_nothing(name):
    tally = run_deterministic(name, RUNS, seed=11)
    assert tally.executions >= RUNS
    assert {k: f.message for k, f in tally.failures.items()} == {}


def test_the_short_run_replays_the_same_inputs():
    t = target("metadata-csv")
    assert list(inputs(t, 50, seed=3)) == list(inputs(t, 50, seed=3))
    assert list(inputs(t, 50, seed=3)) != list(inputs(t, 50, seed=4))


def test_the_mutator_changes_its_input():
    import random

    rng = random.Random(0)
    data = b"image,title\na.png,x\n"
    assert sum(mutate(data, rng, [data]) != data for _ in range(50)) >= 45


def test_make_fuzz_runs_every_target():
    import re
    from pathlib import Path

    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    listed = re.search(r"^FUZZ_TARGETS := (.*)$", makefile, re.M)
    assert listed is not None and listed.group(1).split() == list(TARGETS)
