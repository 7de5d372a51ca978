"""Screenshots of the main window for review: empty, with an image, an answer, a heat map.

Run under a virtual display for real window decorations and fonts:
    xvfb-run -s "-screen 0 1600x1000x24" python scripts/take_screenshots.py
(or with QT_QPA_PLATFORM=offscreen). `--engine lite` uses the built-in model when installed;
the default is the fake test engine, so the script needs no model. `--lang zh_CN` shows the
Chinese window (Chinese fonts needed, e.g. Debian's fonts-noto-cjk).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

os.environ.setdefault("VLM_DESKTOP_HOME", tempfile.mkdtemp(prefix="vlm-desktop-shots-"))


def wait_until(app: object, condition: Callable[[], bool], timeout_s: float = 120.0) -> None:
    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the window did not reach the expected state")
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.01)


def settle(app: object, seconds: float) -> None:
    """Let queued work arrive (thumbnails, a search that follows indexing) for `seconds`."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.01)


def dark_palette():  # noqa: ANN201 - Qt imported lazily
    """A dark palette like the ones desktop environments hand to Qt apps."""
    from PySide6.QtGui import QColor, QPalette

    pal = QPalette()
    roles = QPalette.ColorRole
    for role, rgb in ((roles.Window, (45, 45, 48)), (roles.WindowText, (230, 230, 230)),
                      (roles.Base, (30, 30, 32)), (roles.AlternateBase, (45, 45, 48)),
                      (roles.Text, (230, 230, 230)), (roles.Button, (55, 55, 58)),
                      (roles.ButtonText, (230, 230, 230)), (roles.Highlight, (61, 142, 230)),
                      (roles.HighlightedText, (255, 255, 255)), (roles.Mid, (80, 80, 84)),
                      (roles.ToolTipBase, (60, 60, 60)), (roles.ToolTipText, (230, 230, 230)),
                      (roles.PlaceholderText, (150, 150, 150))):
        pal.setColor(role, QColor(*rgb))
    # Desktop palettes grey out disabled controls too; without this they look enabled.
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(125, 125, 128))
    return pal


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="screenshots")
    parser.add_argument("--engine", choices=("fake", "lite"), default="fake")
    parser.add_argument("--image", default="")
    parser.add_argument("--question", default="What colour is it?")
    parser.add_argument("--size", default="1280x800")
    parser.add_argument("--dark", action="store_true",
                        help="simulate a dark system scheme (a dark Fusion palette)")
    parser.add_argument("--prefix", default="")
    parser.add_argument("--lang", default="en",
                        help="the window's language: en, zh_CN or system (as View ▸ Language)")
    args = parser.parse_args()

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from vlm_desktop import APP_ID, ORG_NAME
    from vlm_desktop.core.engine.fake import FakeEngine
    from vlm_desktop.ui.main_window import MainWindow
    from vlm_desktop.ui.settings import AppSettings

    app = QApplication(sys.argv[:1])
    app.setOrganizationName(ORG_NAME)
    app.setApplicationName(APP_ID)
    if args.dark:
        app.setStyle("Fusion")
        app.setPalette(dark_palette())
    from vlm_desktop.ui import i18n

    i18n.install(app, args.lang)  # before the window: texts are translated as they are set
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ini = Path(os.environ["VLM_DESKTOP_HOME"]) / "settings.ini"
    settings = AppSettings(QSettings(str(ini), QSettings.Format.IniFormat))
    if args.engine == "fake":
        window = MainWindow(settings, device="cpu", device_lister=None,
                            resolve_factory=lambda name: (lambda choice: FakeEngine()))
    else:
        window = MainWindow(settings, device="cpu", device_lister=None)
    width, height = (int(v) for v in args.size.split("x"))
    window.resize(width, height)
    window.show()
    window.start_model()
    wait_until(app, lambda: window.info is not None or not window.is_loading_model)

    def shot(name: str) -> None:
        app.processEvents()
        path = out / f"{args.prefix}{name}.png"
        window.grab().save(str(path))
        print(path)

    shot("01-empty")
    image = args.image or str(Path(__import__("skimage").__file__).parent / "data" / "chelsea.png")
    window.open_path(image)
    wait_until(app, lambda: window.caption_panel.caption is not None)
    shot("02-image-caption")
    window.ask(args.question)
    wait_until(app, lambda: bool(window.chat_panel.entries)
               and window.chat_panel.entries[-1].answer is not None)
    shot("03-question-answered")
    window.caption_panel.chips[0].click()
    shot("04-heatmap-overlay")
    panel = window.catalog_panel
    if panel is not None:  # the catalog's first match selected: grid, item pane
        done = ("indexed", "商品目录已")  # "Catalog indexed…" in English and Chinese
        wait_until(app, lambda: panel.model.rowCount() > 0 and any(
            d in panel.index_label.text() for d in done), timeout_s=600)
        settle(app, 5.0)  # the similar items' search and the thumbnails that follow indexing
        panel.grid.setCurrentIndex(panel.model.index(0, 0))
        settle(app, 3.0)
        shot("05-catalog-item")
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
