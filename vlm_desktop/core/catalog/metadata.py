"""Product metadata files (CSV, JSON, JSON Lines): parse, validate row by row, report problems.

A bad row never stops an import: it is reported with its row number and reason and the
other rows import. Row numbers are what a person sees in a spreadsheet (CSV header = row 1)
or an editor (JSON Lines line number); JSON arrays count elements from 1.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping, Optional

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


class MetadataError(Exception):
    """The metadata file as a whole cannot be read (not just a bad row)."""


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
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise MetadataError(f"Cannot read metadata file {path}: {exc.strerror or exc}") from exc
    # surrogateescape keeps undecodable bytes visible so the rows holding them can be named.
    text = raw.decode("utf-8-sig", errors="surrogateescape")
    suffix = path.suffix.lower()
    if suffix == ".jsonl" or suffix == ".ndjson":
        records = _jsonl_records(text)
    elif suffix == ".json":
        records = _json_records(text)
    else:
        records = _csv_records(text)
    return _validate(records, Path(root), mapping or {})


Record = tuple[int, Optional[dict], str]  # row number, fields (None when unreadable), reason


def _csv_records(text: str) -> Iterator[Record]:
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    header: Optional[list[str]] = None
    for row in reader:
        if header is None:
            header = [h.strip() for h in row]
            continue
        if not any(cell.strip() for cell in row):
            continue
        n = reader.line_num
        if len(row) > len(header):
            yield n, None, f"{len(row)} cells but the header has {len(header)} columns"
            continue
        yield n, dict(zip(header, row)), ""


def _json_records(text: str) -> Iterator[Record]:
    if _has_bad_bytes(text):
        raise MetadataError("The JSON file is not valid UTF-8 text.")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MetadataError(f"The JSON file cannot be parsed: {exc}") from exc
    if isinstance(data, dict):
        data = data.get("items", data.get("products"))
    if not isinstance(data, list):
        raise MetadataError("The JSON file must hold a list of objects (or {\"items\": [...]}).")
    for i, obj in enumerate(data, 1):
        if isinstance(obj, dict):
            yield i, obj, ""
        else:
            yield i, None, "not an object"


def _jsonl_records(text: str) -> Iterator[Record]:
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if _has_bad_bytes(line):
            yield n, None, "undecodable bytes (the line is not UTF-8 text)"
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield n, None, f"not valid JSON ({exc.msg})"
            continue
        yield (n, obj, "") if isinstance(obj, dict) else (n, None, "not a JSON object")


def _has_bad_bytes(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


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
            rows[parsed.image] = parsed
    return MetadataReport(rows, tuple(problems), columns)


def _cell(rec: dict, columns: Mapping[str, str], name: str) -> str:
    col = columns.get(name)
    value = rec.get(col) if col is not None else None
    if value is None:
        return ""
    if isinstance(value, list):  # JSON tags may be a list
        value = ";".join(str(v) for v in value)
    return str(value).strip()


def _parse_row(n: int, rec: dict, columns: Mapping[str, str], root: Path
               ) -> MetadataRow | RowProblem:
    cells = {name: _cell(rec, columns, name) for name in FIELDS}
    for name, value in cells.items():
        if _has_bad_bytes(value):
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
