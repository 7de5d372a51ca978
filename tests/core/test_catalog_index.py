"""Catalog indexing: quarantine, progress, cancel, pause, and resume after SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from _catalog_helpers import make_catalog

from vlm_desktop.core.cancel import Cancelled, JobState
from vlm_desktop.core.catalog.importer import import_folder
from vlm_desktop.core.catalog.indexer import Indexer, model_key
from vlm_desktop.core.catalog.store import CatalogStore
from vlm_desktop.core.engine.fake import FakeEngine


@pytest.fixture()
def catalog(tmp_path):
    root = tmp_path / "cat"
    make_catalog(root, n_per=5)
    (root / "shoes" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)  # truncated
    (root / "cameras" / "empty.jpg").write_bytes(b"")
    store = CatalogStore(tmp_path / "c.db")
    import_folder(store, root)
    yield store, root
    store.close()


def test_bad_files_are_quarantined_with_reasons_and_the_rest_indexed(catalog):
    store, root = catalog
    indexer = Indexer(store, batch_size=3)
    try:
        final = indexer.run(FakeEngine())
    finally:
        indexer.close()
    stats = store.stats(model_key(FakeEngine()))
    assert (stats.items, stats.indexed, stats.quarantined) == (10, 10, 2)
    assert final.finished and final.quarantined == 2
    reasons = {q.path: q.reason for q in store.quarantine()}
    assert set(reasons) == {"shoes/broken.png", "cameras/empty.jpg"}
    assert all(reasons.values())
    assert "empty" in reasons["cameras/empty.jpg"].lower()
    # A re-import leaves unchanged bad files alone; fixing one brings it back.
    again = import_folder(store, root)
    assert again.skipped_quarantined == 2 and again.added == 0
    (root / "cameras" / "empty.jpg").write_bytes((root / "cameras" / "camera_00.png").read_bytes())
    fixed = import_folder(store, root)
    assert fixed.added == 1 and store.stats().quarantined == 1


def test_progress_reports_count_rate_and_eta(catalog):
    store, _ = catalog
    seen = []
    state = JobState(on_progress=lambda f, m: seen.append((f, m)))
    indexer = Indexer(store, batch_size=4)
    try:
        first = indexer.next_batch(FakeEngine(), state)
        while indexer.next_batch(FakeEngine(), state) is not None:
            pass
    finally:
        indexer.close()
    assert (first.done, first.total, first.batch) == (4, 12, 4)
    assert first.rate > 0 and first.eta_s is not None
    assert seen[-1][0] == 1.0 and "12/12" in seen[-1][1] and "items/s" in seen[-1][1]


def test_cancel_commits_nothing_of_the_cancelled_batch(catalog):
    store, _ = catalog
    state = JobState()
    engine = FakeEngine(delay_s=0.2)
    indexer = Indexer(store, batch_size=4)
    threading.Timer(0.1, state.token.cancel).start()
    try:
        with pytest.raises(Cancelled):
            indexer.next_batch(engine, state)
    finally:
        indexer.close()
    assert store.stats().indexed == 0


def test_pause_blocks_until_resume(catalog):
    store, _ = catalog
    indexer = Indexer(store, batch_size=4)
    indexer.pause()
    done = threading.Event()
    worker = threading.Thread(target=lambda: (indexer.run(FakeEngine()), done.set()))
    worker.start()
    assert not done.wait(0.3)  # paused: nothing happens
    assert store.stats().indexed == 0
    indexer.resume()
    worker.join(10)
    indexer.close()
    assert done.is_set() and store.stats().indexed == 10


_CHILD = textwrap.dedent("""
    import sys
    from vlm_desktop.core.catalog.indexer import Indexer
    from vlm_desktop.core.catalog.store import CatalogStore
    from vlm_desktop.core.engine.fake import FakeEngine
    from vlm_desktop.core.cancel import JobState
    store = CatalogStore(sys.argv[1])
    indexer = Indexer(store, batch_size=4)
    state = JobState(on_progress=lambda f, m: print(m, flush=True))
    indexer.run(FakeEngine(delay_s=0.05), state)
    print("FINISHED", flush=True)
""")


@pytest.mark.slow
def test_sigkill_mid_index_then_resume_indexes_every_item_exactly_once(tmp_path):
    root = tmp_path / "cat"
    make_catalog(root, n_per=20)
    db = tmp_path / "c.db"
    store = CatalogStore(db)
    import_folder(store, root)
    store.close()

    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(db)], stdout=subprocess.PIPE,
                             text=True, env=env)
    lines = []
    assert child.stdout is not None
    for line in child.stdout:  # two committed batches, then kill it mid-third
        lines.append(line)
        if len(lines) == 2:
            break
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)
    child.stdout.close()
    assert child.returncode == -signal.SIGKILL and "FINISHED\n" not in lines

    store = CatalogStore(db)
    assert store.integrity_ok()
    model = model_key(FakeEngine())
    done_before = store.stats(model).indexed
    assert 8 <= done_before < 40
    engine = FakeEngine()
    indexer = Indexer(store, batch_size=4)
    try:
        final = indexer.run(engine)
    finally:
        indexer.close()
    assert engine.encodes == 40 - done_before  # resumed: nothing redone
    assert final.done == 40 - done_before
    rows, distinct = store.conn().execute(
        "SELECT count(*), count(DISTINCT item_id) FROM embeddings WHERE model=?", (model,)
    ).fetchone()
    assert rows == distinct == 40 == store.stats(model).items
    assert store.integrity_ok()


def test_close_from_another_thread_mid_batch_ends_the_batch_quietly(catalog, monkeypatch):
    """The window closes the indexer on the GUI thread while the worker runs a batch: here
    exactly while the batch looks up what to prefetch next (the old race's window)."""
    store, _root = catalog
    indexer = Indexer(store, batch_size=2)
    lookups = []
    real = store.pending_items

    def pending_items(*args, **kwargs):
        lookups.append(1)
        if len(lookups) == 2:  # the prefetch during the first batch
            closer = threading.Thread(target=indexer.close)
            closer.start()
            closer.join(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "pending_items", pending_items)
    with pytest.raises(Cancelled):
        indexer.next_batch(FakeEngine())
    assert len(lookups) == 2
    assert store.embedding_count(model_key(FakeEngine())) == 0  # the batch committed nothing
