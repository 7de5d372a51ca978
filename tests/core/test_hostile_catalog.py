"""Issue #11, rows 3, 4, 9, 10, 11: one bad file never stops a catalog, nothing hangs,
links out of the folder are refused, and two importers do not both do the work."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from _catalog_helpers import make_catalog

from tests.hostile import png_cut_ihdr
from vlm_desktop.core.catalog import indexer as indexer_module
from vlm_desktop.core.catalog.importer import import_folder
from vlm_desktop.core.catalog.indexer import Indexer, model_key
from vlm_desktop.core.catalog.lock import CatalogBusy, lock_path
from vlm_desktop.core.catalog.store import CatalogStore
from vlm_desktop.core.engine.fake import FakeEngine


def _index(store: CatalogStore):
    indexer = Indexer(store, batch_size=3)
    try:
        return indexer.run(FakeEngine())
    finally:
        indexer.close()



def test_three_byte_jpeg_and_cut_ihdr_png_are_quarantined_and_the_rest_indexed(tmp_path):
    root = tmp_path / "cat"
    make_catalog(root, n_per=3)
    (root / "shoes" / "aaa_tiny.jpg").write_bytes(b"\xff\xd8\xff")
    (root / "shoes" / "aab_cut.png").write_bytes(png_cut_ihdr(5))
    store = CatalogStore(tmp_path / "c.db")
    import_folder(store, root)

    final = _index(store)

    stats = store.stats(model_key(FakeEngine()))
    assert (stats.indexed, stats.quarantined) == (6, 2) and final.finished
    reasons = {q.path: q.reason for q in store.quarantine()}
    assert set(reasons) == {"shoes/aaa_tiny.jpg", "shoes/aab_cut.png"}
    assert "aab_cut.png" in reasons["shoes/aab_cut.png"]
    assert "truncated" in reasons["shoes/aab_cut.png"]
    # Resume: nothing is left to redo and nothing dies.
    assert _index(store).done == 0


def test_any_exception_while_decoding_is_quarantined(tmp_path, monkeypatch):
    root = tmp_path / "cat"
    make_catalog(root, n_per=2)
    store = CatalogStore(tmp_path / "c.db")
    import_folder(store, root)
    real = indexer_module.load_image

    def flaky(data, **kw):
        if kw.get("name") == "shoes/shoe_01.png":
            raise RuntimeError("a decoder bug")
        return real(data, **kw)

    monkeypatch.setattr(indexer_module, "load_image", flaky)
    _index(store)
    [entry] = store.quarantine()
    assert entry.path == "shoes/shoe_01.png" and "RuntimeError: a decoder bug" in entry.reason
    assert store.stats(model_key(FakeEngine())).indexed == 3


@pytest.mark.timeout(30)
def test_fifo_in_the_folder_is_skipped_and_import_does_not_hang(run, tmp_path):
    root = tmp_path / "cat"
    make_catalog(root, n_per=2)
    os.mkfifo(root / "shoes" / "pipe.jpg")
    code, out, err = run("import", str(root), "--catalog", str(tmp_path / "c.db"))
    assert code == 0 and out[0]["items"] == 4 and out[0]["indexed"] == 4
    assert out[0]["refused"] == [{"path": "shoes/pipe.jpg",
                                  "reason": "a named pipe (FIFO), not a regular file"}]
    assert "refused shoes/pipe.jpg" in err


@pytest.mark.timeout(30)
def test_fifo_swapped_in_after_import_is_quarantined_not_waited_for(tmp_path):
    root = tmp_path / "cat"
    make_catalog(root, n_per=2)
    store = CatalogStore(tmp_path / "c.db")
    import_folder(store, root)
    victim = root / "shoes" / "shoe_00.png"
    victim.unlink()
    os.mkfifo(victim)
    _index(store)
    [entry] = store.quarantine()
    assert entry.path == "shoes/shoe_00.png" and "FIFO" in entry.reason


def test_links_leading_outside_the_folder_are_refused_unless_asked_for(run, tmp_path):
    root = tmp_path / "cat"
    paths = make_catalog(root, n_per=2)
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(paths["shoe_00"].read_bytes())
    (root / "shoes" / "passwd.jpg").symlink_to("/etc/passwd")
    (root / "shoes" / "outside.png").symlink_to(outside)
    (root / "shoes" / "inside.png").symlink_to(paths["shoe_01"])  # inside: fine
    db = str(tmp_path / "c.db")

    code, out, err = run("import", str(root), "--catalog", db)
    assert code == 0
    refused = {r["path"]: r["reason"] for r in out[0]["refused"]}
    assert set(refused) == {"shoes/passwd.jpg", "shoes/outside.png"}
    assert "outside the catalog folder" in refused["shoes/outside.png"]
    assert out[0]["items"] == 5 and out[0]["indexed"] == 5

    code, out, _ = run("import", str(root), "--catalog", db, "--follow-links")
    assert code == 0 and out[0]["added"] == 2 and out[0]["refused"] == []
    # /etc/passwd is text: taken in, then quarantined by the indexer with the reason.
    assert out[0]["indexed"] == 1 and out[0]["quarantined"] == 1


_HOLDER = textwrap.dedent("""
    import sys, time
    from vlm_desktop.core.catalog.lock import acquire
    acquire(sys.argv[1])
    print("held", flush=True)
    time.sleep(60)
""")


def test_second_importer_is_told_the_catalog_is_in_use(run, tmp_path):
    root = tmp_path / "cat"
    make_catalog(root, n_per=2)
    db = tmp_path / "c.db"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(db)], stdout=subprocess.PIPE,
                              cwd=str(Path(__file__).resolve().parents[2]), text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        code, out, err = run("import", str(root), "--catalog", str(db))
        assert code == 1 and out == []
        assert "is in use" in err and f"process {holder.pid}" in err
        assert "unexpected" not in err.lower()
        store = CatalogStore(db)
        with pytest.raises(CatalogBusy):
            import_folder(store, root)
        store.close()
    finally:
        holder.kill()  # a crash: the OS drops the lock
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    assert lock_path(db).exists()
    code, out, _ = run("import", str(root), "--catalog", str(db))
    assert code == 0 and out[0]["indexed"] == 4


def test_search_queries_file_with_a_lone_surrogate_runs_the_other_queries(run, tmp_path):
    root = tmp_path / "cat"
    make_catalog(root, n_per=2)
    db = str(tmp_path / "c.db")
    assert run("import", str(root), "--catalog", db, "--no-index")[0] == 0
    queries = tmp_path / "q.jsonl"
    queries.write_bytes(b'{"text": "shoe"}\n{"text": "\\ud800"}\n\xff\xfe\n'
                        b'{"text": "camera"}\n')
    code, out, _ = run("search", "--catalog", db, "--queries", str(queries), "--mode", "keyword")
    assert code == 1 and len(out) == 4
    assert out[0]["results"] and out[3]["results"]
    assert "lone surrogate" in out[1]["error"] and "not UTF-8" in out[2]["error"]


_PROBE = textwrap.dedent("""
    import sys
    from vlm_desktop.core.catalog.lock import CatalogBusy, acquire
    try:
        acquire(sys.argv[1])
    except CatalogBusy as exc:
        print("busy:", exc)
    else:
        print("free")
""")


def _probe(db: Path) -> str:
    """What another process is told when it tries to import or index `db` now."""
    done = subprocess.run([sys.executable, "-c", _PROBE, str(db)], capture_output=True,
                          text=True, cwd=str(Path(__file__).resolve().parents[2]), timeout=60)
    return done.stdout.strip()


def test_the_indexer_holds_the_catalog_while_it_works_and_lets_go_when_done(tmp_path):
    # The window indexes batch by batch (Indexer.next_batch), not through the CLI's lock.
    root = tmp_path / "cat"
    make_catalog(root, n_per=3)
    db = tmp_path / "c.db"
    store = CatalogStore(db)
    import_folder(store, root)
    indexer = Indexer(store, batch_size=2)
    try:
        assert indexer.next_batch(FakeEngine()) is not None
        assert _probe(db).startswith("busy:") and f"process {os.getpid()}" in _probe(db)
        while indexer.next_batch(FakeEngine()) is not None:
            pass
        assert _probe(db) == "free"
    finally:
        indexer.close()
    assert store.stats(model_key(FakeEngine())).indexed == 6


def test_the_indexer_says_the_catalog_is_in_use_before_doing_any_work(tmp_path):
    root = tmp_path / "cat"
    make_catalog(root, n_per=2)
    db = tmp_path / "c.db"
    store = CatalogStore(db)
    import_folder(store, root)
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(db)], stdout=subprocess.PIPE,
                              cwd=str(Path(__file__).resolve().parents[2]), text=True)
    indexer = Indexer(store, batch_size=2)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(CatalogBusy, match=f"in use: another process \\(process {holder.pid}"):
            indexer.next_batch(FakeEngine())
        assert store.stats(model_key(FakeEngine())).indexed == 0
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    try:
        assert indexer.run(FakeEngine()).finished
    finally:
        indexer.close()
    assert store.stats(model_key(FakeEngine())).indexed == 4 and _probe(db) == "free"
