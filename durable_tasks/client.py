"""`TaskClient`: start, inspect, cancel and rerun tasks from Python (the CLI uses it too).

Every entry checks its arguments before anything else happens, so a bad one is an
`InvalidInputError` naming the field, never a traceback from deep inside Temporal or PocketBase:
ids and the type by the rule of `durable_tasks.ids`, job data by the limits of
`durable_tasks.limits` (JSON, size, depth, a round trip through the worker's converter), then
against the processor's model. Starting a task then creates the PocketBase record (`PENDING`,
secret fields masked) if there is none, and starts `task-<taskId>` with the job data as given.
Temporal's workflow-id uniqueness makes a duplicate start harmless and *visible*: a running task
is attached to ("already running"), a finished one reported ("already finished") and only rerun
when asked (`rerun`), unlike BullMQ's silent jobId dedup.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import (
    TerminatedError,
    TimeoutError as TimeoutError_,
    WorkflowAlreadyStartedError,
)
from temporalio.service import RPCError, RPCStatusCode

from durable_tasks._connect import connect_temporal
from durable_tasks._job_data import join_job_data, refuse_framework_fields, split_job_data
from durable_tasks._outcomes import StartOutcome, TaskView
from durable_tasks._redact import given_config, has_secrets
from durable_tasks._reporting import RERUN_MEMO, SYNC_MEMO, SYNC_VERSION
from durable_tasks._simple_workflow import SimpleTaskInput, SimpleTaskWorkflow
from durable_tasks.errors import (
    InvalidInputError,
    TaskAlreadyExistsError,
    TaskNotFoundError,
)
from durable_tasks.ids import (
    check_task_id,
    check_type_name,
    check_workspace_id,
    new_task_id,
    workflow_id_for,
)
from durable_tasks.limits import check_json_input, check_round_trip
from durable_tasks.models import (
    TaskRecord,
    TaskResult,
    TaskStatus,
    validate_model,
)
from durable_tasks.registry import ProcessorRegistry
from durable_tasks.store import TaskStore

_KEPT_HANDLES = 10_000  # a long-lived client must not grow with every task it starts

__all__ = [
    "StartOutcome",
    "TaskClient",
    "TaskView",
    "connect_temporal",
    "new_task_id",
    "workflow_id_for",
]


class TaskClient:
    """Starts and inspects tasks (see the module docstring)."""

    def __init__(
        self,
        temporal: Client,
        store: TaskStore,
        registry: ProcessorRegistry,
        *,
        task_queue: str,
    ) -> None:
        self.temporal = temporal
        self.store = store
        self.registry = registry
        self.task_queue = task_queue
        # The newest handles of workflows started here: waiting on the original (not a fresh
        # handle) is what lets a time-skipping test server skip timers.
        self._handles: OrderedDict[str, WorkflowHandle[Any, Any]] = OrderedDict()

    def validate(self, type: str, data: dict[str, Any]) -> Any:
        """The job data validated against the processor's model (raises, naming the field)."""
        if self.registry.kind_of(check_type_name(type)) == "simple":
            return self.registry.simple[type].validate(data)
        flow = self.registry.flows[type]
        return validate_model(flow.input_model, data)

    async def start(
        self,
        type: str,
        *,
        workspace_id: str,
        input: dict[str, Any] | None = None,
        task_id: str | None = None,
        timeout: timedelta | None = None,
    ) -> StartOutcome:
        """Validate, create the record if missing, start `task-<taskId>` (see module docstring).

        `timeout` bounds the whole task (all attempts); when it fires the reconciler marks the
        record FAILED.
        """
        type = check_type_name(type)
        workspace_id = check_workspace_id(workspace_id)
        task_id = new_task_id() if task_id is None else check_task_id(task_id)
        if timeout is not None and not (isinstance(timeout, timedelta) and timeout > timedelta()):
            raise InvalidInputError("invalid timeout: expected a positive datetime.timedelta")
        given = check_json_input({} if input is None else input)
        refuse_framework_fields(given)
        config = split_job_data(given)[1]
        job = join_job_data(task_id, workspace_id, config)
        self.validate(type, job)
        arg = self._workflow_arg(type, job)
        # The common case first, one request each: create the record, start the workflow. A
        # taken id or a running workflow is found out by the refusal, not by asking first.
        try:
            await self.store.create(
                task_id=task_id,
                workspace_id=workspace_id,
                type=type,
                input=self.registry.redact_input(type, config),
            )
        except TaskAlreadyExistsError:
            record = await self.store.get(task_id)
            if record is not None and (record.workspace_id != workspace_id or record.type != type):
                raise InvalidInputError(
                    f"invalid job data: taskId: task {task_id} already exists as a "
                    f"{record.type!r} task of workspace {record.workspace_id!r}"
                ) from None
        return await self._start_workflow(type, task_id, arg, reuse=False, timeout=timeout)

    async def rerun(self, task_id: str) -> StartOutcome:
        """Run a finished task again; a flow keeps its completed steps and skips them.

        The start only says "this is a rerun" (a memo); the flow reads which steps completed
        from its own record, so no caller can hand a flow a forged cache.
        """
        record = await self._record(check_task_id(task_id))
        if not record.status.is_final:
            raise TaskAlreadyExistsError(
                task_id,
                record.status,
                f"task {task_id} is {record.status}; only a finished task can be rerun",
            )
        config = record.input if isinstance(record.input, dict) else {}
        if has_secrets(self.registry.input_model(record.type)):
            config = await given_config(
                self.handle(task_id), self.temporal.data_converter, task_id
            )  # the record keeps secrets masked
        job = join_job_data(task_id, record.workspace_id, config)
        self.validate(record.type, job)
        arg = self._workflow_arg(record.type, job)
        return await self._start_workflow(
            record.type, task_id, arg, reuse=True, memo={RERUN_MEMO: True}
        )

    async def cancel(self, task_id: str) -> bool:
        """Ask a running task to stop; False if it was not running."""
        handle = self.handle(check_task_id(task_id))
        try:
            desc = await handle.describe()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return False
            raise
        if desc.status != WorkflowExecutionStatus.RUNNING:
            return False
        await handle.cancel()
        return True

    async def wait(self, task_id: str, *, settle: float = 10.0) -> TaskRecord:
        """Wait until the task's workflow closes, then return its final record.

        The worker writes the final state just after the workflow closes (off Temporal's
        critical path), so the record is read until it is final, for up to `settle` seconds
        (PocketBase may be down); a run that ended without running its code (terminated, timed
        out) gets no final write, and its record is returned as it is.
        """
        check_task_id(task_id)
        closed_by_code = True
        try:
            await self.handle(task_id).result()
        except WorkflowFailureError as err:  # the record says how it failed
            closed_by_code = not isinstance(err.cause, TerminatedError | TimeoutError_)
        except Exception:
            pass
        deadline = time.monotonic() + settle
        delay = 0.002  # the final write is handed over before the workflow closes: it has
        while True:  # usually landed by now, so read at once, then back off from 2 ms
            record = await self._record(task_id)
            if record.status.is_final or not closed_by_code or time.monotonic() > deadline:
                return record
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.25)

    async def status(self, task_id: str) -> TaskView:
        """The record, plus the live TaskResult when the task is a running flow."""
        record = await self._record(check_task_id(task_id))
        live: TaskResult | None = None
        wf_status: str | None = None
        handle = self.handle(task_id)
        try:
            desc = await handle.describe()
            wf_status = desc.status.name if desc.status else None
            if (
                desc.status == WorkflowExecutionStatus.RUNNING
                and record.type in self.registry.flows
            ):
                live = await handle.query("task_result", result_type=TaskResult)
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
        return TaskView(record=record, live=live, workflow_status=wf_status)

    def handle(self, task_id: str) -> WorkflowHandle[Any, Any]:
        """The Temporal handle of the task's workflow."""
        cached = self._handles.get(check_task_id(task_id))
        return cached or self.temporal.get_workflow_handle(workflow_id_for(task_id))

    async def _record(self, task_id: str) -> TaskRecord:
        record = await self.store.get(task_id)
        if record is None:
            raise TaskNotFoundError(f"no task {task_id!r}")
        return record

    async def _existing(self, task_id: str) -> StartOutcome | None:
        try:
            desc = await self.handle(task_id).describe()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return None
            raise
        wid = workflow_id_for(task_id)
        if desc.status == WorkflowExecutionStatus.RUNNING:
            return StartOutcome(task_id, wid, "already running", TaskStatus.RUNNING)
        record = await self.store.get(task_id)
        return StartOutcome(task_id, wid, "already finished", record.status if record else None)

    def _workflow_arg(self, type: str, job: dict[str, Any]) -> Any:
        """What the task's workflow is started with: the job data as given (secret fields
        included: the processor needs them), checked to round-trip through the converter."""
        if self.registry.kind_of(type) == "simple":
            options = self.registry.simple[type].options()
            arg: Any = SimpleTaskInput(type=type, data=job, options=options)
        else:
            arg = job
        check_round_trip(arg)
        return arg

    async def _start_workflow(
        self,
        type: str,
        task_id: str,
        arg: Any,
        *,
        reuse: bool,
        timeout: timedelta | None = None,
        memo: dict[str, Any] | None = None,
    ) -> StartOutcome:
        wid = workflow_id_for(task_id)
        workflow: Any = SimpleTaskWorkflow.run if isinstance(arg, SimpleTaskInput) else type
        try:
            handle = await self.temporal.start_workflow(
                workflow,
                arg,
                id=wid,
                task_queue=self.task_queue,
                id_reuse_policy=(
                    WorkflowIDReusePolicy.ALLOW_DUPLICATE
                    if reuse
                    else WorkflowIDReusePolicy.REJECT_DUPLICATE
                ),
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                execution_timeout=timeout,
                memo={SYNC_MEMO: SYNC_VERSION, **(memo or {})},
            )
        except WorkflowAlreadyStartedError:
            existing = await self._existing(task_id)
            if existing is not None:
                return existing
            raise
        self._handles[task_id] = handle
        while len(self._handles) > _KEPT_HANDLES:
            self._handles.popitem(last=False)
        return StartOutcome(task_id, wid, "started", TaskStatus.PENDING)
