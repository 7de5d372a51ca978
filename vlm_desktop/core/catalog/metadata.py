"""Product metadata files (CSV, JSON, JSON Lines): parse, validate row by row, report problems.

A bad row never stops an import: it is reported with its row number and reason and the
other rows import. Row numbers are what a person sees in a spreadsheet (CSV header = row 1)
or an editor (JSON Lines line number); JSON arrays count elements from 1.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping, Optional

from vlm_desktop.core.catalog.records import (
    MetadataError,
    Record,
    csv_records,
    has_bad_bytes,
    json_records,
    jsonl_records,
    read_text_file,
    too_long,
)

__all__ = ["FIELDS", "MetadataError", "MetadataReport", "MetadataRow", "RowProblem",
           "read_metadata", "parse_price", "title_from_filename"]

FIELDS = ("image", "title", "category", "price", "currency", "tags", "id", "url")

# Column names people use for the same thing; a user mapping overrides these.
DEFAULT_ALIASES: Mapping[str, tuple[str, ...]] = {
    "image": ("image", "file", "filename", "file_name", "path", "image_path", "picture", "photo"),
    "title": ("title", "name", "product", "product_name", "description"),
    "category": ("category", "type", "department", "class"),
    "price": ("price", "cost", "amount"),
    "currency": ("currency", "cur"),
    "tags": ("tags", "keywords", "labels"),
    "id": ("id", "sku", "item_id", "product_id"),
    "url": ("url", "link", "href"),
}

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}


@dataclass(frozen=True)
class MetadataRow:
    """One valid metadata row, keyed by its image path relative to the catalog folder."""

    row: int
    image: str
    title: str = ""
    category: str = ""
    price: Optional[float] = None
    currency: str = ""
    tags: tuple[str, ...] = ()
    id: str = ""
    url: str = ""


@dataclass(frozen=True)
class RowProblem:
    row: int
    reason: str


@dataclass(frozen=True)
class MetadataReport:
    rows: Mapping[str, MetadataRow] = field(default_factory=dict)
    problems: tuple[RowProblem, ...] = ()
    columns: Mapping[str, str] = field(default_factory=dict)  # field -> source column used


def title_from_filename(name: str) -> str:
    """'red_running-shoe_02.jpg' -> 'Red running shoe 02'."""
    stem = Path(name).stem
    words = re.sub(r"[_\-.]+", " ", stem).split()
    text = " ".join(words)
    return text[:1].upper() + text[1:] if text else stem


def read_metadata(path: str | Path, root: str | Path,
                  mapping: Mapping[str, str] | None = None) -> MetadataReport:
    """Parse a CSV / JSON / JSON Lines file; images are resolved against `root`."""
    path, root = Path(path), Path(root)
    mapping = mapping or {}
    # Undecodable bytes stay visible (surrogate escapes) so the rows holding them are named.
    text = read_text_file(path, "metadata file")
    suffix = path.suffix.lower()
    records: Iterator[Record]
    if suffix == ".jsonl" or suffix == ".ndjson":
        records = jsonl_records(text)
    elif suffix == ".json":
        records = json_records(text)
    else:
        records = csv_records(text, _image_row_check(root, mapping))
    return _validate(records, root, mapping)


def _image_row_check(root: Path, mapping: Mapping[str, str]):
    """Whether CSV cells found inside a quoted cell name an image: a row of their own."""
    def is_row(header: list[str], cells: list[str]) -> bool:
        col = _resolve_columns(header, mapping).get("image")
        if col is None:
            return False
        image = dict(zip(header, cells)).get(col, "").strip().replace("\\", "/")
        rel = Path(image)
        return bool(image) and not rel.is_absolute() and ".." not in rel.parts \
            and (root / rel).is_file()
    return is_row


def _resolve_columns(keys: list[str], mapping: Mapping[str, str]) -> dict[str, str]:
    lower = {k.lower().strip(): k for k in keys}
    out: dict[str, str] = {}
    for name in FIELDS:
        if name in mapping:
            if mapping[name] in keys:
                out[name] = mapping[name]
            continue
        for alias in DEFAULT_ALIASES[name]:
            if alias in lower:
                out[name] = lower[alias]
                break
    return out


def _validate(records: Iterator[Record], root: Path,
              mapping: Mapping[str, str]) -> MetadataReport:
    rows: dict[str, MetadataRow] = {}
    ids: dict[str, int] = {}  # external id -> the row that has it
    problems: list[RowProblem] = []
    columns: dict[str, str] = {}
    for n, rec, reason in records:
        if rec is None:
            problems.append(RowProblem(n, reason))
            continue
        # JSON objects may each carry different keys, so columns resolve per key set.
        cols = _resolve_columns(list(rec.keys()), mapping)
        if not columns:
            if "image" not in cols:
                raise MetadataError(
                    "The metadata has no image column (expected one of: "
                    + ", ".join(DEFAULT_ALIASES["image"]) + "); map one in the import dialog."
                )
            columns = cols
        parsed = _parse_row(n, rec, cols, root)
        if isinstance(parsed, RowProblem):
            problems.append(parsed)
        elif parsed.image in rows:
            problems.append(RowProblem(n, f"duplicate of row {rows[parsed.image].row} "
                                          f"for image '{parsed.image}'"))
        else:
            if parsed.id and parsed.id in ids:
                # Order lines name items by id: two items with one id would be ambiguous.
                problems.append(RowProblem(n, f"id '{parsed.id}' is already row "
                                              f"{ids[parsed.id]}'s; imported without the id"))
                parsed = dataclasses.replace(parsed, id="")
            elif parsed.id:
                ids[parsed.id] = n
            rows[parsed.image] = parsed
    return MetadataReport(rows, tuple(problems), columns)


_SCALAR = (str, int, float, bool)


def _cell(rec: dict, columns: Mapping[str, str], name: str) -> str | RowProblem:
    col = columns.get(name)
    value = rec.get(col) if col is not None else None
    if value is None:
        return ""
    if isinstance(value, list) and all(isinstance(v, _SCALAR) for v in value):
        value = ";".join(str(v) for v in value)  # JSON tags may be a list
    elif not isinstance(value, _SCALAR):
        return RowProblem(0, f"'{name}' holds a nested JSON value, not text or a number")
    elif isinstance(value, float) and not math.isfinite(value):
        return RowProblem(0, f"'{name}' is {value}, not a number")
    return str(value).strip()


def _parse_row(n: int, rec: dict, columns: Mapping[str, str], root: Path
               ) -> MetadataRow | RowProblem:
    cells: dict[str, str] = {}
    for name in FIELDS:
        cell = _cell(rec, columns, name)
        if isinstance(cell, RowProblem):
            return RowProblem(n, cell.reason)
        cells[name] = cell
    for name, value in cells.items():
        big = too_long(value)
        if big is not None:
            return RowProblem(n, f"'{name}' holds {big}; refusing the row")
        if has_bad_bytes(value):
            return RowProblem(n, f"undecodable bytes in '{name}' (the file is not UTF-8 here)")
        if name != "price" and value.startswith(_FORMULA_START):
            return RowProblem(n, f"'{name}' starts with '{value[0]}', which a spreadsheet would "
                                 "run as a formula; refusing the row")
    image = cells["image"].replace("\\", "/")
    if not image:
        return RowProblem(n, "no image given")
    rel = Path(image)
    if rel.is_absolute() or ".." in rel.parts:
        return RowProblem(n, f"image '{image}' is outside the catalog folder")
    if not (root / rel).is_file():
        return RowProblem(n, f"image '{image}' not found in {root}")
    currency = cells["currency"]
    price: Optional[float] = None
    if cells["price"]:
        parsed = parse_price(cells["price"])
        if parsed is None:
            return RowProblem(n, f"price '{cells['price']}' is not a number")
        price, symbol_currency = parsed
        currency = currency or symbol_currency
    tags = tuple(t.strip() for t in cells["tags"].split(";") if t.strip())
    return MetadataRow(n, rel.as_posix(), cells["title"], cells["category"], price, currency,
                       tags, cells["id"], cells["url"])


def parse_price(text: str) -> Optional[tuple[float, str]]:
    """'$1,299.50' -> (1299.5, 'USD'); '12,50 €' -> (12.5, 'EUR'); None if not a price."""
    s = text.strip()
    currency = ""
    for sym, code in _CURRENCY_SYMBOLS.items():
        if sym in s:
            currency = code
            s = s.replace(sym, "")
    s = s.replace(" ", "").replace("\u00a0", "")
    if "," in s and "." in s:
        s = s.replace(",", "")
    elif "," in s:
        s = s.replace(",", ".")
    if not re.fullmatch(r"\d+(\.\d+)?", s):
        return None
    value = float(s)
    return (value, currency) if math.isfinite(value) else None
