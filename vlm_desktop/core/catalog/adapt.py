"""Teach the built-in model a catalog: fine-tune its joint space on the catalog's own
images and titles, measure before and after, and switch the catalog to it.

The towers stay frozen; only the trained projection (engine/lite/projection.py) moves,
starting from the shipped one, with the same symmetric InfoNCE loop that trained it
(`projection.fit`) on (image, title + tags + category) pairs. A held-out share of the
items, stratified by category and drawn with a fixed seed, is never trained on: training
stops early on its text->image recall@10, and the before/after figures are measured on it.

Steps (`adapt_catalog`): read each item's tower features (cached, adapt_features.py), train,
save the adapter beside the catalog (adapt_store.py), write every item's vectors under the
adapter's own model key from the cached features, and only then switch the catalog to it.
Until that last one-line write the catalog searches with the previous model, so a cancel or
a killed process changes nothing a user sees. torch is imported only inside training.
"""

from __future__ import annotations

import hashlib
import logging
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from vlm_desktop.core.cancel import Cancelled, JobState
from vlm_desktop.core.catalog import adapt_features, adapt_store
from vlm_desktop.core.catalog.adapt_store import AdaptError
from vlm_desktop.core.catalog.store import CatalogItem, CatalogStore
from vlm_desktop.core.messages import say
from vlm_desktop.core.engine.lite import projection as pj
from vlm_desktop.core.engine.protocol import Engine

log = logging.getLogger(__name__)

MIN_ITEMS = 20  # fewer items than this cannot be split into a training and a test share
WRITE_CHUNK = 512
MIN_BATCH, STEPS_PER_EPOCH = 16, 8


@dataclass(frozen=True)
class AdaptConfig:
    """How a catalog is adapted (the defaults are what the CLI and the window use)."""

    epochs: int = 30
    held_out: float = 0.2  # share of the items, per category, never trained on
    max_held_out: int = 2000  # enough to measure; the rest trains
    seed: int = 0
    patience: int = 4  # epochs without a better held-out recall@10 before stopping
    batch: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.05
    temperature: float = 0.05

    def fit_config(self, pairs: int) -> pj.FitConfig:
        """`projection.fit`'s settings for `pairs` training pairs: a small catalog gets
        smaller batches, so that an epoch still takes several steps."""
        batch = min(self.batch, max(MIN_BATCH, pairs // STEPS_PER_EPOCH))
        return pj.FitConfig(epochs=self.epochs, batch=batch, lr=self.lr,
                            weight_decay=self.weight_decay, temperature=self.temperature,
                            seed=self.seed)


@dataclass(frozen=True)
class EpochProgress:
    """One finished epoch, as the window plots it (`JobState.partial`)."""

    epoch: int
    epochs: int
    loss: float
    held_out_r10: float


@dataclass(frozen=True)
class HeldOut:
    """The held-out items as the measures need them."""

    probs: np.ndarray  # [H, C]
    pooled: np.ndarray  # [H, F]
    queries: np.ndarray  # [H, D] title vectors
    groups: np.ndarray  # [H] items with the same title share a group
    categories: np.ndarray  # [H] str


@dataclass(frozen=True)
class AdaptData:
    """Everything training needs, as arrays (a DDP run hands it to every rank in a file)."""

    train: pj.FitData
    held: HeldOut
    labels: np.ndarray  # [C, D] label embeddings (the ConSE prior)

    def save(self, path: Path) -> None:
        t = self.train
        texts = np.stack([np.asarray(x, np.float32) for x in t.texts])
        arrays: dict[str, Any] = {"pooled": t.pooled, "conse": t.conse, "texts": texts, "group": t.group,
                  "h_probs": self.held.probs, "h_pooled": self.held.pooled,
                  "h_queries": self.held.queries, "h_groups": self.held.groups,
                  "h_categories": self.held.categories.astype(str), "labels": self.labels}
        tmp = path.with_name(path.name + ".tmp.npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(tmp, **arrays)
        tmp.replace(path)

    @staticmethod
    def load(path: Path) -> "AdaptData":
        with np.load(path) as z:
            train = pj.FitData(z["pooled"], z["conse"], list(z["texts"]), z["group"])
            held = HeldOut(z["h_probs"], z["h_pooled"], z["h_queries"], z["h_groups"],
                           z["h_categories"])
            return AdaptData(train, held, z["labels"])


@dataclass(frozen=True)
class AdaptReport:
    """Before/after figures on the held-out items, and what the run did."""

    before: dict[str, float]
    after: dict[str, float]
    chance: dict[str, float]
    held_out: int
    trained: int
    epochs: int  # epochs run
    best_epoch: int  # the epoch kept (0 = no epoch beat the base model)
    seconds: float
    seconds_per_epoch: float
    peak_memory_mb: Optional[float]  # the process's peak resident size (None: unknown)
    variant: str = ""  # the adapter now in use ("" when nothing was applied)
    history: tuple[dict[str, float], ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["history"] = [dict(h) for h in self.history]
        return _finite(out)


def _finite(value: Any) -> Any:
    """JSON-safe: NaN (the loss before the first epoch) becomes None."""
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


# --- texts and the split ---------------------------------------------------------------------

def item_texts(item: CatalogItem) -> tuple[str, str]:
    """(query, description): the item's one-line title (the file name when it has none),
    and its title with tags and category, the two ways a catalog row describes it."""
    title = item.title.strip() or Path(item.path).stem.replace("_", " ").replace("-", " ")
    extra = [t for t in item.tags if t and t.lower() not in title.lower()][:5]
    if item.category and item.category.lower() not in title.lower():
        extra.append(item.category)
    return title, ", ".join([title, *extra])


def split(categories: Sequence[str] | np.ndarray, share: float, cap: int, seed: int) -> np.ndarray:
    """Boolean mask of the held-out items: `share` of each category (at least one where a
    category has two or more items), at most about `cap` in all, drawn with `seed`."""
    cats = np.asarray(categories, dtype=object)
    share = min(share, cap / max(1, len(cats)))
    rng = np.random.default_rng(seed)
    held = np.zeros(len(cats), bool)
    for c in sorted(set(cats.tolist())):
        idx = rng.permutation(np.flatnonzero(cats == c))
        if len(idx) >= 2:
            held[idx[:max(1, int(round(share * len(idx))))]] = True
    return held


# --- measures -------------------------------------------------------------------------------

def group_recall(queries: np.ndarray, items: np.ndarray, groups: np.ndarray, k: int) -> float:
    """Share of queries with an item of their own group (their item, or one titled the
    same) among their k nearest items."""
    sims = queries @ items.T
    top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return float(np.mean((groups[top] == groups[:, None]).any(axis=1)))


def measure(proj: pj.Projection, held: HeldOut, labels: np.ndarray) -> dict[str, float]:
    """Held-out text->image recall@1/@10 (a title finds its item), image->image precision@5
    by category in the space similar items use (visual) and in the joint space."""
    joint = proj.image(held.probs.astype(np.float32), held.pooled.astype(np.float32), labels)
    visual = proj.visual(held.pooled.astype(np.float32))
    return {"t2i_r1": group_recall(held.queries, joint, held.groups, 1),
            "t2i_r10": group_recall(held.queries, joint, held.groups, 10),
            "i2i_p5": pj.precision_at(visual, held.categories, 5),
            "i2i_p5_joint": pj.precision_at(joint, held.categories, 5)}


def chance(held: HeldOut) -> dict[str, float]:
    """What random rankings score on the same measures."""
    n = len(held.groups)
    _, inv, counts = np.unique(held.groups, return_inverse=True, return_counts=True)
    g = counts[inv].astype(np.float64)  # each query's group size

    def hit(k: int) -> float:  # P(a random k-subset holds one of g items)
        k = min(k, n)
        return float(np.mean([1.0 - math.comb(n - int(x), k) / math.comb(n, k) for x in g]))

    _, c = np.unique(held.categories, return_counts=True)
    p5 = float(np.sum(c * (c - 1)) / (n * (n - 1))) if n > 1 else 0.0
    return {"t2i_r1": hit(1), "t2i_r10": hit(10), "i2i_p5": p5, "i2i_p5_joint": p5}


# --- preparing ------------------------------------------------------------------------------

def prepare(store: CatalogStore, engine: Engine, config: AdaptConfig,
            state: Optional[JobState] = None, encode: bool = True
            ) -> tuple[AdaptData, adapt_features.Features]:
    """The training and held-out arrays of this catalog (features cached), and the features.
    With `encode` False the towers are not run: only items whose features and texts are
    cached take part (`encode_step` cached them on the model's thread)."""
    state = state or JobState()
    base = adapt_store.base_projection(engine)
    if base is None:
        raise AdaptError("Only the built-in model (VLM Lite) with its trained joint space can "
                         "be adapted to a catalog; choose it as the Catalog Search Model.")
    from vlm_desktop.core.catalog.indexer import model_key

    key = model_key(engine)
    folder = adapt_store.adapt_dir(store)
    items = store.all_items()
    feats = adapt_features.item_features(store, engine, folder, key, items, state) if encode \
        else adapt_features.merge_parts(folder, key)
    rows = feats.current(items)
    usable = [it for it in items if it.id in rows]
    pairs = [item_texts(it) for it in usable]
    vecs = adapt_features.text_vectors(engine if encode else None, folder, key,
                                       [t for pair in pairs for t in pair])
    if len(usable):
        ok = ~np.isnan(vecs).any(axis=1).reshape(-1, 2).any(axis=1)
        usable = [it for it, good in zip(usable, ok) if good]
        pairs = [p for p, good in zip(pairs, ok) if good]
        vecs = vecs.reshape(-1, 2, vecs.shape[1])[ok].reshape(-1, vecs.shape[1])
    if len(usable) < MIN_ITEMS:
        raise AdaptError(f"The catalog has {len(usable)} usable items; adapting needs at "
                         f"least {MIN_ITEMS} with images.")
    state.progress(1.0, say("Reading titles…"))
    texts = pairs
    query, desc = vecs[0::2], vecs[1::2]
    r = np.array([rows[it.id] for it in usable])
    probs, pooled = feats.probs[r].astype(np.float32), feats.pooled[r].astype(np.float32)
    _, groups = np.unique([q.lower() for q, _ in texts], return_inverse=True)
    cats = np.array([it.category or "" for it in usable])
    held = split(cats, config.held_out, config.max_held_out, config.seed)
    if held.sum() < 2 or (~held).sum() < 2:
        raise AdaptError("Too few items per category to hold some out for measuring.")
    labels = engine.joint.labels  # type: ignore[attr-defined]
    tr = ~held
    train = pj.FitData(pooled[tr], pj.conse(probs[tr], labels),
                       [np.stack([a, b]) for a, b in zip(query[tr], desc[tr])], groups[tr])
    out = HeldOut(probs[held], pooled[held], query[held], groups[held], cats[held])
    return AdaptData(train, out, labels), feats


def encode_step(store: CatalogStore, engine: Engine, state: Optional[JobState] = None,
                budget_s: float = 0.75, tried: Optional[set[int]] = None) -> bool:
    """The model's part of adapting, in steps of about `budget_s`: compute the tower
    features and text vectors not cached yet (an indexed catalog has its features already).
    True once nothing is left, when `adapt_catalog(..., encode=False)` needs no model
    thread. `tried` (kept by the caller between steps) skips files already tried."""
    from vlm_desktop.core.catalog.indexer import model_key

    state = state or JobState()
    if adapt_store.base_projection(engine) is None:
        raise AdaptError("Only the built-in model (VLM Lite) with its trained joint space can "
                         "be adapted to a catalog; choose it as the Catalog Search Model.")
    deadline = time.monotonic() + budget_s
    key, folder, items = model_key(engine), adapt_store.adapt_dir(store), store.all_items()
    tried = tried if tried is not None else set()
    feats = adapt_features.item_features(store, engine, folder, key, items, state, deadline,
                                         tried)
    rows = feats.current(items)
    if any(it.id not in rows and it.id not in tried for it in items):
        return False
    texts = [t for it in items if it.id in rows for t in item_texts(it)]
    state.progress(1.0, say("Reading titles ({n} texts)…", n=len(texts)))
    vecs = adapt_features.text_vectors(engine, folder, key, texts, deadline)
    return not np.isnan(vecs).any()


# --- training -------------------------------------------------------------------------------

def train(data: AdaptData, base: pj.Projection, config: AdaptConfig,
          on_epoch: Optional[Callable[[EpochProgress], None]] = None,
          cancelled: Callable[[], bool] = lambda: False, rank: int = 0, world: int = 1
          ) -> tuple[pj.Projection, list[dict[str, float]]]:
    """Fine-tune `base` on the training pairs, keeping the epoch with the best held-out
    text->image recall@10 (the base itself when no epoch beats it)."""
    held = data.held

    def score(p: pj.Projection) -> float:
        z = p.image(held.probs, held.pooled, data.labels)
        return group_recall(held.queries, z, held.groups, 10)

    def progress(epoch: int, loss: float, s: Optional[float]) -> None:
        if on_epoch is not None:
            on_epoch(EpochProgress(epoch, config.epochs, loss, float(s or 0.0)))

    return pj.fit(data.train, config.fit_config(len(data.train.group)), start=base, score=score, progress=progress,
                  cancelled=cancelled, patience=config.patience, rank=rank, world=world)


def report_of(data: AdaptData, base: pj.Projection, proj: pj.Projection,
              history: list[dict[str, float]], seconds: float, train_s: float
              ) -> AdaptReport:
    epochs = max(0, len(history) - 1)
    best = max(history, key=lambda h: (h.get("score", -1.0), -h["epoch"]))
    return AdaptReport(before=measure(base, data.held, data.labels),
                       after=measure(proj, data.held, data.labels), chance=chance(data.held),
                       held_out=len(data.held.groups), trained=len(data.train.group),
                       epochs=epochs, best_epoch=int(best["epoch"]), seconds=seconds,
                       seconds_per_epoch=train_s / max(1, epochs),
                       peak_memory_mb=peak_rss_mb(), history=tuple(history))


def peak_rss_mb() -> Optional[float]:
    """This process's peak resident memory in MB (None where the OS does not say)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes vs KiB


# --- applying -------------------------------------------------------------------------------

def variant_of(store: CatalogStore, base: pj.Projection, proj: pj.Projection) -> str:
    """A short id of this adapter: catalog, base and the trained arrays."""
    h = hashlib.blake2b(digest_size=6)
    h.update(store.catalog_id.encode())
    h.update(adapt_store.projection_digest(base).encode())
    h.update(adapt_store.projection_digest(proj).encode())
    return "adapt-" + h.hexdigest()


def save_adapter(store: CatalogStore, engine: Engine, base: pj.Projection,
                 proj: pj.Projection, report: AdaptReport, config: AdaptConfig) -> str:
    """Write the adapter file (tied to catalog and base model, metrics in its metadata)."""
    from vlm_desktop.core.catalog.indexer import model_key

    variant = variant_of(store, base, proj)
    meta = {**base.meta, "adapter": {
        "format": adapt_store.FORMAT, "variant": variant, "catalog_id": store.catalog_id,
        "base_key": model_key(engine), "base_projection": adapt_store.projection_digest(base),
        "config": asdict(config), "created": time.time(),
        "metrics": {k: v for k, v in report.as_json().items() if k != "history"}}}
    adapted = pj.Projection(proj.alpha, proj.mean, proj.w, proj.b, proj.visual_mean,
                            proj.visual_basis, proj.visual_power, meta)
    adapted.save(adapt_store.adapter_path(store, variant))
    return variant


def write_vectors(store: CatalogStore, engine: Engine, variant: str,
                  feats: adapt_features.Features, state: Optional[JobState] = None) -> int:
    """Every item's vectors under the adapter's model key, from the cached features (items
    without features are left to the indexer, which embeds them with the adapted view)."""
    from vlm_desktop.core.catalog.indexer import model_key

    adapter = adapt_store.load_adapter(store, variant)
    if adapter is None:
        raise AdaptError(f"The adapter {variant} could not be read back.")
    view = engine.with_projection(adapter.projection, variant)  # type: ignore[attr-defined]
    key = model_key(view)
    items = store.all_items()
    rows = feats.current(items)
    todo = [it for it in items if it.id in rows]
    for s in range(0, len(todo), WRITE_CHUNK):
        if state is not None:
            state.check()
            state.progress(s / max(1, len(todo)),
                           say("Writing vectors {done}/{total}", done=s, total=len(todo)))
        part = todo[s:s + WRITE_CHUNK]
        r = np.array([rows[it.id] for it in part])
        spaces = view.spaces(feats.probs[r].astype(np.float32), feats.pooled[r].astype(np.float32))
        with store.write() as c:
            for space, vecs in spaces.items():
                store.put_embeddings(c, key if space == "joint" else f"{key}#{space}",
                                     [(it.id, it.content_hash, vecs[i]) for i, it in enumerate(part)])
    return len(todo)


def adapt_catalog(store: CatalogStore, engine: Engine, config: AdaptConfig = AdaptConfig(),
                  state: Optional[JobState] = None,
                  on_epoch: Optional[Callable[[EpochProgress], None]] = None,
                  apply: bool = True, encode: bool = True) -> AdaptReport:
    """Adapt the built-in model to this catalog and (with `apply`, when it helped) switch the
    catalog to the adapted model. Raises `Cancelled` (nothing changed) or `AdaptError`.
    With `encode` False it runs no tower (see `prepare`): safe off the model's thread."""
    from vlm_desktop.core.catalog.lock import catalog_lock

    state = state or JobState()
    started = time.perf_counter()
    base = adapt_store.base_projection(engine)
    if base is None:
        raise AdaptError("Only the built-in model (VLM Lite) with its trained joint space can "
                         "be adapted to a catalog; choose it as the Catalog Search Model.")
    with catalog_lock(store.path):
        data, feats = prepare(store, engine, config, state, encode)

        def epoch(e: EpochProgress) -> None:
            state.partial(e)
            state.progress(e.epoch / max(1, e.epochs),
                           say("Epoch {epoch}/{epochs}: loss {loss:.3f}, held-out recall@10 {r10:.2f}",
                               epoch=e.epoch, epochs=e.epochs, loss=e.loss, r10=e.held_out_r10))
            if on_epoch is not None:
                on_epoch(e)

        t0 = time.perf_counter()
        proj, history = train(data, base, config, epoch, lambda: state.cancelled)
        state.check()  # a cancelled run saves nothing
        return finish(store, engine, data, feats, base, proj, history, config,
                      started, time.perf_counter() - t0, state, apply)


def finish(store: CatalogStore, engine: Engine, data: AdaptData,
           feats: adapt_features.Features, base: pj.Projection, proj: pj.Projection,
           history: list[dict[str, float]], config: AdaptConfig, started: float,
           train_s: float, state: JobState, apply: bool = True) -> AdaptReport:
    """Measure, and (with `apply`, when an epoch beat the base model) save the adapter,
    write its vectors and switch the catalog to it."""
    report = report_of(data, base, proj, history, time.perf_counter() - started, train_s)
    if not apply or report.best_epoch == 0:
        return report  # no epoch beat the base model: nothing to switch to
    variant = save_adapter(store, engine, base, proj, report, config)
    write_vectors(store, engine, variant, feats, state)
    state.check()
    adapt_store.switch_to(store, variant)  # the one write that makes it visible
    adapt_store.drop_inactive(store)  # the previous variant, and any a cancel left behind
    return _with(report, variant=variant, seconds=time.perf_counter() - started)


def _with(report: AdaptReport, **changes: Any) -> AdaptReport:
    from dataclasses import replace

    return replace(report, **changes)


def revert_catalog(store: CatalogStore) -> str:
    """Switch the catalog back to the base model (its vectors were never changed)."""
    from vlm_desktop.core.catalog.lock import catalog_lock

    with catalog_lock(store.path):
        return adapt_store.revert(store)


__all__ = ["AdaptConfig", "AdaptData", "AdaptError", "AdaptReport", "Cancelled", "EpochProgress",
           "adapt_catalog", "encode_step", "measure", "chance", "prepare", "revert_catalog", "split", "train"]
