"""Issue #11, row 11, in the window: indexing a catalog another process is importing or
indexing says so in the panel (no crash dialog, nothing embedded twice), and works after."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from _catalog_helpers import make_store  # noqa: E402

from vlm_desktop.core.catalog.indexer import model_key  # noqa: E402
from vlm_desktop.core.engine.fake import FakeEngine  # noqa: E402
from vlm_desktop.ui.catalog_panel import CatalogPanel  # noqa: E402
from vlm_desktop.workers.inference_worker import EMBED, InferenceClient  # noqa: E402

TIMEOUT = 10000
_HOLDER = textwrap.dedent("""
    import sys, time
    from vlm_desktop.core.catalog.lock import acquire
    acquire(sys.argv[1])
    print("held", flush=True)
    time.sleep(60)
""")


def test_indexing_a_catalog_in_use_says_so_and_works_once_it_is_free(qtbot, tmp_path, home_dir):
    store, _ = make_store(tmp_path, "image,title\n", n_per=2, index=False)
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(store.path)],
                              stdout=subprocess.PIPE, text=True,
                              cwd=str(Path(__file__).resolve().parents[2]))
    client = InferenceClient()
    panel = None
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with qtbot.waitSignal(client.role(EMBED).ready, timeout=TIMEOUT):
            client.load_engine(lambda device: FakeEngine(), "cpu", "fake", EMBED)
        panel = CatalogPanel(client, store=store, open_demo=False)
        qtbot.addWidget(panel)
        qtbot.waitUntil(lambda: "in use" in panel.status.text(), timeout=TIMEOUT)
        assert f"process {holder.pid}" in panel.status.text()
        assert "unexpected" not in panel.status.text().lower()
        assert store.stats(model_key(FakeEngine())).indexed == 0
        holder.kill()  # the other process ends: the OS drops its lock
        holder.wait()
        with qtbot.waitSignal(panel.jobs.index_state, timeout=TIMEOUT,
                              check_params_cb=lambda s: s == "finished"):
            panel.jobs.start_indexing()
        assert store.stats(model_key(FakeEngine())).indexed == 4
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
        if panel is not None:
            panel.shutdown()
        assert client.shutdown(TIMEOUT)
