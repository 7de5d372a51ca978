"""Cooperative cancellation and progress reporting for long-running core work."""

from __future__ import annotations

import threading
from typing import Callable, Optional


class Cancelled(Exception):
    """Raised inside a job when its cancel token was set."""


ProgressFn = Callable[[float, str], None]
PartialFn = Callable[[object], None]


class CancelToken:
    """A thread-safe flag a job polls at safe points; set from any thread."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()


class JobState:
    """What a job sees of the outside world: cancellation, progress and partial results.

    Jobs are pure functions of a snapshot of their inputs plus a `JobState`; they never
    see a widget (see STYLE.md, Orange's concurrent utilities).
    """

    def __init__(
        self,
        token: Optional[CancelToken] = None,
        on_progress: Optional[ProgressFn] = None,
        on_partial: Optional[PartialFn] = None,
    ) -> None:
        self.token = token or CancelToken()
        self._on_progress = on_progress
        self._on_partial = on_partial

    def check(self) -> None:
        """Raise `Cancelled` if the job should stop now."""
        self.token.raise_if_cancelled()

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled

    def progress(self, fraction: float, message: str = "") -> None:
        if self._on_progress is not None:
            self._on_progress(max(0.0, min(1.0, fraction)), message)

    def partial(self, value: object) -> None:
        if self._on_partial is not None:
            self._on_partial(value)


