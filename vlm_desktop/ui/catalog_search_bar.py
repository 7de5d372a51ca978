"""The catalog panel's top: the catalog's name and size, the search box, the Catalog menu
button, the search mode and the category and price filters."""

from __future__ import annotations

from typing import Optional, Sequence

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from vlm_desktop.core.catalog.search import SearchFilters
from vlm_desktop.ui.i18n import translate


class MenuButton(QToolButton):
    """A tool button whose menu opens on click and whose width leaves room for the arrow
    (QToolButton's size hint does not count the InstantPopup indicator, which is then drawn
    over the text's last letters)."""

    def _with_arrow(self, hint: QSize) -> QSize:
        arrow = self.style().pixelMetric(QStyle.PixelMetric.PM_MenuButtonIndicator, None, self)
        return QSize(hint.width() + arrow, hint.height())

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return self._with_arrow(super().sizeHint())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return self._with_arrow(super().minimumSizeHint())


class CatalogSearchBar(QWidget):
    """Search text, mode and filters; `search_requested` when any of them is committed."""

    search_requested = Signal()

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.header = QLabel(self.tr("No catalog"))
        self.header.setStyleSheet("font-weight: bold")
        self.header.setAccessibleName(self.tr("Catalog name and size"))
        self.search_box = QLineEdit(placeholderText=self.tr("Search the catalog…"),
                                    clearButtonEnabled=True)
        self.search_box.setAccessibleName(self.tr("Catalog search"))
        self.search_box.setToolTip(self.tr("Search titles, tags and categories; press Enter"))
        self.catalog_button = MenuButton(text=self.tr("Catalog"))
        self.catalog_button.setToolTip(self.tr("Open, import or switch catalogs"))
        self.catalog_button.setAccessibleName(self.tr("Catalog menu"))
        self.catalog_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.catalog_menu = QMenu(self)
        self.catalog_button.setMenu(self.catalog_menu)
        self._build_filters()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.catalog_button)
        layout.addLayout(top)
        layout.addWidget(self.search_box)
        layout.addLayout(self.filters_layout)
        self.search_box.returnPressed.connect(self.search_requested)
        self.mode_box.currentIndexChanged.connect(lambda _i: self.search_requested.emit())
        self.category_box.currentIndexChanged.connect(lambda _i: self.search_requested.emit())
        self.min_price.editingFinished.connect(self.search_requested)
        self.max_price.editingFinished.connect(self.search_requested)

    def _build_filters(self) -> None:
        self.mode_box = QComboBox()
        # The shown name is translated; the mode the search gets is the item's data.
        for mode, shown in (("hybrid", self.tr("hybrid")), ("vector", self.tr("vector")),
                            ("keyword", self.tr("keyword"))):
            self.mode_box.addItem(shown, mode)
        self.mode_box.setToolTip(self.tr("Hybrid: keywords and meaning fused; vector: meaning "
                                         "only; keyword: title, tags and category words"))
        self.mode_box.setAccessibleName(self.tr("Search mode"))
        self.category_box = QComboBox()
        self.category_box.setAccessibleName(self.tr("Category filter"))
        self.category_box.setToolTip(self.tr("Show only items of one category"))
        # Long category names must not widen the dock: the box elides, its popup does not.
        self.category_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.category_box.setMinimumContentsLength(8)
        self.min_price = _price_box(self.tr("Minimum price"))
        self.max_price = _price_box(self.tr("Maximum price"))
        filters = QGridLayout()
        filters.setContentsMargins(0, 0, 0, 0)
        filters.addWidget(self.mode_box, 0, 0)
        filters.addWidget(self.category_box, 0, 1, 1, 3)
        filters.addWidget(QLabel(self.tr("Price")), 1, 0, Qt.AlignmentFlag.AlignRight)
        filters.addWidget(self.min_price, 1, 1)
        filters.addWidget(QLabel("–"), 1, 2)
        filters.addWidget(self.max_price, 1, 3)
        filters.setColumnStretch(1, 1)
        filters.setColumnStretch(3, 1)
        self.filters_layout = filters

    def text(self) -> str:
        return self.search_box.text().strip()

    def mode(self) -> str:
        return str(self.mode_box.currentData())

    def filters(self) -> SearchFilters:
        low = self.min_price.value()
        high = self.max_price.value()
        return SearchFilters(self.category_box.currentData(),
                             None if low <= 0 else low, None if high <= 0 else high)

    def filtered(self) -> bool:
        """Whether a category or price filter narrows the results."""
        return self.filters().active

    def set_categories(self, categories: Sequence[str]) -> None:
        """Offer `categories` (plus "All categories") without starting a search."""
        box = self.category_box
        box.blockSignals(True)
        box.clear()
        box.addItem(self.tr("All categories"), None)
        for cat in categories:
            box.addItem(cat, cat)
        box.blockSignals(False)

    def set_header(self, text: str, tip: str) -> None:
        self.header.setText(text)
        self.header.setToolTip(tip)


def _price_box(name: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(0, 1e9)
    box.setDecimals(2)
    box.setSpecialValueText(translate("CatalogPanel", "any"))  # 0 shows as "any": no bound
    box.setAccessibleName(name)
    box.setToolTip(translate("CatalogPanel", "{name} (0: any)").format(name=name))
    return box
