"""The workers' own messages follow the window's language (core.messages.say)."""

from __future__ import annotations

import pytest

from vlm_desktop.core import messages
from vlm_desktop.workers.errors import describe_error


@pytest.mark.parametrize("lang, oom, unexpected", [
    ("zh_CN", "GPU 显存不足", "意外错误"),
    ("", "The GPU ran out of memory", "Unexpected error in answer: bad value"),
])
def test_worker_errors_in_the_window_language(monkeypatch, lang, oom, unexpected):
    monkeypatch.setenv(messages.LANGUAGE_ENV, lang)
    said, _ = describe_error(RuntimeError("CUDA out of memory. Tried to allocate 2 GiB"), "answer")
    assert said.startswith(oom), said
    said, details = describe_error(ValueError("bad value"), "answer")
    assert unexpected in said and "bad value" in said and "ValueError" in details
