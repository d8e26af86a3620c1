"""Writing a workflow's task state to the store, from workflow code, without blocking the work.

`WorkflowTaskSync` lives inside a running workflow (the interceptor creates it). Processors and
the flow engine tell it what changed; a background workflow task turns the latest state into
guarded patches and sends them through the `sync_task_state` local activity, one at a time:

- Coalesced: while one write is in flight, newer state replaces older pending state, so a burst
  of step transitions costs one write, not one each. Error entries are never coalesced away.
- Durable and non-blocking: the local activity retries with backoff for as long as the store is
  down, on a background task, so business steps go on; the final write waits for the store, so
  the final state lands once it is back, with no operator action.
- Replay-safe: local activity results are recorded in history, so a replay never writes again.

All of this is deterministic workflow code: time from `workflow.now()`, waiting through
`workflow.wait_condition`, I/O only in the activity.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from durable_tasks._reporting import UNSET
    from durable_tasks.errors import StoreRejectedError, TaskNotFoundError
    from durable_tasks.models import (
        CamelModel,
        ErrorLogEntry,
        NewTask,
        StepResult,
        StepStatus,
        TaskPatch,
        TaskResult,
        TaskStatus,
    )
    from durable_tasks.store import TaskStore

SYNC_ACTIVITY_NAME = "durable-tasks.sync-task-state"
READ_STEPS_ACTIVITY_NAME = "durable-tasks.read-completed-steps"

_SYNC_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=0,  # the store coming back is the only way out: never give up
    non_retryable_error_types=["StoreRejectedError"],
)


class SyncTaskStateInput(CamelModel):
    """One guarded write: the patch, and how to create the record if it does not exist yet."""

    task_id: str
    patch: TaskPatch
    create: NewTask | None = None


class SyncTaskStateResult(CamelModel):
    """Kept small on purpose: it is recorded in the workflow's history."""

    applied: bool
    reason: str
    seq: int = Field(ge=0)


_READ_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=5,  # then the rerun runs every step again: slower, never wrong
)


class CompletedSteps(CamelModel):
    """The rerun cache read from a record: its completed steps (recorded in history)."""

    steps: dict[str, StepResult] = Field(default_factory=dict)


class SyncActivities:
    """The I/O half of the sync, registered on the worker with the store it writes to."""

    def __init__(
        self, store: TaskStore, *, redact: Callable[[str, Any], Any] | None = None
    ) -> None:
        """`redact(type, input)` masks the type's secret fields in a record created here (a
        workflow started without our client); the worker passes its registry's."""
        self._store = store
        self._redact = redact or (lambda _type, input: input)

    @activity.defn(name=SYNC_ACTIVITY_NAME)
    async def sync_task_state(self, input: SyncTaskStateInput) -> SyncTaskStateResult:
        """Apply one patch, creating the record first when the sync was told how."""
        try:
            outcome = await self._store.sync(input.task_id, input.patch)
        except TaskNotFoundError:
            if input.create is None:
                raise StoreRejectedError(
                    f"task {input.task_id} has no record and this write cannot create it"
                ) from None
            await self._store.create(
                task_id=input.task_id,
                workspace_id=input.create.workspace_id,
                type=input.create.type,
                input=self._redact(input.create.type, input.create.input),
            )
            outcome = await self._store.sync(input.task_id, input.patch)
        return SyncTaskStateResult(
            applied=outcome.applied, reason=outcome.reason, seq=outcome.record.seq
        )

    @activity.defn(name=READ_STEPS_ACTIVITY_NAME)
    async def read_completed_steps(self, task_id: str) -> CompletedSteps:
        """The steps the record's own result says completed (nothing if it holds no flow)."""
        record = await self._store.get(task_id)
        if record is None or not isinstance(record.result, dict):
            return CompletedSteps()
        try:
            previous = TaskResult.model_validate(record.result)
        except ValidationError:  # a simple task's result: no steps to keep
            return CompletedSteps()
        done = {n: s for n, s in previous.steps.items() if s.status == StepStatus.COMPLETED}
        return CompletedSteps(steps=done)


class WorkflowTaskSync:
    """The workflow-side writer of one task record (see the module docstring).

    It is the `TaskStateSink` of the workflow it lives in.
    """

    def __init__(self, *, task_id: str, run_id: str, create: NewTask | None) -> None:
        self.task_id = task_id
        self.run_id = run_id
        self._create: NewTask | None = create
        self._pending: dict[str, Any] = {}
        self._errors: list[ErrorLogEntry] = []
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self.writes = 0
        self.last_result: Any = None

    # -- what processors and the flow engine call -------------------------------------------

    def update(
        self,
        *,
        status: TaskStatus | None = None,
        progress: float | None = None,
        result: Any = UNSET,
        attempts: int | None = None,
        **fields: Any,
    ) -> None:
        """Queue new state; only the latest value of each field is written."""
        if status is not None:
            self._pending["status"] = status
        if progress is not None:
            self._pending["progress"] = max(progress, self._pending.get("progress", 0))
        if result is not UNSET:
            # a snapshot: the caller goes on changing its own object (the flow's TaskResult)
            result = result.model_copy(deep=True) if isinstance(result, BaseModel) else result
            self._pending["result"] = result
            self.last_result = result
        if attempts is not None:
            self._pending["attempts"] = attempts
        self._pending.update(fields)
        self._ensure_running()

    def log_error(self, entry: ErrorLogEntry) -> None:
        """Queue one error-log entry; every entry is written."""
        self._errors.append(entry)
        self._ensure_running()

    async def completed_steps(self) -> dict[str, StepResult]:
        """The rerun cache, read from the record (a local activity: replays never read again)."""
        return await read_completed_steps(self.task_id)

    async def finish(self, status: TaskStatus, *, result: Any = UNSET) -> None:
        """Write the final state and wait until every queued write has landed."""
        self.update(status=status, result=result, completed_at=workflow.now())
        self._closing = True
        assert self._task is not None
        await asyncio.shield(self._task)

    # -- the writer -------------------------------------------------------------------------

    def _ensure_running(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await workflow.wait_condition(
                lambda: bool(self._pending or self._errors or self._closing)
            )
            if not self._pending and not self._errors:
                return
            fields, self._pending = self._pending, {}
            error = self._errors.pop(0) if self._errors else None
            await self._write(TaskPatch(run_id=self.run_id, error=error, **fields))

    async def _write(self, patch: TaskPatch) -> None:
        self.writes += 1
        try:
            result = await workflow.execute_local_activity(
                SYNC_ACTIVITY_NAME,
                SyncTaskStateInput(task_id=self.task_id, patch=patch, create=self._create),
                result_type=SyncTaskStateResult,
                start_to_close_timeout=timedelta(seconds=45),
                retry_policy=_SYNC_RETRY,
            )
        except (ActivityError, ApplicationError) as err:
            # Only a write the store refused outright gets here (a local activity's failure
            # can arrive unwrapped); the work must go on.
            workflow.logger.error(
                "task %s: the store refused a state write and it was dropped: %s",
                self.task_id,
                err.cause or err,
            )
            return
        self._create = None
        if result.reason == "stale":
            workflow.logger.warning(
                "task %s: write dropped, another run holds the record", self.task_id
            )


async def read_completed_steps(task_id: str) -> dict[str, StepResult]:
    """The rerun cache of a task, read from its record by the `read_completed_steps` activity.

    Workflow code: a local activity, so a replay takes the answer from history.
    """
    try:
        found: CompletedSteps = await workflow.execute_local_activity(
            READ_STEPS_ACTIVITY_NAME,
            task_id,
            result_type=CompletedSteps,
            start_to_close_timeout=timedelta(seconds=45),
            retry_policy=_READ_RETRY,
        )
    except ActivityError as err:
        workflow.logger.warning(
            "task %s: could not read which steps completed; every step runs again: %s",
            task_id,
            err.cause or err,
        )
        return {}
    return found.steps
