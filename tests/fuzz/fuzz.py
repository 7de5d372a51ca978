"""Run a fuzz target: a short deterministic run (in `make test`) or a long one (atheris).

    python -m tests.fuzz.fuzz image --runs 300 --seed 1          # deterministic, no extras
    python -m tests.fuzz.fuzz image --atheris --seconds 600      # coverage-guided (atheris)
    python -m tests.fuzz.fuzz all --atheris --seconds 120 --save # each target in turn

The deterministic run mutates the target's seeds with a seeded `random.Random`; the same
seed and run count replay the same inputs. `--atheris` hands the seeds to libFuzzer through
atheris (`pip install -e '.[fuzz]'`), which follows the code's coverage. Both go on past a
failure, count distinct failures by exception type and place, and with `--save` keep the
first input of each under `tests/fuzz/corpus/<target>/` — where the replay test
(`test_corpus.py`) runs it in every `make test` from then on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

if __package__ in (None, ""):  # run as a script: make `tests.fuzz` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz.targets import CORPUS, TARGETS, Failure, Target, corpus_files, failure, target

_INTERESTING = [b"\x00", b"\xff", b"\x7f", b"\x80", b"\xff\xff\xff\xff", b"\x00\x00\x00\x00",
                b"\x7f\xff\xff\xff", b"\x80\x00\x00\x00", b"\xff\xff\xff\xff\xff\xff\xff\x7f",
                b"[" * 64, b'"', b"\n", b",", b"\r\n", b"NaN", b"1e308", b"-1", b"{}", b"\\u",
                b"\xef\xbb\xbf", b"\xed\xa0\x80"]


def mutate(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    """One to four random edits of `data` (bytes flipped, inserted, cut, repeated, spliced)."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(8)
        pos = rng.randrange(len(buf) + 1)
        if op == 0 and buf:
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        elif op == 2:
            buf[pos:pos] = rng.choice(_INTERESTING)
        elif op == 3 and buf:
            end = min(len(buf), pos + rng.randint(1, 64))
            del buf[pos:end]
        elif op == 4 and buf:
            start = rng.randrange(len(buf))
            chunk = buf[start:start + rng.randint(1, 32)]
            buf[pos:pos] = chunk * rng.randint(1, 8)
        elif op == 5:
            del buf[pos:]  # truncation: where many decoders once broke
        elif op == 6 and pool:
            other = rng.choice(pool)
            cut = rng.randrange(len(other) + 1)
            buf[pos:] = other[cut:]
        elif op == 7 and len(buf) >= 4:
            i = rng.randrange(len(buf) - 3)
            buf[i:i + 4] = rng.choice(_INTERESTING[4:8])
    return bytes(buf)


def inputs(t: Target, runs: int, seed: int) -> Iterator[bytes]:
    """The deterministic run's inputs: the seeds, the kept corpus, then `runs` mutants."""
    pool = t.seeds() + [p.read_bytes() for p in corpus_files(t.name)]
    yield from pool
    rng = random.Random(f"{t.name}:{seed}")
    for _ in range(runs):
        yield mutate(rng.choice(pool), rng, pool)


@dataclass
class Tally:
    """Executions and distinct failures of one run."""

    target: str
    executions: int = 0
    failures: dict[str, Failure] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    saved: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def record(self, found: Optional[Failure], data: bytes, save: bool) -> None:
        self.executions += 1
        if found is None:
            return
        self.counts[found.key] = self.counts.get(found.key, 0) + 1
        if found.key in self.failures:
            return
        self.failures[found.key] = found
        print(f"[{self.target}] new failure #{len(self.failures)}: {found.key}: "
              f"{found.message}", file=sys.stderr, flush=True)
        if save:
            folder = CORPUS / self.target
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"crash-{hashlib.sha1(data).hexdigest()[:12]}"
            path.write_bytes(data)
            self.saved.append(str(path))

    def summary(self) -> dict:
        return {"target": self.target, "executions": self.executions,
                "seconds": round(time.monotonic() - self.started, 1),
                "distinct_failures": len(self.failures),
                "failures": {k: {"inputs": self.counts[k], "message": f.message}
                             for k, f in self.failures.items()},
                "saved": self.saved}


def run_deterministic(name: str, runs: int, seed: int, save: bool = False,
                      seconds: Optional[float] = None) -> Tally:
    """Run the seeded mutation fuzzer on target `name`; returns the tally."""
    t = target(name)
    tally = Tally(name)
    deadline = None if seconds is None else time.monotonic() + seconds
    for data in inputs(t, runs, seed):
        tally.record(failure(t, data), data, save)
        if deadline is not None and time.monotonic() > deadline:
            break
    return tally


def run_atheris(name: str, seconds: int, save: bool, stats: Optional[Path]) -> None:
    """Coverage-guided fuzzing of `name` with atheris until `seconds` have passed."""
    import atheris  # the optional `fuzz` extra

    with atheris.instrument_imports():
        import PIL.Image

        PIL.Image.init()  # the format plugins load lazily: load them here, instrumented

        import vlm_desktop.core.catalog.metadata  # noqa: F401
        import vlm_desktop.core.catalog.records  # noqa: F401
        import vlm_desktop.core.images  # noqa: F401
        import vlm_desktop.core.model_files  # noqa: F401
        import vlm_desktop.core.models  # noqa: F401
    t = target(name)
    tally = Tally(name)
    seeds_dir = Path(__import__("tempfile").mkdtemp(prefix=f"vlm-fuzz-seeds-{name}-"))
    for i, data in enumerate(t.seeds() + [p.read_bytes() for p in corpus_files(name)]):
        (seeds_dir / f"seed-{i}").write_bytes(data)

    def one_input(data: bytes) -> None:
        tally.record(failure(t, data), data, save)
        if stats is not None and tally.executions % 2000 == 0:
            stats.write_text(json.dumps(tally.summary(), indent=1))

    import atexit

    if stats is not None:
        atexit.register(lambda: stats.write_text(json.dumps(tally.summary(), indent=1)))
    atheris.Setup([sys.argv[0], str(seeds_dir), f"-max_total_time={seconds}",
                   "-max_len=65536", "-rss_limit_mb=4096", "-timeout=20"], one_input)
    atheris.Fuzz()


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", choices=[*TARGETS, "all"])
    parser.add_argument("--runs", type=int, default=300, help="mutants per target")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=int, default=None, help="stop after this long")
    parser.add_argument("--atheris", action="store_true", help="coverage-guided (atheris)")
    parser.add_argument("--save", action="store_true",
                        help="keep each new failure's input under tests/fuzz/corpus/")
    parser.add_argument("--stats", type=Path, default=None, help="write the tally as JSON")
    args = parser.parse_args(argv)
    names = list(TARGETS) if args.target == "all" else [args.target]
    if args.atheris:
        if len(names) != 1:
            parser.error("--atheris runs one target per process (libFuzzer exits at the end)")
        run_atheris(names[0], args.seconds or 60, args.save, args.stats)
        return 0
    found = 0
    for name in names:
        tally = run_deterministic(name, args.runs, args.seed, args.save, args.seconds)
        print(json.dumps(tally.summary()), flush=True)
        found += len(tally.failures)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
