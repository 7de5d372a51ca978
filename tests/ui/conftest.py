"""Shared helpers for the window tests."""

from __future__ import annotations

import pytest

TIMEOUT_MS = 10000


@pytest.fixture()
def shown_windows(qtbot):
    """`show(window, start)`: shows a MainWindow, optionally waits for its model; closes all after."""
    windows = []

    def show(window, start: bool = True):
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        if start:
            with qtbot.waitSignal(window.client.engine_ready, timeout=TIMEOUT_MS):
                window.start_model()
        return window

    yield show
    for window in windows:
        window.close()
