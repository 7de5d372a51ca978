"""Screenshots of real (tiny, random-weight) Hugging Face models running in the window.

Run under a virtual display:
    xvfb-run -s "-screen 0 1600x1000x24" python scripts/take_hf_screenshots.py
Builds tiny BLIP captioning, CLIP and Qwen2-VL models (tests/hf_fixtures.py), imports them
through the model manager into a private app-data folder, then drives the real window:
BLIP captions with a word's heat map while CLIP indexes the demo catalog, then Qwen2-VL
answers a question. Random weights make random words: the point is the plumbing, end to end.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# Sets a private VLM_DESKTOP_HOME and the offline flags on import (same folder).
from take_model_screenshots import ROOT, import_tiny_models  # noqa: E402
from take_screenshots import wait_until  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="screenshots")
    parser.add_argument("--prefix", default="hf-")
    args = parser.parse_args()

    import_tiny_models(("blip-caption-tiny", "clip-tiny", "qwen2-vl-tiny"))
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from vlm_desktop.ui.main_window import MainWindow
    from vlm_desktop.ui.settings import AppSettings

    app = QApplication(sys.argv[:1])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ini = Path(os.environ["VLM_DESKTOP_HOME"]) / "settings.ini"
    settings = AppSettings(QSettings(str(ini), QSettings.Format.IniFormat))
    settings.model = "blip-caption-tiny"
    settings.embed_model = "clip-tiny"
    window = MainWindow(settings, device="cpu", device_lister=None)
    window.resize(1400, 860)
    window.move(0, 0)
    window.show()
    window.start_model()

    def save(name: str) -> None:
        for _ in range(10):
            app.processEvents()
            time.sleep(0.02)
        path = out / f"{args.prefix}{name}.png"
        window.grab().save(str(path))
        print(path, flush=True)

    started = time.monotonic()
    wait_until(app, lambda: window.info is not None and window.embed_info is not None)
    print(f"models ready in {time.monotonic() - started:.1f} s: {window.info.name} captions, "
          f"{window.embed_info.name} searches the catalog", flush=True)
    window.open_path(str(ROOT / "resources" / "samples" / "chelsea.jpg"))
    wait_until(app, lambda: window.caption_panel.caption is not None)
    print(f"caption: {window.caption_panel.caption.text!r}", flush=True)
    panel = window.catalog_panel
    wait_until(app, lambda: "indexed with" in panel.index_label.text(), timeout_s=600)
    print(f"catalog: {panel.index_label.text()} / {panel.status.text()}", flush=True)
    chips = window.caption_panel.chips
    if chips:
        chips[0].setChecked(True)
    save("01-blip-caption-clip-catalog")

    window.select_model("qwen2-vl-tiny")
    wait_until(app, lambda: window.info is not None and window.info.name == "qwen2-vl-tiny")
    wait_until(app, lambda: window.caption_panel.caption is not None)
    window.ask("What is in the picture?")
    wait_until(app, lambda: not window._answers)
    save("02-qwen2-vl-answer")
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
