"""Colours derived from the platform palette, so light and dark schemes both look right."""

from __future__ import annotations

from PySide6.QtCore import QEvent
from PySide6.QtGui import QColor, QGuiApplication, QPalette

# Hues only: every colour shown is a blend of one of these with the palette's own colours.
ERROR_HUE = QColor(220, 53, 69)
WARNING_HUE = QColor(230, 160, 20)
INFO_HUE = QColor(40, 120, 220)


def blend(a: QColor, b: QColor, amount: float) -> QColor:
    """`a` moved `amount` (0..1) of the way towards `b`."""
    t = max(0.0, min(1.0, amount))
    return QColor(round(a.red() + (b.red() - a.red()) * t),
                  round(a.green() + (b.green() - a.green()) * t),
                  round(a.blue() + (b.blue() - a.blue()) * t))


def is_dark(palette: QPalette | None = None) -> bool:
    pal = palette or QGuiApplication.palette()
    return pal.color(QPalette.ColorRole.Window).lightness() < 128


def tint(palette: QPalette, hue: QColor) -> QColor:
    """A background tinted with `hue` that keeps the palette's text readable."""
    return blend(palette.color(QPalette.ColorRole.Window), hue, 0.28 if is_dark(palette) else 0.16)


def muted_text(palette: QPalette) -> QColor:
    """Secondary text: the text colour pulled towards the background."""
    return blend(palette.color(QPalette.ColorRole.WindowText),
                 palette.color(QPalette.ColorRole.Window), 0.4)


def css(colour: QColor) -> str:
    return colour.name(QColor.NameFormat.HexRgb)


def app_palette() -> QPalette:
    """The application's palette: follows the system scheme, untouched by style sheets."""
    return QGuiApplication.palette()


def palette_key(palette: QPalette | None = None) -> tuple[int, ...]:
    """Identifies a colour scheme; widgets restyle only when it changes (style sheets also
    send palette-change events, so restyling on every event would loop)."""
    pal = palette or app_palette()
    roles = (QPalette.ColorRole.Window, QPalette.ColorRole.WindowText, QPalette.ColorRole.Base,
             QPalette.ColorRole.Text, QPalette.ColorRole.Highlight, QPalette.ColorRole.Mid)
    return tuple(pal.color(role).rgba() for role in roles)


def scheme_changed(widget: object, event: QEvent) -> bool:
    """True once per real colour-scheme change seen by `widget` (call from changeEvent)."""
    if event.type() != QEvent.Type.PaletteChange:
        return False
    key = palette_key()
    if getattr(widget, "_scheme_key", None) == key:
        return False
    setattr(widget, "_scheme_key", key)
    return True
