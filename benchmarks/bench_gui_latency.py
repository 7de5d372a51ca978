"""GUI responsiveness: lateness of a 10 ms QTimer heartbeat while the app works in the background.

Phases, each measured separately in the real MainWindow (offscreen):
  paint  — the window's first layout and paint, before any model work (as in the app);
  load   — the worker loads a model: the built-in one when installed, else it imports torch
           (the import and its native libraries are the heavy part of any model load);
  infer  — the worker runs CPU-heavy torch matmuls (or captions with the built-in model);
  open   — a 40-megapixel JPEG is opened through the ImageLoader and shown.
Prints p50 / p99 / max lateness per phase. Target: max under 50 ms.

`--dump-stalls MS` finds what stalls the window: a watchdog (faulthandler's, a C thread that
needs no GIL) re-armed by every tick prints every thread's Python stack to stderr whenever
the GUI thread has not ticked for MS ms - the thread holding the GIL then is the culprit.

    python benchmarks/bench_gui_latency.py [--seconds 3] [--dump-stalls 60]
"""

from __future__ import annotations

import argparse
import faulthandler
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("VLM_DESKTOP_HOME", tempfile.mkdtemp(prefix="vlm-desktop-bench-gui-"))

from PySide6.QtCore import QSettings, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

HEARTBEAT_MS = 10


class Heartbeat:
    """Records how late each 10 ms tick arrives."""

    def __init__(self, dump_after_ms: float = 0.0) -> None:
        self.dump_after_s = dump_after_ms / 1000
        self.lateness_ms: list[float] = []
        self._last = 0.0
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(HEARTBEAT_MS)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.lateness_ms.clear()
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> list[float]:
        self._timer.stop()
        if self.dump_after_s:
            faulthandler.cancel_dump_traceback_later()
        return list(self.lateness_ms)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.lateness_ms.append(max(0.0, (now - self._last) * 1000 - HEARTBEAT_MS))
        self._last = now
        if self.dump_after_s:
            faulthandler.dump_traceback_later(self.dump_after_s, repeat=True)


def pump_until(app: QApplication, done, timeout_s: float = 600.0) -> None:
    end = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > end:
            raise TimeoutError("benchmark phase did not finish")
        app.processEvents()
        time.sleep(0.001)


def report(name: str, samples: list[float], seconds: float) -> None:
    if not samples:
        print(f"{name:<7} no heartbeat samples")
        return
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    verdict = "OK" if ordered[-1] < 50 else "over target"
    print(f"{name:<7} {seconds:6.2f} s  ticks {len(samples):5d}  p50 {statistics.median(ordered):6.1f} ms"
          f"  p99 {p99:6.1f} ms  max {ordered[-1]:6.1f} ms at tick {samples.index(ordered[-1]) + 1}"
          f"  ({verdict}; target max < 50 ms)")


def make_big_jpeg(path: Path, megapixels: float = 40.0) -> Path:
    import numpy as np
    from PIL import Image

    width = int((megapixels * 1e6 * 3 / 2) ** 0.5)
    height = int(width * 2 / 3)
    x = np.linspace(0, 255, width, dtype=np.float32)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    rgb = np.stack([np.broadcast_to(x, (height, width)), np.broadcast_to(y, (height, width)),
                    (np.add.outer(y[:, 0], x) / 2) % 256], axis=-1).astype(np.uint8)
    Image.fromarray(rgb).save(path, quality=90)
    return path


def heavy_fn(seconds: float):
    def run(engine, state) -> int:
        import torch

        a = torch.randn(768, 768)
        n, end = 0, time.perf_counter() + seconds
        while time.perf_counter() < end:
            state.check()
            a = torch.tanh(a @ a)
            n += 1
        return n

    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--dump-stalls", type=float, default=0.0, metavar="MS",
                        help="print every thread's stack when the GUI thread stalls this long")
    args = parser.parse_args()
    from vlm_desktop.core.engine.fake import FakeEngine
    from vlm_desktop.ui.main_window import MainWindow
    from vlm_desktop.ui.settings import AppSettings
    from vlm_desktop.workers.inference_worker import Request

    app = QApplication(sys.argv[:1])
    ini = Path(os.environ["VLM_DESKTOP_HOME"]) / "settings.ini"
    settings = AppSettings(QSettings(str(ini), QSettings.Format.IniFormat))
    builtin = importlib.util.find_spec("vlm_desktop.core.engine.lite.engine") is not None
    if builtin:
        window = MainWindow(settings, device="cpu", device_lister=None)
    else:
        def load_fake_after_torch(choice):
            import torch  # noqa: F401 - what a real model load costs the GUI: torch's import

            return FakeEngine()

        window = MainWindow(settings, device="cpu", device_lister=None,
                            resolve_factory=lambda name: load_fake_after_torch)
    window.resize(1280, 800)
    window.show()
    beat = Heartbeat(args.dump_stalls)
    print(f"Heartbeat every {HEARTBEAT_MS} ms; model: {'built-in' if builtin else 'fake + torch'}")

    # The window's first layout and paint, as the app does them before it loads a model
    # (start_model runs once the window is on screen): reported apart, not as the load's.
    t0 = time.perf_counter()
    beat.start()
    end = time.perf_counter() + 0.5
    pump_until(app, lambda: time.perf_counter() > end)
    report("paint", beat.stop(), time.perf_counter() - t0)

    t0 = time.perf_counter()
    beat.start()
    called = time.perf_counter()
    window.start_model()
    print(f"start_model() returned after {(time.perf_counter() - called) * 1000:.0f} ms "
          "(on the GUI thread)")
    pump_until(app, lambda: window.info is not None or not window.is_loading_model)
    report("load", beat.stop(), time.perf_counter() - t0)

    t0 = time.perf_counter()
    beat.start()
    if builtin:  # real inference: caption the same photo repeatedly for the phase's length
        from PIL import Image

        photo = Image.open(Path(__import__("skimage").__file__).parent / "data" / "chelsea.png")
        photo = photo.convert("RGB")

        def captions(engine, state) -> int:
            n, end = 0, time.perf_counter() + args.seconds
            while time.perf_counter() < end:
                engine.caption(photo, state)
                n += 1
            return n

        job = window.client.submit(Request("bench", captions))
    else:
        job = window.client.submit(Request("bench", heavy_fn(args.seconds)))
    pump_until(app, lambda: job.done)
    report("infer", beat.stop(), time.perf_counter() - t0)

    with tempfile.TemporaryDirectory() as tmp:
        big = make_big_jpeg(Path(tmp) / "big.jpg")
        t0 = time.perf_counter()
        beat.start()
        window.open_path(str(big))
        pump_until(app, lambda: window.image is not None)
        shown_s = time.perf_counter() - t0
        end = time.perf_counter() + 0.5  # keep beating while the view repaints the photo
        pump_until(app, lambda: time.perf_counter() > end)
        report("open", beat.stop(), time.perf_counter() - t0)
        print(f"40 MP JPEG ({window.image.size[0]}×{window.image.size[1]}) decoded and shown "
              f"in {shown_s:.2f} s")
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
