"""The seam between running work and the task record: typed, so neither side guesses.

Processors, steps and the flow engine *report* task state; the sync (`durable_tasks.sync`)
*listens* and writes the record. The core never imports the sync: it talks to the two
protocols below, and the sync installs its implementations when a worker runs with it.

- Workflow side: a `TaskStateSink` attached to the running workflow instance receives status,
  progress, results, attempts and error-log entries (deterministic code: it only queues).
- Activity side: a `ProgressSink` bound to the running activity receives `report_progress`,
  and a flow step's own report that it completed (written at once, so a front end sees it
  before the workflow has even taken the completion in; past a run's first 20, routinely).
- A workflow that owns a task record says so by implementing `TaskOwner`; the sync asks it
  which record it owns and what the record's result is.

Without a sync installed (a plain worker, a unit test), nobody listens and the work runs alone.
"""

from __future__ import annotations

import contextvars
from typing import Any, Protocol, runtime_checkable

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from durable_tasks.models import ErrorLogEntry, StepResult, TaskIdentity, TaskStatus

UNSET: Any = object()
"""Marks "no new result" in `TaskStateSink.update` (None is a valid result)."""

_SINK_ATTR = "_durable_tasks_state_sink"

SYNC_MEMO = "durable-tasks-sync"
"""Workflow memo set by `TaskClient` starts: which sync protocol the run uses (2 today).

2: the sync adds no command to the workflow (state goes through the worker's batching writer).
Absent (runs started by other means, or before version 2): the local-activity sync of version
1, gated by a `workflow.patched` marker, which keeps old histories replaying unchanged.
"""
SYNC_VERSION = 2

RERUN_MEMO = "durable-tasks-rerun"
"""Workflow memo set by `TaskClient.rerun`: the flow reads its step cache from its own record.

Only the *fact* of a rerun travels with the start, never the cache itself: whoever starts a
workflow can at most make a flow reread what its record already says, so execution state can
never be forged through a start.
"""


def memo_flag(key: str) -> int:
    """The small integer (or bool) a start put in the workflow memo under `key`; 0 if absent.

    Read straight from the raw memo when it is plain JSON: decoding through the workflow's
    payload converter builds a pydantic `TypeAdapter` inside the sandbox on every workflow run
    (a per-run converter has no warm cache), which cost more CPU than the rest of the sync's
    workflow side together. Anything else (an encoded memo) goes through the converter.
    """
    payload = workflow.info().raw_memo.get(key)
    if payload is None:
        return 0
    if payload.metadata.get("encoding") == b"json/plain" and payload.data in _SMALL_JSON:
        return _SMALL_JSON[payload.data]
    return int(workflow.memo_value(key, 0, type_hint=int))


_SMALL_JSON = {b"true": 1, b"false": 0, **{str(n).encode(): n for n in range(10)}}


class TaskStateSink(Protocol):
    """Receives a running workflow's task state (implemented by the sync's writer)."""

    def update(
        self,
        *,
        status: TaskStatus | None = None,
        progress: float | None = None,
        result: Any = UNSET,
        attempts: int | None = None,
    ) -> None:
        """Queue new state; only the latest value of each field needs to land.

        `result` is a snapshot of the caller's object at this moment: the sink copies or
        serialises it before returning, so the caller may go on changing it.
        """
        ...

    def log_error(self, entry: ErrorLogEntry) -> None:
        """Queue one error-log entry; every entry must land."""
        ...

    async def completed_steps(self) -> dict[str, StepResult]:
        """The steps the task's record says completed in earlier runs (the rerun cache)."""
        ...


class ProgressSink(Protocol):
    """Receives what activities report: progress, and a step's completion (the sync's writer)."""

    def report(self, task_id: str, run_id: str, percent: float) -> None:
        """Queue `percent` for the task; must return at once (called from the event loop)."""
        ...

    def step_completed(self, task_id: str, run_id: str, step: StepResult) -> None:
        """Queue a flow step's completion, reported by the step's activity as it returns; must
        return at once. The workflow's own snapshot says the same later: either may land first."""
        ...

    async def flush(self, task_id: str, timeout: float) -> bool:
        """Wait up to `timeout` s for the newest value to land; True if it did."""
        ...


@runtime_checkable
class TaskOwner(Protocol):
    """A workflow class that owns a task record (simple-task shell and every flow)."""

    @classmethod
    def durable_task_identity(cls, raw: Any) -> TaskIdentity | None:
        """The record this workflow owns, from its raw first argument (None: no valid ids)."""
        ...

    @classmethod
    def durable_task_record_result(cls, result: Any) -> Any:
        """What the record's `result` should hold when the workflow returns `result`."""
        ...


def attach_task_state(sink: TaskStateSink) -> None:
    """Make `sink` the task-state listener of the current workflow instance."""
    setattr(workflow.instance(), _SINK_ATTR, sink)


def current_task_state() -> TaskStateSink | None:
    """The current workflow's task-state listener, or None when no sync is installed."""
    sink: TaskStateSink | None = getattr(workflow.instance(), _SINK_ATTR, None)
    return sink


_progress_sink: contextvars.ContextVar[ProgressSink | None] = contextvars.ContextVar(
    "durable_tasks_progress_sink", default=None
)


def current_progress_sink() -> ProgressSink | None:
    """The progress listener of the activity running now, or None outside a syncing worker."""
    return _progress_sink.get()


def bind_progress_sink(sink: ProgressSink | None) -> contextvars.Token[ProgressSink | None]:
    """Bind the progress listener for the current activity (the sync's interceptor does)."""
    return _progress_sink.set(sink)


def unbind_progress_sink(token: contextvars.Token[ProgressSink | None]) -> None:
    """Undo `bind_progress_sink` when the activity ends."""
    _progress_sink.reset(token)
