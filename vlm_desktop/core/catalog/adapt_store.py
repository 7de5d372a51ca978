"""What a catalog keeps of its adapted model, and the engine that embeds for it.

An adapted model (core/catalog/adapt.py) is a projection file in the catalog's own folder,
`<catalog>.db.adapt/adapter-<variant>.safetensors`, tied to the catalog (its id) and to the
base model (its model key and the digest of the base projection), with its metrics in the
file's metadata. Its vectors live in the store under their own model key
("VLM Lite (built-in)@<version>+<variant>"), beside the base model's, which are never
touched. One meta value names the variant in use; it is set only once every vector of the
variant is written, so search keeps working on the previous vectors until the switch, and a
process killed before it leaves the catalog exactly as it was. Revert clears it.

`bind_engine(store, engine)` is the one hook: everything that embeds or searches for a
catalog (the indexer, the window's catalog jobs, the CLI) passes the engine through it and
gets the adapted view when this catalog has one for this engine, else the engine itself.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

import numpy as np

from vlm_desktop.core.catalog.keys import model_key
from vlm_desktop.core.catalog.store import CatalogError, CatalogStore
from vlm_desktop.core.engine.lite.projection import Projection
from vlm_desktop.core.engine.protocol import Engine

log = logging.getLogger(__name__)

ACTIVE_META = "adapter"  # the variant in use ("" or absent: the base model)
FORMAT = "vlm-catalog-adapter/1"


class AdaptError(CatalogError):
    """Adapting (or reverting) this catalog cannot be done; the message says why."""


def adapt_dir(store: CatalogStore) -> Path:
    """The catalog's adaptation folder: adapters and cached tower features."""
    return store.path.with_name(store.path.name + ".adapt")


def adapter_path(store: CatalogStore, variant: str) -> Path:
    return adapt_dir(store) / f"adapter-{variant}.safetensors"


def projection_digest(proj: Projection) -> str:
    """Short hash of a projection's arrays: the base model's version an adapter is tied to."""
    h = hashlib.blake2b(digest_size=8)
    for a in (proj.mean, proj.w, proj.b, proj.visual_mean, proj.visual_basis):
        h.update(np.ascontiguousarray(a, np.float32).tobytes())
    h.update(repr((proj.alpha, proj.visual_power)).encode())
    return h.hexdigest()


def base_projection(engine: Engine) -> Optional[Projection]:
    """The trained projection of an un-adapted built-in engine; None for any other engine
    (other models, or an already adapted view), which adaptation does not apply to."""
    joint = getattr(engine, "joint", None)
    if getattr(engine, "variant", None) != "" or not callable(getattr(engine, "with_projection", None)):
        return None
    proj = getattr(joint, "projection", None)
    return proj if isinstance(proj, Projection) else None


def active_variant(store: CatalogStore) -> str:
    """The adapted variant this catalog searches with ("" = the base model)."""
    return store.get_meta(ACTIVE_META) or ""


@dataclass(frozen=True)
class Adapter:
    """A saved adapter: its projection and what it is tied to."""

    variant: str
    projection: Projection

    @property
    def info(self) -> dict[str, Any]:
        return dict(self.projection.meta.get("adapter", {}))

    def fits(self, store: CatalogStore, base_key: str, base: Projection) -> bool:
        """Made for this catalog and for exactly this base model."""
        info = self.info
        return (info.get("format") == FORMAT and info.get("catalog_id") == store.catalog_id
                and info.get("base_key") == base_key
                and info.get("base_projection") == projection_digest(base))


def load_adapter(store: CatalogStore, variant: str) -> Optional[Adapter]:
    """The saved adapter `variant` of this catalog; None when missing or unreadable."""
    path = adapter_path(store, variant)
    try:
        st = path.stat()
        return Adapter(variant, _read_projection(str(path), st.st_mtime_ns, st.st_size))
    except (OSError, ValueError, KeyError) as exc:
        log.warning("adapter %s unusable (%s); the base model is used", path, exc)
        return None


@lru_cache(maxsize=8)
def _read_projection(path: str, mtime_ns: int, size: int) -> Projection:
    # Keyed by mtime and size too: a re-adapted catalog writes a new file under a new name,
    # but a copied-over file must never be served from this cache.
    return Projection.load(Path(path))


def bind_engine(store: CatalogStore, engine: Engine) -> Engine:
    """`engine` as this catalog embeds with it: the adapted view when the catalog has an
    active adapter made for this engine, else the engine itself (idempotent)."""
    variant = active_variant(store)
    base = base_projection(engine) if variant else None
    if base is None:
        return engine
    adapter = load_adapter(store, variant)
    if adapter is None or not adapter.fits(store, model_key(engine), base):
        return engine
    view: Engine = engine.with_projection(adapter.projection, variant)  # type: ignore[attr-defined]
    return view


def switch_to(store: CatalogStore, variant: str) -> None:
    """Make `variant` the model this catalog searches with (one atomic meta write)."""
    store.set_meta(ACTIVE_META, variant)


def revert(store: CatalogStore) -> str:
    """Go back to the base model: clear the active variant, then drop that variant's vectors
    and file. The base model's vectors were never written to, so they are as they were.
    Returns the variant that was active ("" when there was none)."""
    variant = active_variant(store)
    switch_to(store, "")
    drop_inactive(store)
    return variant


def stored_variants(store: CatalogStore) -> set[str]:
    """Every adapted variant with vectors or an adapter file in this catalog (a cancelled
    run may have written some vectors of a variant it never switched to)."""
    found = {m.rsplit("+", 1)[1].split("#", 1)[0] for m in store.models() if "+adapt-" in m}
    folder = adapt_dir(store)
    found.update(p.stem[len("adapter-"):] for p in folder.glob("adapter-adapt-*.safetensors"))
    return found


def drop_inactive(store: CatalogStore) -> list[str]:
    """Drop every variant but the one in use (vectors, index files, adapter files); the
    base model's vectors and index stay. Returns the variants dropped."""
    active = active_variant(store)
    gone = sorted(v for v in stored_variants(store) if v != active)
    for variant in gone:
        drop_variant(store, variant)
    return gone


def drop_variant(store: CatalogStore, variant: str) -> None:
    """Delete a variant's vectors, its saved vector-index files and its adapter file (never
    the one in use)."""
    from vlm_desktop.core.catalog.vector_index import drop_unused_files

    if variant == active_variant(store):
        raise AdaptError(f"{variant} is the model this catalog searches with")
    with store.write() as c:  # variants are hex digests: no LIKE wildcards in them
        c.execute("DELETE FROM embeddings WHERE model LIKE ? OR model LIKE ?",
                  (f"%+{variant}", f"%+{variant}#visual"))
        c.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 "
                  "WHERE key='embeddings_generation'")
    adapter_path(store, variant).unlink(missing_ok=True)
    drop_unused_files(store)
