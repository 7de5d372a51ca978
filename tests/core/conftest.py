"""Fixtures shared by the core tests."""

from __future__ import annotations

import json

import pytest

from vlm_desktop import cli, cli_catalog
from vlm_desktop.core.engine.fake import FakeEngine


@pytest.fixture()
def run(monkeypatch, capsys):
    """`vlm-desktop catalog …` in process with the FakeEngine: (exit code, JSON lines, stderr)."""
    monkeypatch.setattr(cli_catalog, "_open_engine", lambda args: FakeEngine())

    def run_cli(*argv: str) -> tuple[int, list[dict], str]:
        code = cli.main(["catalog", *argv])
        out, err = capsys.readouterr()
        return code, [json.loads(line) for line in out.splitlines() if line.strip()], err

    return run_cli


@pytest.fixture(scope="module")
def engine():
    """The real built-in model on the CPU, loaded once per test module."""
    from vlm_desktop.core.device import choose_device
    from vlm_desktop.core.engine.lite.engine import LiteEngine

    eng = LiteEngine.load(choose_device("cpu"))
    yield eng
    eng.close()
