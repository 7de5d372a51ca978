"""Catalog ▸ Adapt Model to This Catalog…: train, watch it learn, see what it changed.

The work is one job (workers/adapt_run.py): short steps on the inference worker for what
needs the catalog's search model, then training on a thread of its own, so captions and
answers keep coming meanwhile; epochs arrive as partial results and are drawn as a live plot of
the training loss and the held-out recall@10. Cancel stops within an epoch and leaves the
catalog as it was; at the end a before/after table shows the held-out figures beside
chance. Revert to Base Model switches back to the base model's vectors, which adapting
never changed.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Optional

from PySide6.QtCore import QT_TRANSLATE_NOOP, QPointF, QRectF, Qt, Signal, Slot
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vlm_desktop.core.catalog.adapt import AdaptConfig, AdaptReport, EpochProgress
from vlm_desktop.core.catalog.store import CatalogStore
from vlm_desktop.workers.inference_worker import InferenceClient
from vlm_desktop.workers.jobs import Job

LOSS_COLOUR = QColor("#d1495b")
RECALL_COLOUR = QColor("#00798c")
MEASURES = (("t2i_r1", QT_TRANSLATE_NOOP("AdaptDialog", "Title finds its item, top 1")),
            ("t2i_r10", QT_TRANSLATE_NOOP("AdaptDialog", "Title finds its item, top 10")),
            ("i2i_p5", QT_TRANSLATE_NOOP("AdaptDialog", "Similar items, same category (5)")),
            ("i2i_p5_joint", QT_TRANSLATE_NOOP("AdaptDialog", "Same, in the text–image space")))


class TrainingPlot(QWidget):
    """Loss (left scale) and held-out recall@10 (right scale, 0–1) per epoch."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(420, 200)
        self.setAccessibleName(self.tr("Training progress plot"))
        self.epochs = 1
        self.points: list[tuple[int, float, float]] = []  # (epoch, loss, recall)

    def reset(self, epochs: int, start_recall: Optional[float] = None) -> None:
        self.epochs = max(1, epochs)
        self.points = [] if start_recall is None else [(0, math.nan, start_recall)]
        self.update()

    def add(self, epoch: int, loss: float, recall: float) -> None:
        self.points.append((epoch, loss, recall))
        self.update()

    def paintEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        p.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base))
        area = QRectF(self.rect()).adjusted(46, 22, -46, -28)
        text = pal.color(QPalette.ColorRole.Text)
        p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
        p.drawRect(area)
        losses = [l for _, l, _ in self.points if not math.isnan(l)]
        top = max(losses) * 1.1 if losses else 1.0
        last = max([self.epochs] + [e for e, _, _ in self.points])
        self._axes(p, area, top, last, text)

        def at(epoch: float, value: float, scale: float) -> QPointF:
            return QPointF(area.left() + area.width() * epoch / last,
                           area.bottom() - area.height() * min(value / scale, 1.0))

        for colour, col, scale in ((LOSS_COLOUR, 1, top), (RECALL_COLOUR, 2, 1.0)):
            pts = [at(pt[0], pt[col], scale) for pt in self.points if not math.isnan(pt[col])]
            if not pts:
                continue
            path = QPainterPath(pts[0])
            for q in pts[1:]:
                path.lineTo(q)
            p.setPen(QPen(colour, 2))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPath(path)
            p.setBrush(colour)
            for q in pts:
                p.drawEllipse(q, 2.5, 2.5)
        self._legend(p, area, text)
        p.end()

    def _axes(self, p: QPainter, area: QRectF, top: float, last: int, text: QColor) -> None:
        font = p.font()
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        p.setFont(font)
        for i in range(5):
            y = area.bottom() - area.height() * i / 4
            p.setPen(LOSS_COLOUR)
            p.drawText(QRectF(0, y - 8, area.left() - 4, 16),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                       f"{top * i / 4:.2f}")
            p.setPen(RECALL_COLOUR)
            p.drawText(QRectF(area.right() + 4, y - 8, 40, 16), Qt.AlignmentFlag.AlignVCenter,
                       f"{i / 4:.2f}")
        p.setPen(text)
        step = max(1, last // 6)
        for e in range(0, last + 1, step):
            x = area.left() + area.width() * e / last
            p.drawText(QRectF(x - 15, area.bottom() + 2, 30, 14), Qt.AlignmentFlag.AlignHCenter,
                       str(e))
        p.drawText(QRectF(area.left(), area.bottom() + 13, area.width(), 14),
                   Qt.AlignmentFlag.AlignHCenter, self.tr("epoch"))

    def _legend(self, p: QPainter, area: QRectF, text: QColor) -> None:
        x = area.left()
        for colour, label in ((LOSS_COLOUR, self.tr("training loss")),
                              (RECALL_COLOUR, self.tr("held-out recall@10"))):
            p.setPen(QPen(colour, 3))
            p.drawLine(QPointF(x, 11), QPointF(x + 18, 11))
            p.setPen(text)
            p.drawText(QPointF(x + 23, 15), label)
            x += 30 + p.fontMetrics().horizontalAdvance(label)


class AdaptDialog(QDialog):
    """Adapt the catalog's search model to `store`, with progress, Cancel and the results."""

    adapted = Signal(str)  # the variant now in use
    reverted = Signal()

    def __init__(self, client: InferenceClient, store: CatalogStore,
                 parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.client = client
        self.store = store
        self.request: Optional[Job] = None  # the running adaptation
        self.report: Optional[AdaptReport] = None
        self.setWindowTitle(self.tr("Adapt Model to This Catalog"))
        self._build()
        self._show_state()

    def _build(self) -> None:
        intro = QLabel(self.tr(
            "Teaches the built-in model this catalog's own words: its joint space is "
            "fine-tuned on the catalog's images and their titles, tags and categories. A "
            "fifth of the items is held out to measure it. Search keeps working on the "
            "current vectors until the new ones are complete."))
        intro.setWordWrap(True)
        self.state_label = QLabel()
        self.epochs = QSpinBox(minimum=1, maximum=500, value=AdaptConfig.epochs)
        self.epochs.setToolTip(self.tr("Most epochs to train; it stops earlier once the "
                                       "held-out recall stops improving"))
        self.epochs.setAccessibleName(self.tr("Maximum epochs"))
        row = QHBoxLayout()
        row.addWidget(QLabel(self.tr("At most")))
        row.addWidget(self.epochs)
        row.addWidget(QLabel(self.tr("epochs")))
        row.addStretch(1)
        self.plot = TrainingPlot()
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.status = QLabel(" ")
        self.status.setWordWrap(True)
        self.table = QTableWidget(len(MEASURES), 3)
        self.table.setHorizontalHeaderLabels([self.tr("before"), self.tr("after"),
                                              self.tr("chance")])
        self.table.setVerticalHeaderLabels([self.tr(label) for _, label in MEASURES])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setAccessibleName(self.tr("Before and after"))
        rows = self.table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.setFixedHeight(rows.defaultSectionSize() * len(MEASURES)
                                  + self.table.horizontalHeader().sizeHint().height()
                                  + 2 * self.table.frameWidth() + 2)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setVisible(False)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.start_button = QPushButton(self.tr("Adapt"))
        self.start_button.setDefault(True)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.revert_button = QPushButton(self.tr("Revert to Base Model"))
        self.revert_button.setToolTip(self.tr("Search with the base model's vectors again "
                                              "(they were never changed)"))
        buttons = QDialogButtonBox()
        buttons.addButton(self.start_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.revert_button, QDialogButtonBox.ButtonRole.ResetRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel_or_close)
        self.revert_button.clicked.connect(self.revert)
        layout = QVBoxLayout(self)
        for w in (intro, self.state_label):
            layout.addWidget(w)
        layout.addLayout(row)
        layout.addWidget(self.plot, 1)
        for w in (self.progress, self.status, self.table, self.summary):
            layout.addWidget(w)
        layout.addWidget(buttons)
        self.resize(560, 560)

    def _show_state(self) -> None:
        from vlm_desktop.core.catalog.adapt_store import active_variant

        variant = active_variant(self.store)
        running = self.request is not None
        name = self.store.path.stem
        self.state_label.setText(
            self.tr("Catalog <b>{name}</b>: searching with its adapted model ({variant}).")
            .format(name=name, variant=variant) if variant else
            self.tr("Catalog <b>{name}</b>: searching with the base model.").format(name=name))
        self.start_button.setEnabled(not running)
        self.epochs.setEnabled(not running)
        self.revert_button.setEnabled(bool(variant) and not running)
        self.cancel_button.setText(self.tr("Cancel") if running else self.tr("Close"))

    # --- actions --------------------------------------------------------------------------

    @Slot()
    def start(self) -> None:
        """Start adapting the catalog's search model (see workers/adapt_run.py)."""
        from vlm_desktop.workers.adapt_run import start_adapt

        config = replace(AdaptConfig(), epochs=self.epochs.value())
        self.plot.reset(config.epochs)
        self.report = None
        self.table.setVisible(False)
        self.summary.clear()
        self.status.setText(self.tr("Starting…"))
        self.progress.setValue(0)
        job = start_adapt(self.client, self.store, config)
        job.progress.connect(self._on_progress)
        job.partial.connect(self._on_partial)
        job.result.connect(self._on_result)
        job.failed.connect(self._on_error)
        job.cancelled.connect(self._on_cancelled)
        self.request = job
        self._show_state()

    @Slot()
    def cancel_or_close(self) -> None:
        if self.request is not None:
            self.status.setText(self.tr("Cancelling…"))
            self.request.cancel()
        else:
            self.reject()

    @Slot()
    def revert(self) -> None:
        from vlm_desktop.core.catalog.adapt import revert_catalog
        from vlm_desktop.core.catalog.store import CatalogError

        try:
            variant = revert_catalog(self.store)
        except CatalogError as exc:
            self.status.setText(str(exc))
            return
        self.status.setText(
            self.tr("Back on the base model ({variant} removed).").format(variant=variant)
            if variant else self.tr("The catalog already uses the base model."))
        self._show_state()
        self.reverted.emit()

    def reject(self) -> None:
        if self.request is not None:  # closing while training: stop it, nothing changes
            self.request.cancel()
        super().reject()

    # --- worker signals -------------------------------------------------------------------

    @Slot(float, str)
    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(100 * fraction))
        if message:
            self.status.setText(message)

    @Slot(object)
    def _on_partial(self, value: object) -> None:
        if isinstance(value, EpochProgress):
            self.show_epoch(value)

    def show_epoch(self, e: EpochProgress) -> None:
        """Draw one finished epoch."""
        self.plot.epochs = e.epochs
        self.plot.add(e.epoch, e.loss, e.held_out_r10)

    @Slot(object)
    def _on_result(self, value: object) -> None:
        if not isinstance(value, AdaptReport):
            return
        self.request = None
        self.show_report(value)
        self._show_state()
        if value.variant:
            self.adapted.emit(value.variant)

    def show_report(self, report: AdaptReport) -> None:
        """The before/after table and a one-line summary."""
        self.report = report
        if not self.plot.points or self.plot.points[0][0] != 0:
            self.plot.points.insert(0, (0, math.nan, report.before["t2i_r10"]))
            self.plot.update()
        for r, (key, _) in enumerate(MEASURES):
            for c, row in enumerate((report.before, report.after, report.chance)):
                cell = QTableWidgetItem(f"{row[key]:.3f}")
                cell.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if c == 1 and row[key] > report.before[key] + 1e-9:
                    font = cell.font()
                    font.setBold(True)
                    cell.setFont(font)
                self.table.setItem(r, c, cell)
        self.table.setVisible(True)
        hint = self.sizeHint()  # room for the table without squeezing the plot
        self.resize(max(self.width(), hint.width()), max(self.height(), hint.height()))
        self.progress.setValue(100)
        self.status.setText(self.tr(
            "{held_out} held-out items (never trained on); {epochs} epochs, {each} s each, "
            "{total} s in all.").format(held_out=report.held_out, epochs=report.epochs,
                                        each=f"{report.seconds_per_epoch:.2f}",
                                        total=f"{report.seconds:.0f}"))
        self.summary.setText(
            self.tr("Now searching with the adapted model (epoch {epoch} kept).").format(
                epoch=report.best_epoch)
            if report.variant else
            self.tr("No epoch did better than the base model on the held-out items, so the "
                    "catalog keeps the base model."))

    @Slot(str, str)
    def _on_error(self, message: str, _details: str) -> None:
        self.request = None
        self.status.setText(self.tr("Adapting failed: {message}").format(message=message))
        self._show_state()

    @Slot()
    def _on_cancelled(self) -> None:
        self.request = None
        self.status.setText(
            self.tr("Cancelled: the catalog still searches with the model it had."))
        self._show_state()
