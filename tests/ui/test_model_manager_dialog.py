"""The model manager dialog imports off the GUI thread, refuses bad folders, sets defaults."""

from __future__ import annotations

import shutil

from hf_fixtures import blip_folder

from vlm_desktop.core import models
from vlm_desktop.ui.model_manager_dialog import ModelManagerDialog


def _names(dialog):
    return [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())]


def test_import_remove_and_defaults(qtbot, home_dir, tmp_path):
    dialog = ModelManagerDialog()
    qtbot.addWidget(dialog)
    assert _names(dialog) == ["lite"]
    dialog.table.selectRow(0)
    assert not dialog.remove_button.isEnabled()

    with qtbot.waitSignal(dialog.import_finished, timeout=60000) as blocker:
        dialog.import_path(str(blip_folder()))
    assert blocker.args[0] is True
    name = _names(dialog)[1]
    assert name == blip_folder().name and "BLIP captioning" in dialog.table.item(1, 1).text()

    dialog.table.selectRow(1)
    assert dialog.remove_button.isEnabled()
    assert dialog.default_buttons["caption"].isEnabled()
    assert not dialog.default_buttons["embed"].isEnabled()
    dialog.default_buttons["caption"].click()
    assert models.default_for("caption") == name
    assert "caption" in dialog.table.item(1, 6).text()

    broken = tmp_path / "broken"
    shutil.copytree(blip_folder(), broken, ignore=shutil.ignore_patterns("model.safetensors"))
    with qtbot.waitSignal(dialog.import_finished, timeout=60000) as blocker:
        dialog.import_path(str(broken))
    assert blocker.args[0] is False and "missing weights" in dialog.status.text()

    dialog.remove_button.click()
    assert _names(dialog) == ["lite"]
    dialog.close()


def test_builtin_model_shows_its_size_parameters_and_memory(qtbot, home_dir):
    """It used to show "-" in all three columns."""
    import re

    dialog = ModelManagerDialog()
    qtbot.addWidget(dialog)
    size, params, memory = (dialog.table.item(0, c).text() for c in (3, 4, 5))
    assert re.fullmatch(r"\d+(\.\d)? MB", size), size
    assert 20 < float(params.split()[0]) < 40, params  # MiniLM-L6 22.7 M + Lite0 4.7 M
    assert re.fullmatch(r"\d+(\.\d)? MB / \d+(\.\d)? MB", memory), memory


def test_the_table_shows_number_format_and_source(qtbot, home_dir):
    from vlm_desktop.core import models
    from vlm_desktop.ui.model_manager_dialog import COLUMNS, ModelManagerDialog

    models.import_model(blip_folder(), name="cap-src")
    dialog = ModelManagerDialog()
    qtbot.addWidget(dialog)
    row = [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())].index("cap-src")
    cell = {name: dialog.table.item(row, c).text() for c, name in enumerate(COLUMNS)}
    assert cell["Number format"] == "float32" and cell["Source"] == str(blip_folder())
    assert dialog.table.item(0, COLUMNS.index("Source")).text() == "built in"
