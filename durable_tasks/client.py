"""`TaskClient`: start, inspect, cancel and rerun tasks from Python (the CLI uses it too).

Starting a task validates its data against the processor's model before anything else happens,
creates the PocketBase record (`PENDING`) if there is none, and starts the workflow
`task-<taskId>`. Temporal's workflow-id uniqueness makes a duplicate start harmless and *visible*:
a running task is attached to ("already running"), a finished one is reported ("already
finished") and only rerun when asked (`rerun`), unlike BullMQ's silent jobId dedup.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

from durable_tasks._job_data import join_job_data, refuse_framework_fields, split_job_data
from durable_tasks._reporting import RERUN_MEMO
from durable_tasks._simple_workflow import SimpleTaskInput, SimpleTaskWorkflow
from durable_tasks.codec import data_converter_for
from durable_tasks.errors import (
    InvalidInputError,
    TaskAlreadyExistsError,
    TaskNotFoundError,
)
from durable_tasks.models import (
    TaskRecord,
    TaskResult,
    TaskStatus,
    validate_model,
)
from durable_tasks.registry import ProcessorRegistry
from durable_tasks.settings import Settings
from durable_tasks.store import TaskStore

_ID_ALPHABET = string.ascii_lowercase + string.digits


def workflow_id_for(task_id: str) -> str:
    """The Temporal workflow id of a task."""
    return f"task-{task_id}"


def new_task_id() -> str:
    """A PocketBase-style id: 15 lowercase letters and digits."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(15))


async def connect_temporal(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """A Temporal client with the pydantic converter, TLS or API key as the settings say.

    `runtime` carries telemetry (the worker's `--metrics` builds one); default: the SDK's.
    """
    tls: TLSConfig | bool = False
    if settings.temporal_tls_cert and settings.temporal_tls_key:
        tls = TLSConfig(
            client_cert=settings.temporal_tls_cert.read_bytes(),
            client_private_key=settings.temporal_tls_key.read_bytes(),
        )
    elif settings.temporal_api_key:
        tls = True
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter_for(settings.payload_key),
        tls=tls,
        api_key=settings.temporal_api_key,
        runtime=runtime,
    )


@dataclass(frozen=True)
class StartOutcome:
    """What a start did: `started`, or found the task `already running` / `already finished`."""

    task_id: str
    workflow_id: str
    outcome: Literal["started", "already running", "already finished"]
    status: TaskStatus | None = None

    @property
    def message(self) -> str:
        """A one-line summary for people."""
        if self.outcome == "already finished":
            return (
                f"task {self.task_id} already finished ({self.status}); "
                f"use `durable-tasks rerun {self.task_id}` to run it again"
            )
        return f"task {self.task_id} {self.outcome} (workflow {self.workflow_id})"


@dataclass(frozen=True)
class TaskView:
    """A task as `status` shows it: the record, and the live TaskResult of a running flow."""

    record: TaskRecord
    live: TaskResult | None
    workflow_status: str | None


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
        # Handles of workflows this client started: waiting on them (rather than on a fresh
        # handle) is also what lets a time-skipping test server skip timers.
        self._handles: dict[str, WorkflowHandle[Any, Any]] = {}

    def validate(self, type: str, data: dict[str, Any]) -> Any:
        """The job data validated against the processor's model (raises, naming the field)."""
        if self.registry.kind_of(type) == "simple":
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
        if input is not None and not isinstance(input, dict):
            raise InvalidInputError("invalid job data: input: expected a JSON object")
        task_id = task_id or new_task_id()
        refuse_framework_fields(input or {})
        config = split_job_data(input or {})[1]
        data = self.validate(type, join_job_data(task_id, workspace_id, config))
        existing = await self._existing(task_id)
        if existing is not None:
            return existing
        record = await self.store.get(task_id)
        if record is None:
            try:
                await self.store.create(
                    task_id=task_id, workspace_id=workspace_id, type=type, input=config
                )
            except TaskAlreadyExistsError:
                record = await self.store.get(task_id)
        if record is not None and (record.workspace_id != workspace_id or record.type != type):
            raise InvalidInputError(
                f"invalid job data: taskId: task {task_id} already exists as a "
                f"{record.type!r} task of workspace {record.workspace_id!r}"
            )
        return await self._start_workflow(type, task_id, data, reuse=False, timeout=timeout)

    async def rerun(self, task_id: str) -> StartOutcome:
        """Run a finished task again; a flow keeps its completed steps and skips them.

        The start only says "this is a rerun" (a memo); the flow reads which steps completed
        from its own record, so no caller can hand a flow a forged cache.
        """
        record = await self._record(task_id)
        if not record.status.is_final:
            raise TaskAlreadyExistsError(
                task_id,
                record.status,
                f"task {task_id} is {record.status}; only a finished task can be rerun",
            )
        config = record.input if isinstance(record.input, dict) else {}
        data = self.validate(record.type, join_job_data(task_id, record.workspace_id, config))
        return await self._start_workflow(
            record.type, task_id, data, reuse=True, memo={RERUN_MEMO: True}
        )

    async def cancel(self, task_id: str) -> bool:
        """Ask a running task to stop; False if it was not running."""
        handle = self.handle(task_id)
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

    async def wait(self, task_id: str) -> TaskRecord:
        """Wait until the task's workflow closes, then return its (final) record."""
        try:
            await self.handle(task_id).result()
        except Exception:  # the record says how it failed; the caller reads the status
            pass
        return await self._record(task_id)

    async def status(self, task_id: str) -> TaskView:
        """The record, plus the live TaskResult when the task is a running flow."""
        record = await self._record(task_id)
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
        cached = self._handles.get(task_id)
        return cached or self.temporal.get_workflow_handle(workflow_id_for(task_id))

    # -- internals --------------------------------------------------------------------------

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

    async def _start_workflow(
        self,
        type: str,
        task_id: str,
        data: Any,
        *,
        reuse: bool,
        timeout: timedelta | None = None,
        memo: dict[str, Any] | None = None,
    ) -> StartOutcome:
        wid = workflow_id_for(task_id)
        if self.registry.kind_of(type) == "simple":
            processor = self.registry.simple[type]
            workflow: Any = SimpleTaskWorkflow.run
            job = data.model_dump(mode="json")
            arg: Any = SimpleTaskInput(type=type, data=job, options=processor.options())
        else:
            workflow, arg = type, data
        try:
            self._handles[task_id] = await self.temporal.start_workflow(
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
                memo=memo,
            )
        except WorkflowAlreadyStartedError:
            existing = await self._existing(task_id)
            if existing is not None:
                return existing
            raise
        return StartOutcome(task_id, wid, "started", TaskStatus.PENDING)
