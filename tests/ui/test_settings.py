"""Where the window's settings live: under VLM_DESKTOP_HOME when it is set."""

from __future__ import annotations

from pathlib import Path

from vlm_desktop.ui.settings import AppSettings


def test_settings_follow_vlm_desktop_home(home_dir: Path) -> None:
    settings = AppSettings()
    where = Path(settings.store.fileName()).resolve()
    # Checked before anything is written, so a failure leaves the user's settings alone.
    assert home_dir.resolve() in where.parents, where
    settings.device = "cpu"
    settings.add_recent_file("/tmp/a.png")
    settings.sync()
    assert where.is_file()
    again = AppSettings()
    assert again.device == "cpu" and again.recent_files == ["/tmp/a.png"]


def test_settings_use_the_platform_store_without_vlm_desktop_home(monkeypatch) -> None:
    monkeypatch.delenv("VLM_DESKTOP_HOME", raising=False)
    where = Path(AppSettings().store.fileName())  # nothing is written here
    assert "vlm-desktop" in where.name.lower() or "vlm desktop" in str(where).lower()
