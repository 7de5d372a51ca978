"""The image view: fit to window, zoom and pan, a heat-map overlay layer, and file drops."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QFont,
    QImage,
    QKeyEvent,
    QPainter,
    QPalette,
    QPixmap,
    QResizeEvent,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QWidget

from vlm_desktop.ui import theme

ZOOM_STEP = 1.25
MIN_ZOOM = 0.02
MAX_ZOOM = 32.0


def mime_has_openable(mime: QMimeData) -> bool:
    """True when a drop or paste carries something the app can open."""
    return mime.hasImage() or any(u.isLocalFile() for u in mime.urls()) or mime.hasText()


class ImageView(QGraphicsView):
    """Shows one image with an optional RGBA overlay on top; emits what was dropped on it."""

    mime_dropped = Signal(QMimeData)
    zoom_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(self.tr("Image"))
        self.setToolTip(self.tr("The image. Ctrl+wheel or Ctrl++/Ctrl+- zoom, drag to pan, "
                                "Ctrl+0 fits it to the window. Drop an image file here to open "
                                "it."))
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self._image_item = QGraphicsPixmapItem()
        self._image_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._overlay_item = QGraphicsPixmapItem()
        self._overlay_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._overlay_item.setZValue(1)
        self._overlay_item.setVisible(False)
        self._scene.addItem(self._image_item)
        self._scene.addItem(self._overlay_item)
        self._fit = True
        # The first thing a new user reads: how to begin, and what the window will do.
        self._placeholder_title = self.tr("No image yet")
        self._placeholder = self.tr(
            "Drop an image or a video here, paste one with Ctrl+V, or open one with Ctrl+O."
            "\n\nThe model writes a caption and answers your questions about it. Click a "
            "highlighted word to see its heat map: where the model looked for that word, "
            "brightest where it looked most.")
        self.setRenderHints(QPainter.RenderHint.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setBackgroundRole(QPalette.ColorRole.Base)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self.setMinimumSize(240, 180)

    # Image and overlay -----------------------------------------------------------------
    def has_image(self) -> bool:
        return not self._image_item.pixmap().isNull()

    def image_size(self) -> tuple[int, int]:
        pm = self._image_item.pixmap()
        return (pm.width(), pm.height())

    def set_image(self, image: QImage) -> None:
        """Show `image`, fitted to the window, and drop any overlay."""
        self._image_item.setPixmap(QPixmap.fromImage(image))
        self.clear_overlay()
        self._scene.setSceneRect(QRectF(self._image_item.pixmap().rect()))
        self.fit_to_window()

    def clear_image(self) -> None:
        self._image_item.setPixmap(QPixmap())
        self.clear_overlay()
        self.viewport().update()

    def set_overlay(self, overlay: QImage, opacity: float | None = None) -> None:
        """Lay an RGBA overlay over the whole image (scaled to cover it exactly)."""
        pm = QPixmap.fromImage(overlay)
        self._overlay_item.setPixmap(pm)
        w, h = self.image_size()
        if pm.width() and pm.height():
            self._overlay_item.setTransform(QTransform.fromScale(w / pm.width(), h / pm.height()))
        if opacity is not None:
            self._overlay_item.setOpacity(opacity)
        self._overlay_item.setVisible(True)

    def set_overlay_opacity(self, opacity: float) -> None:
        self._overlay_item.setOpacity(max(0.0, min(1.0, opacity)))

    def set_overlay_visible(self, visible: bool) -> None:
        self._overlay_item.setVisible(visible and not self._overlay_item.pixmap().isNull())

    def overlay_visible(self) -> bool:
        return self._overlay_item.isVisible()

    def overlay_opacity(self) -> float:
        return self._overlay_item.opacity()

    def clear_overlay(self) -> None:
        self._overlay_item.setPixmap(QPixmap())
        self._overlay_item.setVisible(False)

    # Zoom ------------------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def fit_to_window(self) -> None:
        self._fit = True
        if self.has_image():
            self.fitInView(self._image_item, Qt.AspectRatioMode.KeepAspectRatio)
            self.zoom_changed.emit(self.zoom())

    def zoom_in(self) -> None:
        self._zoom_by(ZOOM_STEP)

    def zoom_out(self) -> None:
        self._zoom_by(1 / ZOOM_STEP)

    def _zoom_by(self, factor: float) -> None:
        if not self.has_image():
            return
        target = max(MIN_ZOOM, min(MAX_ZOOM, self.zoom() * factor))
        factor = target / self.zoom()
        self._fit = False
        self.scale(factor, factor)
        self.zoom_changed.emit(self.zoom())

    # Qt overrides ----------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120
            if steps:
                self._zoom_by(ZOOM_STEP ** steps)
            event.accept()
            return
        super().wheelEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        # The window's shortcuts own Ctrl+±; keep plain +/- working when the view has focus.
        if event.key() in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_in()
        elif event.key() == Qt.Key.Key_Minus:
            self.zoom_out()
        else:
            super().keyPressEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self._fit:
            self.fit_to_window()

    def placeholder_text(self) -> str:
        """What the empty view says (how to open an image, what the window then does)."""
        return f"{self._placeholder_title}\n{self._placeholder}"

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        if self.has_image():
            return
        # An empty view says what to do, in the palette's muted text colour: a heading,
        # then the ways in and what happens next, in a column a line can be read across.
        painter.save()
        painter.resetTransform()
        pal = self.palette()
        view = QRectF(self.viewport().rect()).adjusted(24, 24, -24, -24)
        width = min(view.width(), 440.0)
        area = QRectF(view.center().x() - width / 2, view.top(), width, view.height())
        painter.setPen(QColor(theme.muted_text(pal)))
        heading = QFont(self.font())
        heading.setPointSizeF(heading.pointSizeF() * 1.3)
        heading.setBold(True)
        body = QFont(self.font())
        flags = Qt.AlignmentFlag.AlignHCenter | Qt.TextFlag.TextWordWrap
        painter.setFont(body)
        text_box = painter.boundingRect(area, int(flags), self._placeholder)
        painter.setFont(heading)
        head_box = painter.boundingRect(area, int(flags), self._placeholder_title)
        top = area.top() + max(0.0, (area.height() - head_box.height() - 12
                                     - text_box.height()) / 2)
        painter.drawText(QRectF(area.left(), top, width, head_box.height()), int(flags),
                         self._placeholder_title)
        painter.setFont(body)
        painter.drawText(QRectF(area.left(), top + head_box.height() + 12, width,
                                text_box.height()), int(flags), self._placeholder)
        painter.restore()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if mime_has_openable(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        if mime_has_openable(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        mime = event.mimeData()
        if not mime_has_openable(mime):
            event.ignore()
            return
        event.acceptProposedAction()
        self.mime_dropped.emit(mime)
