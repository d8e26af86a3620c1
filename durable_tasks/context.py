"""`TaskContext`: what a running processor or step gets besides its data.

The counterpart of the BullMQ `job` object: the attempt number, a logger bound to the task, and
`report_progress` (the reference's `job.updateProgress`). Progress is sent as a heartbeat (so
Temporal knows the attempt is alive) and, when the worker syncs, to its `ProgressSink`.
It can be called from a synchronous processor's thread as well as from the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from temporalio import activity

from durable_tasks._reporting import ProgressSink
from durable_tasks.progress import clamp_percent


class TaskLogger(logging.LoggerAdapter[logging.Logger]):
    """A logger that prefixes every line with the task id, workspace and attempt."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        extra = self.extra or {}
        kwargs.setdefault("extra", {}).update(extra)
        prefix = f"[task {extra.get('task_id')} attempt {extra.get('attempt')}] "
        return prefix + str(msg), kwargs


class TaskContext:
    """Per-attempt context of a processor or step."""

    def __init__(
        self,
        *,
        task_id: str,
        workspace_id: str,
        step: str,
        attempt: int,
        max_attempts: int,
        run_id: str,
        progress_sink: ProgressSink | None,
        logger_name: str,
        on_progress: Callable[[float], None] | None = None,
    ) -> None:
        self.task_id = task_id
        self.workspace_id = workspace_id
        self.step = step
        self.attempt = attempt
        self.max_attempts = max_attempts
        self.run_id = run_id
        self.progress = 0.0
        self.logger = TaskLogger(
            logging.getLogger(logger_name),
            {"task_id": task_id, "workspace_id": workspace_id, "attempt": attempt, "step": step},
        )
        self._progress_sink = progress_sink
        self._on_progress = on_progress
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()

    @property
    def is_last_attempt(self) -> bool:
        """True if a failure of this attempt will be final (0 max attempts means unlimited)."""
        return self.max_attempts != 0 and self.attempt >= self.max_attempts

    @property
    def idempotency_key(self) -> str:
        """`<taskId>:<step>`: the same for every attempt and every rerun of this step."""
        return f"{self.task_id}:{self.step}"

    def report_progress(self, percent: float) -> None:
        """Report progress (0..100). Cheap: call it as often as you like."""
        value = clamp_percent(percent)
        if threading.get_ident() == self._loop_thread:
            self._report(value)
        else:
            self._loop.call_soon_threadsafe(self._report, value)

    def heartbeat(self, *details: Any) -> None:
        """Tell Temporal this attempt is alive (done for you while `process` runs)."""
        if threading.get_ident() == self._loop_thread:
            activity.heartbeat(*details)
        else:
            self._loop.call_soon_threadsafe(activity.heartbeat, *details)

    @contextmanager
    def keeping_alive(self, interval: float) -> Iterator[None]:
        """Heartbeat every `interval` s while the block runs: liveness for Temporal, and the
        way a cancellation reaches the attempt, even if user code never reports progress."""

        async def beat() -> None:
            while True:
                self.heartbeat(self.progress)
                await asyncio.sleep(interval)

        task = self._loop.create_task(beat())
        try:
            yield
        finally:
            task.cancel()

    def _report(self, value: float) -> None:
        self.progress = max(self.progress, value)
        activity.heartbeat(self.progress)
        if self._progress_sink is not None:
            self._progress_sink.report(self.task_id, self.run_id, self.progress)
        if self._on_progress is not None:
            self._on_progress(self.progress)
