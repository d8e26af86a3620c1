"""`EmittingTaskSync`: a workflow's task state handed to the worker's `SyncWriter`, no commands.

The workflow-side `TaskStateSink` of runs started by our client (they carry the sync memo, see
`durable_tasks._reporting.SYNC_MEMO`). It turns state changes into patches and hands them to
the worker-wide writer through a thread-safe queue: no local activity, no marker, no command,
so the workflow's history is exactly what it would be without durable-tasks, and nothing waits
for PocketBase. Every value it sends comes from deterministic workflow state (`workflow.now()`,
the run id), and every patch is idempotent under the store's guard rules, so a replay may send
the same state again harmlessly; replays skip the bulky snapshots, and the first live one after
a replay goes out at once, carrying all of it.

A flow's step-by-step snapshots wait: the writer sends the newest at most every second per
task (`Pace.SNAPSHOT`), folded into the next prompt write of the task on this worker when one
comes first (the next step's report, when the step runs here too). Only the first snapshot of
a run goes out at once: it replaces the last run's result, which a step's report must not be
merged into. What a front end waits for does not wait for them: each step's completion is
written by the step's own activity as it returns (`durable_tasks.steps`; the first 20 of a
run on a worker at once), and a failure comes with its error entry, which goes out at once.
Writing every snapshot would cost a write per transition, and for long flows (whose record
grows with every step) a cost growing with the square of their length.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic_core import to_jsonable_python
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from durable_tasks._reporting import UNSET
    from durable_tasks.models import ErrorLogEntry, NewTask, StepResult, TaskResult, TaskStatus
    from durable_tasks.sync._batch_writer import SyncWriter
    from durable_tasks.sync._rates import Pace
    from durable_tasks.sync._writer import read_completed_steps


class EmittingTaskSync:
    """The task sync of one run, writing through the worker's `SyncWriter`.

    What one tick of the workflow's event loop reports is buffered and handed over once, at the
    end of the tick (`call_soon` in the workflow's own loop: deterministic, and no command), so
    a claim and the first attempt, or the several transitions of one activation, make one
    write. Flow results are handed over as shallow snapshots (the engine replaces step results
    rather than changing them), serialised by the writer only when it writes.
    """

    def __init__(
        self, writer: SyncWriter, *, task_id: str, run_id: str, create: NewTask | None
    ) -> None:
        self.task_id = task_id
        self.run_id = run_id
        self._writer = writer
        self._create: NewTask | None = create
        self._fields: dict[str, Any] = {}
        self._errors: list[ErrorLogEntry] = []
        self._can_wait = True
        self._snapshot_now = True  # the run's first snapshot, or the first after a replay
        self._scheduled = False

    def claim(self, *, workflow_id: str) -> None:
        """The run starts: RUNNING, linked to its execution (creating the record if missing)."""
        self._queue(
            {
                "new_run": True,
                "status": TaskStatus.RUNNING,
                "workflow_id": workflow_id,
                "started_at": workflow.now(),
            },
            can_wait=False,
        )

    def update(
        self,
        *,
        status: TaskStatus | None = None,
        progress: float | None = None,
        result: Any = UNSET,
        attempts: int | None = None,
    ) -> None:
        """Queue new state, handed to the writer at the end of this tick: at once, except a
        flow's snapshots (they wait their pace in the writer).

        While replaying, snapshots (progress, results) are not sent again: the next live one
        carries all. A status, or attempts alone (a simple task's next attempt), are sent.
        """
        snapshot = status is None and (
            attempts is None or result is not UNSET or progress is not None
        )
        if snapshot and workflow.unsafe.is_replaying():
            self._snapshot_now = True
            return
        can_wait = snapshot and isinstance(result, TaskResult) and not self._snapshot_now
        self._snapshot_now = self._snapshot_now and not snapshot
        fields: dict[str, Any] = {}
        if status is not None:
            fields["status"] = status
        if progress is not None:
            fields["progress"] = progress
        if result is not UNSET:
            fields["result"] = _snapshot(result)
        if attempts is not None:
            fields["attempts"] = attempts
        if fields:
            self._queue(fields, can_wait=can_wait)

    def log_error(self, entry: ErrorLogEntry) -> None:
        """Queue one error-log entry (each lands once: entries are keyed)."""
        self._errors.append(entry)
        self._queue({}, can_wait=False)

    async def completed_steps(self) -> dict[str, StepResult]:
        """The rerun cache, read from the record (reruns only: one local activity)."""
        return await read_completed_steps(self.task_id)

    async def finish(self, status: TaskStatus, *, result: Any = UNSET) -> None:
        """The final state, handed over now with whatever is buffered (nothing waits for it)."""
        fields: dict[str, Any] = {"status": status, "completed_at": workflow.now()}
        if result is not UNSET:
            fields["result"] = result
        self._queue(fields, can_wait=False)
        self._hand_over()

    # -- buffering ----------------------------------------------------------------------------

    def _queue(self, fields: dict[str, Any], *, can_wait: bool) -> None:
        for name, value in fields.items():
            if name == "progress" and name in self._fields:
                value = max(self._fields[name], value)
            self._fields[name] = value
        self._can_wait = self._can_wait and can_wait
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._hand_over)

    def _hand_over(self) -> None:
        self._scheduled = False
        if not self._fields and not self._errors:
            return
        fields, self._fields = self._fields, {}
        errors, self._errors = self._errors, []
        can_wait, self._can_wait = self._can_wait, True
        create, self._create = self._create, None
        submit = self._writer.submit_threadsafe
        submit(
            self.task_id,
            self.run_id,
            fields,
            error=errors[0] if errors else None,
            create=create,
            pace=Pace.SNAPSHOT if can_wait else Pace.NOW,
        )
        for entry in errors[1:]:
            submit(self.task_id, self.run_id, {}, error=entry)


def _snapshot(result: Any) -> Any:
    """A copy that later changes of the workflow's object cannot reach, made cheaply: a flow's
    TaskResult shallowly (the engine replaces step results and lists, never edits them)."""
    if isinstance(result, TaskResult):
        return result.model_copy(update={"steps": dict(result.steps)})
    return to_jsonable_python(result, by_alias=True)
