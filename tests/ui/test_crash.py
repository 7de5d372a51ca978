"""Crash handling: the log file, the crash hook and the crash dialog."""

from __future__ import annotations

import logging
import sys

import pytest
from PySide6.QtGui import QGuiApplication

from vlm_desktop import crash
from vlm_desktop.ui.crash_dialog import CrashDialog


@pytest.fixture()
def app_log(home_dir):
    """The app's logging set up in a fresh home; handlers removed afterwards."""
    root = logging.getLogger()
    before = list(root.handlers)
    path = crash.setup_logging()
    yield path
    for handler in root.handlers[:]:
        if handler not in before:
            root.removeHandler(handler)
            handler.close()


def test_the_log_file_lives_in_the_log_folder(app_log, home_dir):
    logging.getLogger("vlm_desktop.test").warning("a line to find")
    assert app_log.parent == crash.paths.log_dir()
    assert str(home_dir) in str(app_log)
    assert "a line to find" in app_log.read_text(encoding="utf-8")


def test_an_uncaught_exception_is_logged_and_shown(app_log, monkeypatch):
    shown = []
    monkeypatch.setattr(crash, "show_crash_dialog", lambda msg, details: shown.append((msg, details)))
    try:
        raise ValueError("boom")
    except ValueError:
        crash._excepthook(*sys.exc_info())
    (message, details), = shown
    assert message == "ValueError: boom"
    assert str(app_log) in details and "Traceback" in details
    assert "ValueError: boom" in app_log.read_text(encoding="utf-8")


def test_the_crash_dialog_shows_the_log_path_and_copies_details(qtbot, tmp_path):
    log_path = tmp_path / "logs" / "vlm-desktop.log"
    dialog = CrashDialog("ValueError: boom", "Traceback: details", log_path)
    qtbot.addWidget(dialog)
    labels = " ".join(w.text() for w in dialog.findChildren(type(dialog.findChild(
        __import__("PySide6.QtWidgets", fromlist=["QLabel"]).QLabel))))
    assert "ValueError: boom" in labels and str(log_path) in labels
    dialog.copy_details()
    assert QGuiApplication.clipboard().text() == "Traceback: details"
