"""Catalog ▸ Adapt Model to This Catalog…: the dialog trains on the worker, plots the
epochs, shows before/after, and Cancel or Revert leave the catalog on the base model."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from _adapt_helpers import make_catalog  # noqa: E402

from vlm_desktop.core.catalog.adapt_store import active_variant  # noqa: E402
from vlm_desktop.ui.adapt_dialog import AdaptDialog  # noqa: E402
from vlm_desktop.workers.inference_worker import EMBED, InferenceClient  # noqa: E402

TIMEOUT = 30000


@pytest.fixture()
def dialog(qtbot, tmp_path, home_dir):
    store, engine = make_catalog(tmp_path)
    client = InferenceClient()
    with qtbot.waitSignal(client.role(EMBED).ready, timeout=TIMEOUT):
        client.load_engine(lambda device: engine, "cpu", "mini", EMBED)
    dlg = AdaptDialog(client, store)
    qtbot.addWidget(dlg)
    dlg.show()
    yield dlg, store
    assert client.shutdown(TIMEOUT)
    store.close()


def test_adapting_plots_epochs_then_shows_before_and_after(qtbot, dialog):
    dlg, store = dialog
    assert not dlg.revert_button.isEnabled()  # nothing to revert yet
    dlg.epochs.setValue(20)
    with qtbot.waitSignal(dlg.adapted, timeout=TIMEOUT) as adapted:
        qtbot.mouseClick(dlg.start_button, Qt.MouseButton.LeftButton)
        assert not dlg.start_button.isEnabled() and dlg.cancel_button.text() == "Cancel"
    assert active_variant(store) == adapted.args[0]
    epochs = [e for e, _, _ in dlg.plot.points]
    assert epochs[0] == 0 and epochs[1:] == list(range(1, dlg.report.epochs + 1))
    assert dlg.table.isVisible()
    before, after = float(dlg.table.item(1, 0).text()), float(dlg.table.item(1, 1).text())
    assert after > before  # t2i recall@10, as the report says
    assert dlg.revert_button.isEnabled() and dlg.cancel_button.text() == "Close"
    with qtbot.waitSignal(dlg.reverted, timeout=TIMEOUT):
        qtbot.mouseClick(dlg.revert_button, Qt.MouseButton.LeftButton)
    assert active_variant(store) == "" and not dlg.revert_button.isEnabled()


def test_cancel_leaves_the_catalog_on_its_model(qtbot, dialog):
    dlg, store = dialog
    cancelled = []
    dlg.start()
    job = dlg.request
    job.cancelled.connect(lambda: cancelled.append(job.id))
    with qtbot.waitSignal(job.progress, timeout=TIMEOUT):
        pass  # reading the first images (the whole run would take far longer)
    with qtbot.waitSignal(job.finished, timeout=TIMEOUT):
        qtbot.mouseClick(dlg.cancel_button, Qt.MouseButton.LeftButton)
    assert len(cancelled) == 1
    assert "Cancelled" in dlg.status.text() and active_variant(store) == ""
    assert dlg.start_button.isEnabled() and not dlg.table.isVisible()


def test_a_caption_asked_while_adapting_is_answered_before_training_ends(qtbot, dialog,
                                                                         monkeypatch):
    import threading

    from vlm_desktop.workers import adapt_run
    from vlm_desktop.workers.inference_worker import Request

    from _adapt_helpers import item_image  # noqa: E402

    dlg, store = dialog
    gate = threading.Event()  # holds training at its first epoch until the caption is back
    real = adapt_run.adapt_catalog

    def held(store_, engine, config, state, encode=True):  # noqa: ANN001, ANN202
        return real(store_, engine, config, state, encode=encode,
                    on_epoch=lambda e: gate.wait(TIMEOUT / 1000) if e.epoch == 1 else None)

    monkeypatch.setattr(adapt_run, "adapt_catalog", held)
    dlg.epochs.setValue(20)
    dlg.start()
    with qtbot.waitSignal(dlg.request.partial, timeout=TIMEOUT):
        pass  # training has begun (and waits at epoch 1)
    caption = dlg.client.submit(Request(
        "caption", lambda e, s: e.caption(item_image("red", 1), s), role=EMBED))
    try:
        with qtbot.waitSignal(caption.result, timeout=10000) as got:
            pass
    finally:
        gate.set()
    assert got.args[0].text and dlg.report is None and dlg.request is not None  # still adapting
    with qtbot.waitSignal(dlg.adapted, timeout=TIMEOUT):
        pass
    assert dlg.report is not None and active_variant(store) == dlg.report.variant


def test_cancel_during_training_leaves_the_catalog_on_its_model(qtbot, dialog, monkeypatch):
    import threading

    from vlm_desktop.workers import adapt_run

    dlg, store = dialog
    gate = threading.Event()
    real = adapt_run.adapt_catalog

    def held(store_, engine, config, state, encode=True):  # noqa: ANN001, ANN202
        return real(store_, engine, config, state, encode=encode,
                    on_epoch=lambda e: gate.wait(TIMEOUT / 1000) if e.epoch == 1 else None)

    monkeypatch.setattr(adapt_run, "adapt_catalog", held)
    dlg.start()
    job = dlg.request
    with qtbot.waitSignal(job.partial, timeout=TIMEOUT):
        pass  # training, on its own thread
    with qtbot.waitSignal(job.cancelled, timeout=TIMEOUT):
        qtbot.mouseClick(dlg.cancel_button, Qt.MouseButton.LeftButton)
        gate.set()
    assert "Cancelled" in dlg.status.text() and active_variant(store) == ""
    assert dlg.start_button.isEnabled() and not dlg.table.isVisible()
