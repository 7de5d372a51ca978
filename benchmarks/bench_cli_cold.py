"""Cold CLI caption vs a bare `import torch`, measured side by side in one run.

Each round runs, in alternating order so load drifts hit both alike:

  * `python -c "import torch"`                       - the floor every model command pays
  * `python -m vlm_desktop caption IMG --json`       - load the built-in model, caption, exit
  * `python -c "import gc; gc.disable(); import torch"` - for reference: the import without
    the cyclic collector, as the app's model loads run it (core/native.collector_paused)

in fresh processes (the OS file cache is warm after the first round; the tower runtime's
per-machine choice and the ONNX graph are cached in a persistent home created first, as
they would be on a user's second start). Prints each median, the spread and the ratio.
Target (issue 12): the caption at most 1.1x the bare import.

    python benchmarks/bench_cli_cold.py [--rounds 7] [--image PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_IMAGE = next(iter(sorted((ROOT / "resources" / "demo_catalog" / "images").glob("*/*"))))


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{cmd} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed, done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="vlm-desktop-bench-cli-")
    env = dict(os.environ, VLM_DESKTOP_HOME=home)
    bare = [sys.executable, "-c", "import torch"]
    bare_no_gc = [sys.executable, "-c", "import gc; gc.disable(); import torch"]
    caption = [sys.executable, "-m", "vlm_desktop", "caption", str(args.image), "--json"]
    _, out = timed(caption, env)  # first start: measures the tower runtime, builds the graph
    print(f"first start (not counted) said: {out.strip()}")
    torch_s: list[float] = []
    caption_s: list[float] = []
    no_gc_s: list[float] = []
    for i in range(args.rounds):
        order = [(bare, torch_s), (caption, caption_s), (bare_no_gc, no_gc_s)]
        for cmd, into in (order if i % 2 == 0 else order[::-1]):
            into.append(timed(cmd, env)[0])
        print(f"round {i + 1}: import torch {torch_s[-1]:.2f} s, caption {caption_s[-1]:.2f} s, "
              f"import torch without gc {no_gc_s[-1]:.2f} s")
    record = json.loads(out)
    t, c = statistics.median(torch_s), statistics.median(caption_s)
    print()
    print(f"load average {os.getloadavg()[0]:.2f}; {args.rounds} rounds; image {args.image.name}")
    print(f"python -c 'import torch': median {t:.2f} s (min {min(torch_s):.2f}, max {max(torch_s):.2f})")
    print(f"caption --json (cold):   median {c:.2f} s (min {min(caption_s):.2f}, max {max(caption_s):.2f}); "
          f"caption itself {record.get('ms', float('nan')):.0f} ms")
    g = statistics.median(no_gc_s)
    print(f"import torch, gc off:    median {g:.2f} s (min {min(no_gc_s):.2f}, max {max(no_gc_s):.2f})")
    print(f"ratio caption / import torch: {c / t:.2f}x (target <= 1.10x); "
          f"caption / import torch with gc off: {c / g:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
