"""Rows out of CSV, JSON and JSON Lines text, one bad row at a time.

Metadata and purchase-history files come from spreadsheets, exports and scripts, so any row
may be broken. Every reader here yields `(row number, fields or None, reason)` and goes on
after a bad row:

- CSV: a cell over `MAX_CELL_CHARS` is reported for its row (the `csv` module's own
  field limit, which would otherwise end the whole file), and so is an opening quote that
  is never closed where it would swallow the rows after it; reading resumes on the next line.
- JSON: a value nested deeper than `MAX_DEPTH` (the decoder's recursion would end the whole
  file) is reported for its element; the others are decoded one by one.
- JSON Lines: each line on its own.

Row numbers are what a person sees: the CSV line where the row starts (header = line 1),
the JSON Lines line, the JSON array element counting from 1.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
from pathlib import Path
from typing import Callable, Iterator, Optional

MAX_CELL_CHARS = 131_072  # the csv module's default field limit, applied to every format
MAX_DEPTH = 32  # a product record is flat; its tags a list in it

Record = tuple[int, Optional[dict], str]  # row number, fields (None when unreadable), reason
RowCheck = Callable[[dict], bool]


class MetadataError(Exception):
    """A metadata or history file as a whole cannot be read (not just a bad row)."""


def read_text_file(path: str | Path, what: str) -> str:
    """The text of a regular file (UTF-8, undecodable bytes kept as surrogate escapes).

    Refuses folders, FIFOs and devices instead of blocking on them; errors name the file.
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise MetadataError(f"The {what} {path} is a folder, not a file.")
        if not stat.S_ISREG(mode):
            raise MetadataError(f"The {what} {path} is not a regular file (a FIFO or a device?).")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with open(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise MetadataError(f"The {what} {path} is not a regular file.")
            raw = fh.read()
    except FileNotFoundError:
        raise MetadataError(f"The {what} {path} does not exist.") from None
    except OSError as exc:
        raise MetadataError(f"Cannot read the {what} {path}: {exc.strerror or exc}.") from exc
    return raw.decode("utf-8-sig", errors="surrogateescape")


def has_bad_bytes(text: str) -> bool:
    """Whether `text` holds bytes that were not UTF-8 (kept as surrogate escapes)."""
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def too_long(value: str) -> Optional[str]:
    """The reason a cell is refused for its size, or None."""
    if len(value) <= MAX_CELL_CHARS:
        return None
    return f"{len(value) / 1e6:.1f} MB of text, over the {MAX_CELL_CHARS // 1024} KB allowed"


# --- CSV ----------------------------------------------------------------------------------


def csv_records(text: str, is_row: Optional[Callable[[list[str], list[str]], bool]] = None
                ) -> Iterator[Record]:
    """CSV rows as dicts keyed by the header; `is_row(header, cells)` says whether a line
    found inside a quoted cell is really a row of its own (an unclosed quote swallowed it)."""
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    # Only \r and \n end a CSV line (str.splitlines would also split at \u2028 and others).
    lines = list(io.StringIO(text, newline=""))
    header: Optional[list[str]] = None
    i = 0
    while i < len(lines):
        start = i
        reader = csv.reader(_lines_from(lines, start), dialect)
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            i = start + max(reader.line_num, 1)
            reason = ("a cell is larger than the 128 KB allowed" if "field limit" in str(exc)
                      else f"not valid CSV ({exc})")
            if header is None:
                raise MetadataError(f"The header (line 1) cannot be read: {reason}.") from exc
            yield start + 1, None, reason
            continue
        used = max(reader.line_num, 1)
        i = start + used
        if header is None:
            header = [h.strip() for h in row]
            continue
        if not any(cell.strip() for cell in row):
            continue
        swallowed = _swallowed(row, header, dialect, is_row) if used > 1 else None
        if swallowed is not None:
            i = start + 1  # the next line starts a row of its own: read it as one
            yield start + 1, None, (
                f"the quote that opens '{swallowed}' is never closed (it would take in the "
                "rows below it); fix the quote — the rows after it are read on their own")
            continue
        if len(row) > len(header):
            yield start + 1, None, f"{len(row)} cells but the header has {len(header)} columns"
            continue
        yield start + 1, dict(zip(header, row)), ""


def _lines_from(lines: list[str], start: int) -> Iterator[str]:
    for k in range(start, len(lines)):
        yield lines[k]


def _swallowed(row: list[str], header: list[str], dialect: type[csv.Dialect] | csv.Dialect,
               is_row: Optional[Callable[[list[str], list[str]], bool]]) -> Optional[str]:
    """The column whose multi-line cell holds a line that is a row of its own, if any."""
    if is_row is None:
        return None
    for col, cell in zip(header, row):
        if "\n" not in cell and "\r" not in cell:
            continue
        for line in re.split(r"\r\n|\r|\n", cell)[1:]:
            try:
                cells = next(csv.reader([line], dialect), [])
            except csv.Error:
                continue
            if len(cells) == len(header) and is_row(header, cells):
                return col
    return None


# --- JSON ---------------------------------------------------------------------------------


def json_records(text: str) -> Iterator[Record]:
    """The objects of a JSON list (or of `{"items": [...]}` / `{"products": [...]}`)."""
    if has_bad_bytes(text):
        raise MetadataError("The JSON file is not valid UTF-8 text.")
    try:
        data = json.loads(text)
    except RecursionError:
        yield from _json_records_one_by_one(text)  # some element is nested absurdly deep
        return
    except json.JSONDecodeError as exc:
        raise MetadataError(f"The JSON file cannot be parsed: {exc}") from exc
    if isinstance(data, dict):
        data = data.get("items", data.get("products"))
    if not isinstance(data, list):
        raise MetadataError("The JSON file must hold a list of objects (or {\"items\": [...]}).")
    for i, obj in enumerate(data, 1):
        yield (i, obj, "") if isinstance(obj, dict) else (i, None, "not an object")


def jsonl_records(text: str) -> Iterator[Record]:
    """One JSON object per line; blank lines are skipped, line numbers kept."""
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if has_bad_bytes(line):
            yield n, None, "undecodable bytes (the line is not UTF-8 text)"
            continue
        if _depth(line, 0, len(line)) > MAX_DEPTH:
            yield n, None, f"nested more than {MAX_DEPTH} levels deep"
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield n, None, f"not valid JSON ({exc.msg})"
            continue
        except RecursionError:  # pragma: no cover - _depth catches these first
            yield n, None, "nested too deeply"
            continue
        yield (n, obj, "") if isinstance(obj, dict) else (n, None, "not a JSON object")


_STRUCT = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.S)


def _depth(text: str, start: int, end: int) -> int:
    """The deepest nesting of brackets in text[start:end], strings skipped (no recursion)."""
    depth = deepest = 0
    for m in _STRUCT.finditer(text, start, end):
        ch = m.group()[0]
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _json_records_one_by_one(text: str) -> Iterator[Record]:
    """Walk the top-level list element by element, so one deep element is one bad row."""
    decoder = json.JSONDecoder()
    pos = _skip_ws(text, 0)
    if text.startswith("{", pos):
        pos = _find_items_list(text, pos, decoder)
    if not text.startswith("[", pos):
        raise MetadataError("The JSON file must hold a list of objects (or {\"items\": [...]}).")
    pos = _skip_ws(text, pos + 1)
    n = 0
    while not text.startswith("]", pos):
        n += 1
        end = _value_end(text, pos)
        if _depth(text, pos, end) > MAX_DEPTH:
            yield n, None, f"nested more than {MAX_DEPTH} levels deep"
        else:
            try:
                obj, _ = decoder.raw_decode(text[pos:end])
            except (json.JSONDecodeError, RecursionError) as exc:
                raise MetadataError(f"The JSON file cannot be parsed near element {n}: {exc}"
                                   ) from exc
            yield (n, obj, "") if isinstance(obj, dict) else (n, None, "not an object")
        pos = _skip_ws(text, end)
        if text.startswith(",", pos):
            pos = _skip_ws(text, pos + 1)
        elif not text.startswith("]", pos):
            raise MetadataError(f"The JSON file cannot be parsed after element {n}.")


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _value_end(text: str, pos: int) -> int:
    """Where the JSON value starting at `pos` ends (brackets matched without recursion)."""
    if pos >= len(text):
        raise MetadataError("The JSON file ends in the middle of its list.")
    if text[pos] not in "[{":
        m = re.compile(r'"(?:[^"\\]|\\.)*"|[^,\]}\s]+', re.S).match(text, pos)
        if m is None:
            raise MetadataError(f"The JSON file cannot be parsed at character {pos}.")
        return m.end()
    depth = 0
    for m in _STRUCT.finditer(text, pos):
        ch = m.group()[0]
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
            if depth == 0:
                return m.end()
    raise MetadataError("The JSON file ends before its brackets close.")


def _find_items_list(text: str, pos: int, decoder: json.JSONDecoder) -> int:
    """In a top-level object, the position of the "items" (or "products") list."""
    pos = _skip_ws(text, pos + 1)
    while pos < len(text) and text[pos] != "}":
        try:
            key, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise MetadataError(f"The JSON file cannot be parsed: {exc}") from exc
        pos = _skip_ws(text, pos)
        if not text.startswith(":", pos):
            raise MetadataError(f"The JSON file cannot be parsed at character {pos}.")
        pos = _skip_ws(text, pos + 1)
        if key in ("items", "products"):
            return pos
        pos = _skip_ws(text, _value_end(text, pos))
        if text.startswith(",", pos):
            pos = _skip_ws(text, pos + 1)
    raise MetadataError("The JSON file must hold a list of objects (or {\"items\": [...]}).")
