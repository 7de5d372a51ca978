"""CatalogStore: the SQLite database that is the source of truth for one catalog.

One database file per catalog, in WAL mode so the GUI can read while the indexer writes.
Connections are per thread (sqlite3 objects must not cross threads): the indexer writes
from the worker thread, the GUI and the search code read from theirs, each through its own
connection to the same file. Writes go through `write()`, one short IMMEDIATE transaction
each, so a killed process loses at most the batch it was writing and never half of one.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional, Sequence

import numpy as np

from vlm_desktop.core.catalog.schema import CatalogError, migrate
from vlm_desktop.core.messages import say


@dataclass(frozen=True)
class CatalogItem:
    """One product: its file (relative to the catalog root) and its metadata."""

    id: int
    path: str
    title: str
    category: str = ""
    price: Optional[float] = None
    currency: str = ""
    tags: tuple[str, ...] = ()
    url: str = ""
    external_id: str = ""
    size: int = 0
    mtime: float = 0.0
    content_hash: str = ""


@dataclass(frozen=True)
class Purchase:
    """One order line of the purchase history."""

    id: int
    item_id: int
    timestamp: float
    quantity: int


@dataclass(frozen=True)
class QuarantineEntry:
    """A file that could not be used, and why."""

    path: str
    reason: str
    when: float


@dataclass(frozen=True)
class CatalogStats:
    items: int
    indexed: int
    quarantined: int
    purchases: int


_ITEM_COLUMNS = (
    "id, path, title, category, price, currency, tags, url, external_id, size, mtime, content_hash"
)


def _row_to_item(row: Sequence) -> CatalogItem:
    tags = tuple(t for t in (row[6] or "").split(";") if t)
    return CatalogItem(
        id=int(row[0]), path=row[1], title=row[2], category=row[3],
        price=None if row[4] is None else float(row[4]), currency=row[5], tags=tags,
        url=row[7], external_id=row[8], size=int(row[9]), mtime=float(row[10]),
        content_hash=row[11],
    )


class CatalogStore:
    """One catalog database. Safe to share between threads: each thread gets its own connection."""

    def __init__(self, path: str | Path, root: str | Path | None = None) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._migrate()
        if root is not None:
            self.set_meta("root", str(Path(root).resolve()))
        if self.get_meta("catalog_id") is None:
            self.set_meta("catalog_id", uuid.uuid4().hex)

    # --- connections ---------------------------------------------------------------------

    def conn(self) -> sqlite3.Connection:
        """This thread's connection (created on first use)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None,
                                       check_same_thread=True)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA foreign_keys=ON")
                conn.execute("PRAGMA busy_timeout=30000")
                # NORMAL is durable across process kills in WAL mode (only an OS crash
                # can lose the last transactions), and much faster than FULL.
                conn.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.DatabaseError as exc:
                raise CatalogError(say("Cannot open catalog {path}: {error}", path=self.path,
                                       error=exc)) from exc
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; committed on success, rolled back on any exception."""
        conn = self.conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        """Close this thread's connection, and every other thread's that is idle."""
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            try:
                conn.close()
            except sqlite3.ProgrammingError:
                pass  # belongs to another thread that is still alive; it closes with it
        self._local = threading.local()

    def _migrate(self) -> None:
        migrate(self.conn(), self.path)

    @property
    def schema_version(self) -> int:
        return int(self.conn().execute("PRAGMA user_version").fetchone()[0])

    # --- meta ----------------------------------------------------------------------------

    def get_meta(self, key: str) -> Optional[str]:
        row = self.conn().execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self.write() as c:
            c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    @property
    def root(self) -> Path:
        """The folder item paths are relative to."""
        root = self.get_meta("root")
        if root is None:
            raise CatalogError(say("Catalog {path} has no image folder yet; import one first.",
                                   path=self.path))
        return Path(root)

    def abs_path(self, item: CatalogItem) -> Path:
        return self.root / item.path

    @property
    def catalog_id(self) -> str:
        return self.get_meta("catalog_id") or ""

    # --- items ---------------------------------------------------------------------------

    def item(self, item_id: int) -> Optional[CatalogItem]:
        row = self.conn().execute(
            f"SELECT {_ITEM_COLUMNS} FROM items WHERE id=?", (int(item_id),)
        ).fetchone()
        return None if row is None else _row_to_item(row)

    def items(self, ids: Iterable[int]) -> dict[int, CatalogItem]:
        """Items by id (missing ids are left out)."""
        ids = [int(i) for i in ids]
        out: dict[int, CatalogItem] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.conn().execute(
                f"SELECT {_ITEM_COLUMNS} FROM items WHERE id IN ({marks})", chunk
            ):
                out[int(row[0])] = _row_to_item(row)
        return out

    def all_items(self, limit: int = -1, offset: int = 0) -> list[CatalogItem]:
        rows = self.conn().execute(
            f"SELECT {_ITEM_COLUMNS} FROM items ORDER BY id LIMIT ? OFFSET ?", (limit, offset)
        )
        return [_row_to_item(r) for r in rows]

    def item_by_path(self, path: str) -> Optional[CatalogItem]:
        row = self.conn().execute(
            f"SELECT {_ITEM_COLUMNS} FROM items WHERE path=?", (path,)
        ).fetchone()
        return None if row is None else _row_to_item(row)

    def item_by_external_id(self, external_id: str) -> Optional[CatalogItem]:
        row = self.conn().execute(
            f"SELECT {_ITEM_COLUMNS} FROM items WHERE external_id=? AND external_id!='' LIMIT 1",
            (external_id,),
        ).fetchone()
        return None if row is None else _row_to_item(row)

    def file_states(self) -> dict[str, tuple[int, int, float, str]]:
        """path -> (id, size, mtime, content hash) for every item; used to diff a folder scan."""
        return {
            r[0]: (int(r[1]), int(r[2]), float(r[3]), r[4])
            for r in self.conn().execute("SELECT path, id, size, mtime, content_hash FROM items")
        }

    def categories(self) -> list[str]:
        rows = self.conn().execute(
            "SELECT DISTINCT category FROM items WHERE category!='' ORDER BY category"
        )
        return [r[0] for r in rows]

    def filter_ids(self, category: str | None = None, min_price: float | None = None,
                   max_price: float | None = None) -> Optional[set[int]]:
        """Ids passing the filters, or None when there is no filter (everything passes)."""
        where, args = _filter_sql(category, min_price, max_price)
        if not where:
            return None
        rows = self.conn().execute(f"SELECT id FROM items WHERE {where}", args)
        return {int(r[0]) for r in rows}

    # --- keyword search ------------------------------------------------------------------

    def keyword_search(self, query: str, limit: int = 50, category: str | None = None,
                       min_price: float | None = None, max_price: float | None = None
                       ) -> list[tuple[int, float]]:
        """(item id, BM25 score; higher is better) for FTS5 matches of the query's words."""
        match = fts_query(query)
        if not match:
            return []
        where, args = _filter_sql(category, min_price, max_price, prefix="i.")
        extra = f" AND {where}" if where else ""
        # bm25() is lower-is-better and negative; weight titles above tags above category.
        rows = self.conn().execute(
            "SELECT f.rowid, bm25(items_fts, 3.0, 1.5, 1.0) AS s FROM items_fts f "
            f"JOIN items i ON i.id=f.rowid WHERE items_fts MATCH ?{extra} ORDER BY s LIMIT ?",
            [match, *args, int(limit)],
        )
        return [(int(r[0]), -float(r[1])) for r in rows]

    # --- embeddings ----------------------------------------------------------------------

    def embedding_generation(self) -> int:
        return int(self.get_meta("embeddings_generation") or 0)

    def put_embeddings(self, conn: sqlite3.Connection, model: str,
                       rows: Sequence[tuple[int, str, np.ndarray]]) -> None:
        """Store (item id, content hash, vector) rows inside the caller's transaction."""
        conn.executemany(
            "INSERT OR REPLACE INTO embeddings(item_id, model, dim, vector, content_hash) "
            "VALUES (?, ?, ?, ?, ?)",
            [(int(i), model, int(v.shape[0]), np.ascontiguousarray(v, np.float32).tobytes(), h)
             for i, h, v in rows],
        )
        conn.execute(
            "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key='embeddings_generation'"
        )

    def load_embeddings(self, model: str) -> tuple[np.ndarray, np.ndarray]:
        """(item ids ascending, float32 matrix) of current embeddings for `model`."""
        rows = self.conn().execute(
            "SELECT e.item_id, e.dim, e.vector FROM embeddings e JOIN items i ON i.id=e.item_id "
            "WHERE e.model=? AND e.content_hash=i.content_hash ORDER BY e.item_id",
            (model,),
        ).fetchall()
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        dim = int(rows[0][1])
        ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
        mat = np.frombuffer(b"".join(r[2] for r in rows), np.float32).reshape(len(rows), dim)
        return ids, mat

    def embedding(self, item_id: int, model: str) -> Optional[np.ndarray]:
        row = self.conn().execute(
            "SELECT vector FROM embeddings WHERE item_id=? AND model=?", (int(item_id), model)
        ).fetchone()
        return None if row is None else np.frombuffer(row[0], np.float32).copy()

    def embedding_count(self, model: str) -> int:
        return int(self.conn().execute(
            "SELECT count(*) FROM embeddings e JOIN items i ON i.id=e.item_id "
            "WHERE e.model=? AND e.content_hash=i.content_hash", (model,)
        ).fetchone()[0])

    def pending_items(self, model: str, limit: int, exclude: Iterable[int] = ()
                      ) -> list[CatalogItem]:
        """Items with no current embedding for `model`, oldest first."""
        excl = [int(i) for i in exclude]
        marks = ",".join("?" * len(excl))
        extra = f" AND i.id NOT IN ({marks})" if excl else ""
        cols = ", ".join("i." + c.strip() for c in _ITEM_COLUMNS.split(","))
        rows = self.conn().execute(
            f"SELECT {cols} FROM items i LEFT JOIN embeddings e "
            "ON e.item_id=i.id AND e.model=? AND e.content_hash=i.content_hash "
            f"WHERE e.item_id IS NULL{extra} ORDER BY i.id LIMIT ?",
            [model, *excl, int(limit)],
        )
        return [_row_to_item(r) for r in rows]

    def pending_count(self, model: str) -> int:
        return int(self.conn().execute(
            "SELECT count(*) FROM items i LEFT JOIN embeddings e "
            "ON e.item_id=i.id AND e.model=? AND e.content_hash=i.content_hash "
            "WHERE e.item_id IS NULL", (model,)
        ).fetchone()[0])

    def models(self) -> list[str]:
        return [r[0] for r in self.conn().execute("SELECT DISTINCT model FROM embeddings")]

    # --- quarantine ----------------------------------------------------------------------

    def quarantine(self) -> list[QuarantineEntry]:
        rows = self.conn().execute("SELECT path, reason, at FROM quarantine ORDER BY path")
        return [QuarantineEntry(r[0], r[1], float(r[2])) for r in rows]

    def clear_quarantine(self) -> int:
        """Forget every quarantined file so the next refresh imports and tries it again."""
        with self.write() as c:
            return int(c.execute("DELETE FROM quarantine").rowcount)

    def quarantine_states(self) -> dict[str, tuple[int, float]]:
        return {r[0]: (int(r[1]), float(r[2]))
                for r in self.conn().execute("SELECT path, size, mtime FROM quarantine")}

    def quarantine_items(self, conn: sqlite3.Connection,
                         entries: Sequence[tuple[CatalogItem, str]]) -> None:
        """Move failed items to the quarantine list, inside the caller's transaction."""
        now = time.time()
        conn.executemany(
            "INSERT OR REPLACE INTO quarantine(path, reason, at, size, mtime) VALUES (?,?,?,?,?)",
            [(it.path, reason, now, it.size, it.mtime) for it, reason in entries],
        )
        conn.executemany("DELETE FROM items WHERE id=?", [(it.id,) for it, _ in entries])

    # --- purchases -----------------------------------------------------------------------

    def add_purchases(self, rows: Sequence[tuple[int, float, int]]) -> None:
        with self.write() as c:
            c.executemany(
                "INSERT INTO purchases(item_id, timestamp, quantity) VALUES (?, ?, ?)",
                [(int(i), float(t), int(q)) for i, t, q in rows],
            )

    def purchases(self) -> list[Purchase]:
        rows = self.conn().execute(
            "SELECT id, item_id, timestamp, quantity FROM purchases ORDER BY timestamp"
        )
        return [Purchase(int(r[0]), int(r[1]), float(r[2]), int(r[3])) for r in rows]

    def clear_purchases(self) -> None:
        with self.write() as c:
            c.execute("DELETE FROM purchases")

    # --- summary -------------------------------------------------------------------------

    def stats(self, model: str | None = None) -> CatalogStats:
        c = self.conn()
        items = int(c.execute("SELECT count(*) FROM items").fetchone()[0])
        if model is None:
            indexed = int(c.execute(
                "SELECT count(DISTINCT e.item_id) FROM embeddings e JOIN items i "
                "ON i.id=e.item_id AND e.content_hash=i.content_hash").fetchone()[0])
        else:
            indexed = self.embedding_count(model)
        quarantined = int(c.execute("SELECT count(*) FROM quarantine").fetchone()[0])
        purchases = int(c.execute("SELECT count(*) FROM purchases").fetchone()[0])
        return CatalogStats(items, indexed, quarantined, purchases)

    def integrity_ok(self) -> bool:
        return self.conn().execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _filter_sql(category: str | None, min_price: float | None, max_price: float | None,
                prefix: str = "") -> tuple[str, list]:
    parts: list[str] = []
    args: list = []
    if category:
        parts.append(f"{prefix}category = ?")
        args.append(category)
    if min_price is not None:
        parts.append(f"{prefix}price >= ?")
        args.append(float(min_price))
    if max_price is not None:
        parts.append(f"{prefix}price <= ?")
        args.append(float(max_price))
    return " AND ".join(parts), args


def fts_query(text: str) -> str:
    """A safe FTS5 query: each word quoted (no operator injection), words OR-ed, prefix match."""
    import re

    words = re.findall(r"\w+", text.lower())
    return " OR ".join(f'"{w}"*' for w in words)
