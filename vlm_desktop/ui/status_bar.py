"""The status bar: busy indicator with Cancel, step timings, model name and device."""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Sequence

from PySide6.QtCore import QT_TRANSLATE_NOOP, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QStatusBar,
    QWidget,
)

from vlm_desktop.core.device import DeviceChoice
from vlm_desktop.core.engine.types import ModelInfo
from vlm_desktop.ui.capabilities import describe
from vlm_desktop.ui.i18n import fill, model_name, translate

if TYPE_CHECKING:
    from vlm_desktop.ui.model_session import ModelSession


# The step names engines report (core names them in English); others are shown as they come.
_STEPS = {
    "encode": QT_TRANSLATE_NOOP("StatusBar", "encode"),
    "caption": QT_TRANSLATE_NOOP("StatusBar", "caption"),
    "answer": QT_TRANSLATE_NOOP("StatusBar", "answer"),
}


# A wait the model's steps do not explain is named from this long (and a quarter of the
# total): shorter ones are the worker's own overhead, not worth a word.
QUEUED_NOTICE_MS = 200.0


def format_timings(timings_ms: Mapping[str, float], cached: Sequence[str] = ()) -> str:
    """`{"encode": 120, "caption": 40}` → "encode 120 ms · caption 40 ms"; a step in
    `cached` reads "encode cached" (a look-up, not the work)."""
    return " · ".join(
        translate("StatusBar", "{step} cached").format(step=_step(step)) if step in cached
        else translate("StatusBar", "{step} {time}").format(step=_step(step), time=_ms(ms))
        for step, ms in timings_ms.items())


def timings_text(step: str, total_ms: float, steps: Mapping[str, float],
                 cached: Sequence[str] = ()) -> str:
    """What the status bar says after a request: the time the user waited for it, and
    whether the image was encoded for it or its encoding reused.

    "caption 2.3 s · encode 2251 ms" for a new image; "answer 59 ms · encode cached" for a
    question about an image already encoded.
    """
    text = translate("StatusBar", "{step} {time}").format(step=_step(step), time=_ms(total_ms))
    if "encode" in steps:
        text += " · " + format_timings({"encode": steps["encode"]}, cached)
    queued = queued_ms(total_ms, steps)
    if queued:
        text += " · " + translate("StatusBar", "{time} queued").format(time=_ms(queued))
    return text


def queued_ms(total_ms: float, steps: Mapping[str, float]) -> float:
    """The part of the wait the model's steps do not account for (it was finishing other
    work, such as a catalog batch), when that is enough to notice; else 0."""
    if not steps:
        return 0.0  # a model that reports no steps: nothing to tell the wait from the work
    waited = total_ms - sum(steps.values())
    return waited if waited >= QUEUED_NOTICE_MS and waited >= 0.25 * total_ms else 0.0


def timings_tip(total_ms: float, steps: Mapping[str, float], cached: Sequence[str] = ()) -> str:
    """The timings' tooltip: what the total covers, the model's own steps, what was reused."""
    tip = translate("StatusBar", "{time} from your request to the result, waiting for the "
                    "model included").format(time=_ms(total_ms))
    if steps:
        tip += "\n" + translate("StatusBar", "Steps reported by the model: {steps}").format(
            steps=format_timings(steps, cached))
    if queued_ms(total_ms, steps):
        tip += "\n" + translate("StatusBar", "Queued: the model was finishing other work "
                                 "(such as indexing the catalog) before it started this")
    if "encode" in cached:
        tip += "\n" + translate("StatusBar", "Encode cached: the image was already encoded for "
                                 "an earlier request, so that work was not repeated")
    return tip


def _step(step: str) -> str:
    return translate("StatusBar", _STEPS[step]) if step in _STEPS else step


def _ms(ms: float) -> str:
    if ms >= 10_000:
        return translate("StatusBar", "{n} s").format(n=f"{ms / 1000:.1f}")
    if ms >= 1000:
        return translate("StatusBar", "{n} s").format(n=f"{ms / 1000:.2f}")
    return translate("StatusBar", "{n} ms").format(n=f"{ms:.0f}")


def device_label(choice: DeviceChoice) -> str:
    if choice.is_cuda:
        return translate("StatusBar", "GPU {device} · {dtype}").format(device=choice.device,
                                                                      dtype=choice.dtype)
    if choice.device == "mps":
        return translate("StatusBar", "Apple GPU")
    return translate("StatusBar", "CPU · {n} threads").format(n=choice.threads)


class BusyIndicator(QWidget):
    """An indeterminate bar, what is running, and Cancel (Esc)."""

    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(self.tr("Busy"))
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setFixedWidth(90)
        self.bar.setMaximumHeight(14)
        self.bar.setTextVisible(False)
        self.bar.setAccessibleName(self.tr("Working"))
        self.bar.setToolTip(self.tr("The model is working"))
        self.label = QLabel()
        self.label.setAccessibleName(self.tr("Current task"))
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.setAccessibleName(self.tr("Cancel"))
        self.cancel_button.setToolTip(self.tr("Stop the current task (Esc)"))
        self.cancel_button.clicked.connect(self.cancel_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.bar)
        layout.addWidget(self.label)
        layout.addWidget(self.cancel_button)
        self.hide()

    def start(self, message: str, cancellable: bool = True) -> None:
        self.label.setText(message)
        self.cancel_button.setVisible(cancellable)
        self.show()

    def stop(self) -> None:
        self.hide()


class StatusBar(QStatusBar):
    """Permanent fields: busy indicator, last timings, model and device (tooltip: why)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(self.tr("Status bar"))
        self.busy = BusyIndicator()
        self.timings = QLabel()
        self.timings.setAccessibleName(self.tr("Timings"))
        self.timings.setToolTip(self.tr("How long the last request took"))
        self._info: ModelInfo | None = None
        self._embedder: ModelInfo | None = None
        self.model = QLabel(self.tr("No model"))
        self.model.setAccessibleName(self.tr("Model"))
        self.model.setToolTip(self.tr("The model in use"))
        self.device = QLabel(self.tr("Device: —"))
        self.device.setAccessibleName(self.tr("Device"))
        self.device.setToolTip(self.tr("The device the model runs on"))
        self.addWidget(self.busy)
        for widget in (self.timings, _separator(), self.model, _separator(), self.device):
            self.addPermanentWidget(widget)

    def follow(self, models: "ModelSession") -> None:
        """Show `models`' state as it changes: the model, the catalog's model, the device."""
        main, catalog = models.main, models.catalog
        main.loading.connect(lambda _name: self.set_model(None, self.tr("Loading model…")))
        main.ready.connect(lambda info, choice: (self.set_model(info), self.set_device(choice)))
        main.failed.connect(lambda _message, _details: self.set_model(None, self.tr("No model")))
        main.unavailable.connect(
            lambda _reason: self.set_model(None, self.tr("No model installed")))
        catalog.ready.connect(lambda info, _choice: self.set_embedder(info))
        catalog.failed.connect(lambda _message, _details: self.set_embedder(None))

    def set_model(self, info: ModelInfo | None, text: str = "") -> None:
        self._info = info
        if info is None:
            self.model.setText(text or self.tr("No model"))
            self.model.setToolTip(self.tr("The model in use"))
            return
        self.model.setText(model_name(info.name))
        self._model_tip()

    def set_embedder(self, info: ModelInfo | None) -> None:
        """The catalog's model: named in the model's tooltip when it is another one."""
        self._embedder = info
        if self._info is not None:
            self._model_tip()

    def _model_tip(self) -> None:
        info, embedder = self._info, self._embedder
        assert info is not None
        tip = fill(self.tr("{name} {version} · {dtype}"),
                   name=model_name(info.name), version=info.version, dtype=info.dtype)
        tip += f"\n{describe(info.capabilities)}"
        if info.description:
            tip += f"\n{info.description}"
        if embedder is not None and embedder.name != info.name:
            tip += "\n" + fill(self.tr("Catalog search uses {name}"), name=model_name(embedder.name))
        tip += "\n" + self.tr("Choose another in the Model menu")
        self.model.setToolTip(tip)

    def set_device(self, choice: DeviceChoice | None) -> None:
        if choice is None:
            self.device.setText(self.tr("Device: —"))
            self.device.setToolTip(self.tr("The device the model runs on"))
            return
        self.device.setText(device_label(choice))
        runtime = self._info.runtime if self._info is not None else ""
        self.device.setToolTip(choice.reason + (f"\n{runtime}" if runtime else ""))

    def show_timings(self, step: str, total_ms: float, steps: Mapping[str, float],
                     cached: Sequence[str] = ()) -> None:
        """After a caption or an answer: `total_ms` as the user waited for it (request to
        result), the model's own `steps` in the tooltip, the `cached` ones said so."""
        self.timings.setText(timings_text(step, total_ms, steps, cached))
        self.timings.setToolTip(timings_tip(total_ms, steps, cached))


def _separator() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.Shape.VLine)
    line.setFrameShadow(QFrame.Shadow.Sunken)
    return line
