"""core/ stays type-checked: mypy over vlm_desktop/core must report no errors (STYLE.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_core_passes_mypy():
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "vlm_desktop/core"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
