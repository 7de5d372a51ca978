"""The main window's actions and menus, each with a shortcut or mnemonic and a tooltip."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from vlm_desktop.core.engine.registry import ModelRecord
from vlm_desktop.core.engine.types import CAP_EMBED
from vlm_desktop.ui.capabilities import describe
from vlm_desktop.ui.i18n import LANGUAGES, model_name, translate

StandardKey = QKeySequence.StandardKey


def make_action(parent: QObject, text: str, tip: str,
                shortcut: QKeySequence | StandardKey | str | None = None,
                slot: Callable[..., object] | None = None, checkable: bool = False) -> QAction:
    """One QAction with its shortcut shown in the tooltip."""
    action = QAction(text, parent)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    action.setToolTip(translate("WindowActions", "{tip} ({keys})").format(tip=tip, keys=keys)
                      if keys else tip)
    action.setStatusTip(tip)
    action.setCheckable(checkable)
    if slot is not None:
        (action.toggled if checkable else action.triggered).connect(slot)
    return action


class WindowActions:
    """Builds the menus of `window`; the window connects the slots it passes in `slots`."""

    def __init__(self, window: QMainWindow, slots: dict[str, Callable[..., object]]) -> None:
        w, s = window, slots
        self.open = make_action(w, translate("WindowActions", "&Open…"),
                                translate("WindowActions", "Open an image file"),
                                StandardKey.Open, s["open"])
        self.paste = make_action(w, translate("WindowActions", "&Paste"), translate(
            "WindowActions", "Open the image or file path on the clipboard"),
            StandardKey.Paste, s["paste"])
        self.export = make_action(w, translate("WindowActions", "&Export Image with Overlay…"),
                                  translate("WindowActions",
                                            "Save the image with the shown heat map as a PNG"),
                                  "Ctrl+E", s["export"])
        self.quit = make_action(w, translate("WindowActions", "&Quit"),
                                translate("WindowActions", "Quit VLM Desktop"), "Ctrl+Q", w.close)
        self.quit.setMenuRole(QAction.MenuRole.QuitRole)
        self.fit = make_action(w, translate("WindowActions", "&Fit to Window"),
                               translate("WindowActions", "Show the whole image"), "Ctrl+0",
                               s["fit"])
        self.zoom_in = make_action(w, translate("WindowActions", "Zoom &In"),
                                   translate("WindowActions", "Enlarge the image"),
                                   StandardKey.ZoomIn, s["zoom_in"])
        self.zoom_out = make_action(w, translate("WindowActions", "Zoom &Out"),
                                    translate("WindowActions", "Shrink the image"),
                                    StandardKey.ZoomOut, s["zoom_out"])
        self.heatmap = make_action(w, translate("WindowActions", "Show &Heat Map"), translate(
            "WindowActions", "Show or hide the heat map over the image"), "H", s["heatmap"],
            checkable=True)
        self.fullscreen = make_action(w, translate("WindowActions", "F&ull Screen"),
                                      translate("WindowActions", "Use the whole screen"),
                                      StandardKey.FullScreen, s["fullscreen"], checkable=True)
        self.recaption = make_action(w, translate("WindowActions", "&Caption Again"),
                                     translate("WindowActions", "Caption the current image again"),
                                     "F5", s["recaption"])
        self.cancel = make_action(w, translate("WindowActions", "&Cancel"),
                                  translate("WindowActions", "Stop the current task"), "Esc",
                                  s["cancel"])
        self.about = make_action(w, translate("WindowActions", "&About VLM Desktop"),
                                 translate("WindowActions", "Versions and licences"), None,
                                 s["about"])
        self.about.setMenuRole(QAction.MenuRole.AboutRole)
        self.log_folder = make_action(w, translate("WindowActions", "Open &Log Folder"), translate(
            "WindowActions", "Open the folder with the app's log files"), None, s["log_folder"])
        self.manage_models = make_action(
            w, translate("WindowActions", "&Manage Models…"),
            translate("WindowActions", "Import, remove and choose default models"),
            "Ctrl+Shift+M", s["manage_models"])
        self.device_group = QActionGroup(w)
        self.device_group.setExclusive(True)
        self._device_slot = s["device"]
        self.model_group = QActionGroup(w)
        self.model_group.setExclusive(True)
        self._model_slot = s["model"]
        self.embed_group = QActionGroup(w)
        self.embed_group.setExclusive(True)
        self._embed_slot = s["embed_model"]

        bar = w.menuBar()
        file_menu = bar.addMenu(translate("WindowActions", "&File"))
        file_menu.addAction(self.open)
        self.recent_menu = file_menu.addMenu(translate("WindowActions", "Open &Recent"))
        self.recent_menu.setToolTipsVisible(True)
        file_menu.addAction(self.paste)
        file_menu.addSeparator()
        file_menu.addAction(self.export)
        file_menu.addSeparator()
        file_menu.addAction(self.quit)

        self.view_menu = bar.addMenu(translate("WindowActions", "&View"))
        for action in (self.fit, self.zoom_in, self.zoom_out):
            self.view_menu.addAction(action)
        self.view_menu.addSeparator()
        self.view_menu.addAction(self.heatmap)
        self.view_menu.addSeparator()
        self.view_menu.addAction(self.fullscreen)
        self.view_menu.addSeparator()
        self.language_menu = self.view_menu.addMenu(translate("WindowActions", "&Language"))
        self.language_group = QActionGroup(w)
        self.language_group.setExclusive(True)
        self._fill_languages(s["language"])

        self.model_menu = model_menu = bar.addMenu(translate("WindowActions", "&Model"))
        model_menu.setToolTipsVisible(True)
        model_menu.addSection(translate("WindowActions", "Active Model"))
        self._models_end = model_menu.addSeparator()  # set_models inserts the list above it
        self.embed_menu = model_menu.addMenu(translate("WindowActions", "Catalog &Search Model"))
        self.embed_menu.setToolTipsVisible(True)
        self.embed_menu.setToolTip(translate(
            "WindowActions", "The model whose image vectors the catalog searches; it can "
            "differ from the model that captions"))
        model_menu.addAction(self.manage_models)
        self.device_menu = model_menu.addMenu(translate("WindowActions", "&Device"))
        self.device_menu.setToolTipsVisible(True)
        model_menu.addSeparator()
        model_menu.addAction(self.recaption)
        model_menu.addAction(self.cancel)

        help_menu = bar.addMenu(translate("WindowActions", "&Help"))
        help_menu.addAction(self.about)
        help_menu.addAction(self.log_folder)
        self.set_devices([], "auto")
        self.set_models([], None)
        self.set_embedders([], None)

    def _fill_languages(self, slot: Callable[[str], object]) -> None:
        """View ▸ Language: System, English, 简体中文 (applies when the app next starts)."""
        for setting, own_name in LANGUAGES:
            text = own_name or translate("WindowActions", "&System Language")
            action = make_action(self.language_menu, text, translate(
                "WindowActions", "The window's language; it changes when VLM Desktop is "
                "restarted"), checkable=True)
            action.setData(setting)
            action.triggered.connect(lambda _=False, v=setting: slot(v))
            self.language_group.addAction(action)
            self.language_menu.addAction(action)

    def check_language(self, setting: str) -> None:
        """Tick the language saved in the settings."""
        for action in self.language_group.actions():
            action.setChecked(action.data() == setting)

    def set_models(self, entries: Sequence[ModelRecord], current: str | None) -> None:
        """Rebuild the Model menu's radio list: installed models, the built-in one first."""
        self._fill(self.model_menu, self.model_group, entries, current, self._model_slot,
                   before=self._models_end, empty=translate("WindowActions", "No models installed"))

    def set_embedders(self, entries: Sequence[ModelRecord], current: str | None) -> None:
        """Rebuild Model ▸ Catalog Search Model: the installed models that make vectors."""
        self._fill(self.embed_menu, self.embed_group, [e for e in entries if CAP_EMBED in
                   e.capabilities], current, self._embed_slot, before=None,
                   empty=translate("WindowActions", "No installed model can search a catalog"))

    @staticmethod
    def _fill(menu: QMenu, group: QActionGroup, entries: Sequence[ModelRecord],
              current: str | None, slot: Callable[[str], object], before: QAction | None,
              empty: str) -> None:
        for action in group.actions():
            group.removeAction(action)
            menu.removeAction(action)
            action.deleteLater()
        ordered = sorted(entries, key=lambda e: not e.builtin)  # stable: keeps the rest's order
        actions: list[QAction] = []
        if not ordered:
            none = QAction(empty, menu)
            none.setEnabled(False)
            actions.append(none)
        for i, entry in enumerate(ordered):
            prefix = f"&{i + 1} " if i < 9 else f"{i + 1} "  # keyboard: Alt+M, then the digit
            action = make_action(menu, prefix + model_name(entry.display_name).replace("&", "&&"),
                                 describe(entry.capabilities), checkable=True)
            action.setData(entry.name)
            action.setChecked(entry.name == current)
            action.triggered.connect(lambda _=False, n=entry.name: slot(n))
            actions.append(action)
        for action in actions:
            group.addAction(action)
            if before is not None:
                menu.insertAction(before, action)
            else:
                menu.addAction(action)

    def checked_model(self) -> str | None:
        """The name of the model ticked in the Model menu."""
        action = self.model_group.checkedAction()
        return str(action.data()) if action is not None else None

    def checked_embedder(self) -> str | None:
        """The name of the model ticked in Model ▸ Catalog Search Model."""
        action = self.embed_group.checkedAction()
        return str(action.data()) if action is not None else None

    def set_devices(self, cuda: list[tuple[str, str]], current: str) -> None:
        """Rebuild Model ▸ Device: Auto, CPU, then one entry per CUDA device."""
        for action in self.device_group.actions():
            self.device_group.removeAction(action)
        self.device_menu.clear()
        entries = [("auto", translate("WindowActions", "&Automatic"), translate(
                        "WindowActions", "Use the GPU when one works, otherwise the CPU")),
                   ("cpu", translate("WindowActions", "&CPU"),
                    translate("WindowActions", "Always run the model on the CPU"))]
        entries += [(dev, translate("WindowActions", "CUDA &{n}: {name}").format(
                        n=dev.split(':')[-1], name=name),
                     translate("WindowActions", "Run the model on {name}").format(name=name))
                    for dev, name in cuda]
        known = {dev for dev, _, _ in entries}
        if current not in known:  # e.g. "cuda:1" from settings before the list is known
            entries.append((current, current, translate(
                "WindowActions", "Run the model on {name}").format(name=current)))
        for dev, text, tip in entries:
            action = make_action(self.device_menu, text, tip, checkable=True)
            action.setData(dev)
            action.setChecked(dev == current)
            action.triggered.connect(lambda _=False, d=dev: self._device_slot(d))
            self.device_group.addAction(action)
            self.device_menu.addAction(action)

    def set_recent(self, files: list[str], open_slot: Callable[[str], object],
                   clear_slot: Callable[[], object]) -> None:
        menu: QMenu = self.recent_menu
        menu.clear()
        for i, path in enumerate(files):
            label = Path(path).name.replace("&", "&&")
            prefix = f"&{i + 1} " if i < 9 else "1&0 "
            action = menu.addAction(prefix + label)
            action.setToolTip(path)
            action.setStatusTip(path)
            action.triggered.connect(lambda _=False, p=path: open_slot(p))
        if files:
            menu.addSeparator()
        clear = menu.addAction(translate("WindowActions", "&Clear Recent Files"))
        clear.setToolTip(translate("WindowActions", "Forget the recently opened files"))
        clear.setEnabled(bool(files))
        clear.triggered.connect(clear_slot)
        menu.setEnabled(True)


def shortcut_text(action: QAction) -> str:
    return action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)

