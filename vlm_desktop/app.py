"""Start-up: crash handling and logging first, then the CLI or the window, then the model.

Order matters: faulthandler, the log and the crash hook are installed before Qt or torch is
imported, and the model starts loading only once the window is on screen, so the window
appears before torch is imported.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from typing import TYPE_CHECKING, Optional, Sequence

from vlm_desktop import APP_ID, APP_NAME, ORG_NAME, __version__, crash

if TYPE_CHECKING:
    from vlm_desktop.ui.main_window import MainWindow

log = logging.getLogger(__name__)

# Set by benchmarks/bench_startup.py: print start-up markers and quit once the model is ready.
STARTUP_PROBE_ENV = "VLM_DESKTOP_STARTUP_PROBE"


def parse_gui_args(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """GUI options; unknown options are left for Qt (e.g. -platform)."""
    parser = argparse.ArgumentParser(prog="vlm-desktop", description=f"{APP_NAME}: open the window")
    parser.add_argument("images", nargs="*", help="image files to open")
    parser.add_argument("--device", default=None,
                        help="auto, cpu, cuda, cuda:N or mps (default: the saved choice)")
    parser.add_argument("--model", default=None,
                        help="the installed model to use (default: the one last chosen in "
                             "the Model menu)")
    parser.add_argument("--debug", action="store_true", help="verbose logging")
    parser.add_argument("--version", action="version", version=f"{APP_ID} {__version__}")
    return parser.parse_known_args(list(argv))


def _probe(event: str, **extra: object) -> None:
    if os.environ.get(STARTUP_PROBE_ENV):
        record = {"event": event, "t": time.time(), "torch_imported": "torch" in sys.modules}
        record.update(extra)
        print(json.dumps(record), flush=True)


def _probe_until_model(window: MainWindow) -> None:
    """Report when the model is ready (or why not) and close, for the start-up benchmark."""
    from PySide6.QtCore import QTimer

    from vlm_desktop.workers.inference_worker import MAIN

    window.client.role(MAIN).ready.connect(lambda *_: (_probe("engine_ready"), window.close()))
    window.client.role(MAIN).failed.connect(lambda m, _d: (_probe("engine_failed", message=m),
                                                       window.close()))

    def no_model() -> None:
        if not window.is_loading_model:
            _probe("no_model", message=window.caption_panel.text)
            window.close()

    QTimer.singleShot(0, no_model)


def _app_icon():  # noqa: ANN202 - Qt is imported lazily
    """The app icon from the bundled PNGs (no Qt SVG plugin needed)."""
    from importlib.resources import files

    from PySide6.QtGui import QIcon

    icon = QIcon()
    icons = files("vlm_desktop.resources").joinpath("icons")
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        png = icons.joinpath(f"vlm-desktop-{size}.png")
        if png.is_file():
            icon.addFile(str(png))
    return icon


def _start_qt(argv: list[str]):  # noqa: ANN202 - Qt is imported lazily
    """The QApplication; Qt's "no platform plugin" abort becomes a plain exit meanwhile."""
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    from vlm_desktop import platform_check

    qInstallMessageHandler(platform_check.start_failure_handler())
    try:
        return QApplication(argv)
    finally:
        qInstallMessageHandler(None)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of `vlm-desktop` and `python -m vlm_desktop`."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    crash.install(debug="--debug" in args_in)
    # The app never downloads: keep the Hugging Face libraries off the network everywhere.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # Idle OpenMP threads must sleep, not spin: spinning threads starve the GUI thread and,
    # on a busy machine, slowed every torch op 5-10x (measured in benchmarks/bench_vision.py).
    # Read once when torch loads, so it is set before anything imports torch.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    if args_in[:1] == ["--build-tower-graph"]:  # internal: the child of ort_tower.cached_model
        from vlm_desktop.core.engine.lite import ort_tower

        return ort_tower.build_main(args_in[1:])

    from vlm_desktop import cli

    if cli.is_cli_invocation(args_in):
        return cli.main(args_in)
    args, qt_args = parse_gui_args(args_in)
    return run_gui(args, qt_args)


def run_gui(args: argparse.Namespace, qt_args: list[str]) -> int:
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtGui import QGuiApplication

    from vlm_desktop import platform_check

    if platform_check.preflight(qt_args) is not None:
        return 1
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = _start_qt([sys.argv[0], *qt_args])
    app.setOrganizationName(ORG_NAME)
    app.setApplicationName(APP_ID)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(_app_icon())

    from vlm_desktop.ui import i18n
    from vlm_desktop.ui.main_window import MainWindow
    from vlm_desktop.ui.settings import AppSettings

    settings = AppSettings()
    # Before any widget exists (texts are translated as they are set) and before the model
    # loads (the built-in model reads its language once, when it is built).
    i18n.install(app, settings.language)
    # An unusable --device reaches the worker and comes back as a plain message in the window.
    window = MainWindow(settings, model_name=args.model, device=args.device)
    window.show()
    _probe("window_shown")
    QTimer.singleShot(0, window.start_model)
    if os.environ.get(STARTUP_PROBE_ENV):
        _probe_until_model(window)
    if args.images:
        QTimer.singleShot(0, lambda: window.open_path(args.images[0]))
    code = app.exec()
    stopped = window.shutdown()
    log.info("exit %d", code)
    if not stopped:
        # The model is stuck in native code past the timeout; settings are saved. Leaving
        # now beats Qt aborting on a QThread destroyed while it runs.
        logging.shutdown()
        os._exit(code)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
