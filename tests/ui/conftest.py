"""Shared helpers for the window tests."""

from __future__ import annotations

from typing import Optional

import pytest

from vlm_desktop.core.engine import registry
from vlm_desktop.core.engine.fake import FakeEngine
from vlm_desktop.core.engine.registry import ModelRecord, ModelUnavailable
from vlm_desktop.workers.inference_worker import EMBED, MAIN, InferenceClient

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
            with qtbot.waitSignal(window.client.role(MAIN).ready, timeout=TIMEOUT_MS):
                window.start_model()
        return window

    yield show
    for window in windows:
        window.close()


@pytest.fixture()
def embed_client(qtbot, home_dir):
    """A client with the fake engine loaded as the catalog's model (what a panel needs)."""
    client = InferenceClient()
    with qtbot.waitSignal(client.role(EMBED).ready, timeout=TIMEOUT_MS):
        client.load_engine(lambda device: FakeEngine(), "cpu", "fake", EMBED)
    yield client
    assert client.shutdown(TIMEOUT_MS)


class FakeRegistry:
    """Stands in for the installed models; records which ones the window asked to load."""

    def __init__(self, entries: list[ModelRecord]) -> None:
        self.entries = entries
        self.requested: list[Optional[str]] = []
        self.engines: list[FakeEngine] = []

    def available_models(self) -> list[ModelRecord]:
        return list(self.entries)

    def engine_factory(self, name: Optional[str]):
        self.requested.append(name)
        entry = next((e for e in self.entries if e.name == name), None)
        if entry is None:
            raise ModelUnavailable(f"No model named '{name}' is installed.")

        def load(_choice):
            engine = FakeEngine(capabilities=entry.capabilities, name=entry.display_name)
            self.engines.append(engine)
            return engine

        return load


@pytest.fixture()
def install_models(monkeypatch, home_dir):
    """`install_models(entries)`: the window sees exactly these models; returns the registry."""
    def install(entries: list[ModelRecord]) -> FakeRegistry:
        fake = FakeRegistry(entries)
        monkeypatch.setattr(registry, "available_models", fake.available_models)
        monkeypatch.setattr(registry, "engine_factory", fake.engine_factory)
        return fake

    return install
