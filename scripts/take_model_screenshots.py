"""Screenshots of model switching for review: a caption-only model with catalog search from
another model, the Model menu and its Catalog Search Model submenu open, the manager.

Run under a virtual display (the open menu is a separate window, so the screen is grabbed):
    xvfb-run -s "-screen 0 1600x1000x24" python scripts/take_model_screenshots.py
Tiny random-weight BLIP and CLIP models (tests/hf_fixtures.py) are imported into a private
app-data folder so the menu and the manager list real entries; the window itself runs the
fake test engine with each model's capabilities, so no model is loaded.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ["VLM_DESKTOP_HOME"] = tempfile.mkdtemp(prefix="vlm-desktop-model-shots-")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]


from take_screenshots import wait_until  # noqa: E402 - same folder; after the env is set


TINY_MODELS = {  # name → builder in tests/hf_fixtures.py
    "blip-caption-tiny": lambda fx: fx.blip_folder(),
    "blip-vqa-tiny": lambda fx: fx.blip_folder("BlipForQuestionAnswering"),
    "clip-tiny": lambda fx: fx.clip_folder(),
    "qwen2-vl-tiny": lambda fx: fx.qwen2_vl_folder(),
}


def import_tiny_models(names=("blip-caption-tiny", "blip-vqa-tiny", "clip-tiny")) -> None:
    """Build tiny random-weight models and import them through the model manager."""
    sys.path.insert(0, str(ROOT / "tests"))
    import hf_fixtures

    from vlm_desktop.core import models

    for name in names:
        models.import_model(TINY_MODELS[name](hf_fixtures), name=name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="screenshots")
    parser.add_argument("--size", default="1280x800")
    parser.add_argument("--prefix", default="")
    args = parser.parse_args()

    import_tiny_models()
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from vlm_desktop.core.engine import registry
    from vlm_desktop.core.engine.fake import FakeEngine
    from vlm_desktop.ui.main_window import MainWindow
    from vlm_desktop.ui.settings import AppSettings

    app = QApplication(sys.argv[:1])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    entries = {e.name: e for e in registry.available_models()}

    def fake_for(name: str | None):
        entry = entries[name or registry.BUILTIN_NAME]
        return lambda choice: FakeEngine(capabilities=entry.capabilities, name=entry.display_name)

    ini = Path(os.environ["VLM_DESKTOP_HOME"]) / "settings.ini"
    settings = AppSettings(QSettings(str(ini), QSettings.Format.IniFormat))
    settings.embed_model = "clip-tiny"  # captions from BLIP, catalog vectors from CLIP
    window = MainWindow(settings, model_name="blip-caption-tiny", device="cpu",
                        device_lister=None, resolve_factory=fake_for)
    width, height = (int(v) for v in args.size.split("x"))
    window.resize(width, height)
    window.move(0, 0)
    window.show()
    window.start_model()
    wait_until(app, lambda: window.info is not None)
    window.open_path(str(Path(__import__("skimage").__file__).parent / "data" / "chelsea.png"))
    wait_until(app, lambda: window.caption_panel.caption is not None)
    panel = window.catalog_panel
    wait_until(app, lambda: panel.jobs is not None and "indexed with" in
               panel.index_label.text(), timeout_s=120)

    def settle() -> None:  # let posted layout requests run before grabbing
        for _ in range(10):
            app.processEvents()
            time.sleep(0.02)

    def save(pixmap, name: str) -> None:  # noqa: ANN001
        path = out / f"{args.prefix}{name}.png"
        pixmap.save(str(path))
        print(path)

    settle()
    save(window.grab(), "05-caption-only-model")

    bar = window.menuBar()
    bar.setActiveAction(window.actions_.model_menu.menuAction())
    wait_until(app, lambda: window.actions_.model_menu.isVisible())
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    menu = window.actions_.model_menu
    menu.setActiveAction(window.actions_.model_group.actions()[1])  # hover: shows the tooltip
    app.processEvents()
    screen = QGuiApplication.primaryScreen()
    right = max(menu.geometry().right() + 40, 700)
    bottom = menu.geometry().bottom() + 40
    save(screen.grabWindow(0, 0, 0, right, bottom), "06-model-menu")
    embed_menu = window.actions_.embed_menu
    menu.setActiveAction(embed_menu.menuAction())
    row = menu.actionGeometry(embed_menu.menuAction())
    embed_menu.popup(menu.mapToGlobal(row.topRight()))
    wait_until(app, lambda: embed_menu.isVisible())
    settle()
    right = max(embed_menu.geometry().right() + 40, 700)
    bottom = max(menu.geometry().bottom(), embed_menu.geometry().bottom()) + 40
    save(screen.grabWindow(0, 0, 0, right, bottom), "06b-catalog-search-model-menu")
    embed_menu.hide()
    menu.hide()
    app.processEvents()

    dialog = window.open_model_manager()
    wait_until(app, lambda: dialog.isVisible() and dialog.table.rowCount() > 1)
    dialog.table.selectRow(1)
    for _ in range(10):
        app.processEvents()
        time.sleep(0.02)
    save(dialog.grab(), "07-model-manager")
    dialog.reject()
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
