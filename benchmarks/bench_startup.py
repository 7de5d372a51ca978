"""Start-up time: process start → main window shown (offscreen), and whether torch was loaded by then.

Runs `python -m vlm_desktop` several times with VLM_DESKTOP_STARTUP_PROBE=1, which makes the
app print a JSON marker (wall time, `"torch" in sys.modules`) when the window is shown and
again when the model is ready (or why not), then quit. Prints the median and the spread.
Target on the 2-core build machine: window shown in under 1.5 s, torch not imported before.

    python benchmarks/bench_startup.py [--runs 5]
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


def one_run(home: str, timeout_s: float) -> dict[str, dict]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", VLM_DESKTOP_STARTUP_PROBE="1",
               VLM_DESKTOP_HOME=home)
    start = time.time()
    proc = subprocess.run([sys.executable, "-m", "vlm_desktop"], env=env, capture_output=True,
                          text=True, timeout=timeout_s)
    events: dict[str, dict] = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            record["after_s"] = record["t"] - start
            events[record["event"]] = record
    if "window_shown" not in events:
        raise RuntimeError(f"no window marker (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    return events


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=180.0)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="vlm-desktop-bench-startup-")
    shown, model, torch_early = [], [], []
    model_event = ""
    for i in range(args.runs):
        events = one_run(home, args.timeout)
        window = events["window_shown"]
        shown.append(window["after_s"])
        torch_early.append(window["torch_imported"])
        end = next((events[k] for k in ("engine_ready", "engine_failed", "no_model") if k in events),
                   None)
        if end is not None:
            model.append(end["after_s"])
            model_event = end["event"] + (f" ({end['message']})" if end.get("message") else "")
        print(f"run {i + 1}: window shown {window['after_s'] * 1000:.0f} ms, torch imported "
              f"before window: {window['torch_imported']}"
              + (f", {end['event']} at {end['after_s'] * 1000:.0f} ms" if end else ""))
    print()
    print(f"process start → window shown: median {statistics.median(shown) * 1000:.0f} ms "
          f"(min {min(shown) * 1000:.0f}, max {max(shown) * 1000:.0f}; {args.runs} runs; "
          f"target < 1500 ms)")
    print(f"torch imported before the window was shown: {any(torch_early)} "
          f"({sum(torch_early)}/{args.runs} runs)")
    if model:
        print(f"process start → model outcome [{model_event}]: median "
              f"{statistics.median(model) * 1000:.0f} ms; ratio to window "
              f"{statistics.median(model) / statistics.median(shown):.1f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
